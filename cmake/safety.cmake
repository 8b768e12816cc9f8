# Build options for the safety nets (docs/fuzzing.md):
#   SANITIZE=ON  ASan + UBSan on every target, aborting on the first report
#                (-fno-sanitize-recover=all), so a finding fails the test.
#                scripts/test builds build-asan with it and runs ctest -L unit.
#   FUZZ=ON      (clang only) the libFuzzer targets in fuzz/: every library is
#                compiled with coverage instrumentation (fuzzer-no-link) and,
#                unless FUZZ_SANITIZE=OFF, ASan + UBSan.
option(SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(FUZZ "Build the libFuzzer targets in fuzz/ (clang)" OFF)
option(FUZZ_SANITIZE "With FUZZ: also ASan + UBSan (off: faster long runs)" ON)

set(IKE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)

if(FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FUZZ=ON needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  if(FUZZ_SANITIZE)
    set(SANITIZE ON)
  endif()
endif()

if(SANITIZE)
  add_compile_options(${IKE_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()
