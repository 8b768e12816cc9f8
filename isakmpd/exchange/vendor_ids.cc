#include "isakmpd/exchange/vendor_ids.h"

#include <algorithm>

#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd::vendor_ids {
namespace {

// RFC 3706 section 2.1: the DPD vendor ID, version 1.0.
const Bytes kDpd = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
// Ours: the first 16 octets of SHA-256("aixike").
const Bytes kAixike = {0x7d, 0xf1, 0x25, 0x1d, 0xe0, 0xce, 0xc2, 0xdf,
                       0x7a, 0xa2, 0x83, 0xb7, 0x3b, 0xc0, 0x35, 0x5d};
// IKEv1 fragmentation: MD5("FRAGMENTATION"), as Cisco defined it. Peers
// append four octets of flags; the set we send, 0x80000000, is what
// strongSwan and racoon send, and what Cisco IOS accepts.
const Bytes kFragmentation = {0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85,
                              0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3};
const Bytes kFragmentationFlags = {0x80, 0x00, 0x00, 0x00};
// Windows' "MS NT5 ISAKMPOAKLEY", followed by a 4-octet version.
const Bytes kMsNt5 = {0x1e, 0x2b, 0x51, 0x69, 0x05, 0x99, 0x1c, 0x7d,
                      0x7c, 0x96, 0xfc, 0xbf, 0xb5, 0x87, 0xe4, 0x61};

// Vendor IDs met in the field, recognised to be named in the log. |prefix|:
// the peer may append octets (a version or flags) after these.
struct Known {
  const char* name;
  Bytes id;
  bool prefix;
};
const std::vector<Known>& Table() {
  static const std::vector<Known> table = {
      {"DPD", kDpd, false},  // RFC 3706
      {"NAT-T (RFC 3947)", nat_traversal::VendorId(NatTVersion::kRfc3947), false},
      {"NAT-T (draft-02)", nat_traversal::VendorId(NatTVersion::kDraft02), false},
      {"NAT-T (draft-02\\n)", nat_traversal::VendorId(NatTVersion::kDraft02n), false},
      {"NAT-T (draft-03)", nat_traversal::VendorId(NatTVersion::kDraft03), false},
      {"XAUTH", {0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12}, false},
      // Cisco Unity 1.0; the last two octets are its version.
      {"Cisco Unity",
       {0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc},
       true},
      // IKEv1 fragmentation (Cisco, Microsoft, strongSwan); Cisco appends flags.
      {"FRAGMENTATION", kFragmentation, true},
      {"MS NT5 ISAKMPOAKLEY", kMsNt5, true},
      {"strongSwan",
       {0x88, 0x2f, 0xe5, 0x6d, 0x6f, 0xd2, 0x0d, 0xbc, 0x22, 0x51, 0x61, 0x3b, 0x2e, 0xbe, 0x5b,
        0xeb},
       false},
      {"aixike", kAixike, false},
  };
  return table;
}

bool Matches(const Known& k, const Bytes& data) {
  if (k.prefix)
    return data.size() >= k.id.size() && std::equal(k.id.begin(), k.id.end(), data.begin());
  return data == k.id;
}

}  // namespace

std::vector<wire::Payload> Ours(bool fragmentation) {
  std::vector<wire::Payload> out{wire::MakePayload(wire::VendorIdPayload{kDpd}),
                                 wire::MakePayload(wire::VendorIdPayload{kAixike})};
  if (fragmentation) {
    Bytes id = kFragmentation;
    Append(id, kFragmentationFlags);
    out.push_back(wire::MakePayload(wire::VendorIdPayload{std::move(id)}));
  }
  return out;
}

Announced Read(const std::vector<wire::Payload>& payloads) {
  Announced a;
  for (const auto& p : payloads) {
    const auto* v = std::get_if<wire::VendorIdPayload>(&p.body);
    if (v == nullptr) continue;
    a.dpd |= v->data == kDpd;
    a.aixike |= v->data == kAixike;
    a.fragmentation |= v->data.size() >= kFragmentation.size() &&
                       std::equal(kFragmentation.begin(), kFragmentation.end(), v->data.begin());
    const auto& table = Table();
    bool found = false;
    for (size_t i = 0; i < table.size() && !found; ++i) {
      if (!Matches(table[i], v->data)) continue;
      a.known |= 1u << i;
      found = true;
    }
    if (!found && a.unknown < 255) ++a.unknown;
  }
  return a;
}

bool IsWindows(uint32_t known) {
  const auto& table = Table();
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].id == kMsNt5) return (known & (1u << i)) != 0;
  return false;
}

std::string Describe(uint32_t known, uint8_t unknown) {
  std::string out;
  const auto& table = Table();
  for (size_t i = 0; i < table.size(); ++i) {
    if ((known & (1u << i)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += table[i].name;
  }
  if (unknown != 0) {
    if (!out.empty()) out += ", ";
    out += std::to_string(unknown) + " unknown";
  }
  return out;
}

}  // namespace ike::isakmpd::vendor_ids
