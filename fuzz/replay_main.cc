// A plain main() for a fuzz target, so its corpus replays under any compiler
// (gcc in CI, and under SANITIZE) without libFuzzer: every file given, or
// every file of every directory given, goes once through
// LLVMFuzzerTestOneInput. A crash or abort fails the run; an empty corpus is
// an error too, so a lost corpus directory cannot pass silently.
//   fuzz_replay_<name> DIR|FILE...       replay
//   fuzz_replay_<name> --write-seeds DIR  (targets that generate their seeds)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);
// Writes the target's generated seeds into |dir|; 0 on success.
extern "C" __attribute__((weak)) int FuzzWriteSeeds(const char* dir);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Inputs(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    if (!fs::is_directory(arg)) {
      files.push_back(arg);
      continue;
    }
    std::vector<fs::path> in_dir;
    for (const auto& entry : fs::directory_iterator(arg))
      if (entry.is_regular_file()) in_dir.push_back(entry.path());
    std::sort(in_dir.begin(), in_dir.end());  // same order on every run
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-seeds") == 0) {
    if (FuzzWriteSeeds == nullptr) {
      std::fprintf(stderr, "this target has no seed generator\n");
      return 2;
    }
    return FuzzWriteSeeds(argv[2]);
  }
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  const std::vector<fs::path> files = Inputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "no corpus files in the arguments\n");
    return 1;
  }
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 1;
    }
    const std::vector<uint8_t> data{std::istreambuf_iterator<char>(in), {}};
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
