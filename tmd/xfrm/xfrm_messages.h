// XFRM netlink messages (linux/xfrm.h) built and parsed in memory: no socket
// here, so every message tmd sends to the kernel is unit-tested byte by byte.
// Framing through libmnl; the structures are the kernel's UAPI.
//
// Ownership (issue 8.1): everything tmd installs carries its mark, so that a
// restarted tmd finds what an earlier run left and nothing else: SAs and
// policy templates a reqid in kReqidBand (one reqid per phase 2 tunnel),
// policies a priority in [kPriorityBase, kPriorityBase + kPriorityRange).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/bytes.h"
#include "tunneldb.pb.h"

struct nlmsghdr;

namespace ike::tmd::xfrm {

// reqid = kReqidBand | tunnel number (tunnel numbers stay below 2^24).
inline constexpr uint32_t kReqidBand = 0x1f000000;
inline constexpr uint32_t kReqidMask = 0xff000000;
inline constexpr uint32_t ReqidOf(uint32_t tunnel) { return kReqidBand | (tunnel & 0x00ffffff); }
inline constexpr bool IsOurReqid(uint32_t reqid) { return (reqid & kReqidMask) == kReqidBand; }
// A trap's policy (on-demand activation, negotiation discovery) has no SA;
// its template's reqid = kTrapReqidBand | trap id, which the kernel's
// acquire for it carries back.
inline constexpr uint32_t kTrapReqidBand = 0x1e000000;
inline constexpr uint32_t TrapReqidOf(uint32_t trap) {
  return kTrapReqidBand | (trap & 0x00ffffff);
}
inline constexpr bool IsTrapReqid(uint32_t reqid) { return (reqid & kReqidMask) == kTrapReqidBand; }
// Lower is preferred; the more specific a policy, the lower its priority.
inline constexpr uint32_t kPriorityBase = 0x1f0000;
inline constexpr uint32_t kPriorityRange = 2048;
inline constexpr bool IsOurPriority(uint32_t p) {
  return p >= kPriorityBase && p < kPriorityBase + kPriorityRange;
}

enum class PolicyDir : uint8_t { kIn = 0, kOut = 1, kFwd = 2 };  // XFRM_POLICY_*
const char* PolicyDirName(PolicyDir d);

// Kernel algorithm names and sizes (RFC 4868 truncation for SHA-2).
struct CryptAlgorithm {
  const char* name = nullptr;  // "cbc(aes)", "rfc4106(gcm(aes))"
  // AEAD (RFC 4106 AES-GCM): integrity included, ICV of this many bits;
  // 0 for a plain cipher, which needs an AuthAlgorithm.
  uint32_t icv_bits = 0;
};
struct AuthAlgorithm {
  const char* name = nullptr;  // "hmac(sha256)"
  uint32_t truncation_bits = 0;
};
std::optional<CryptAlgorithm> KernelCrypt(db::EspEncryption e);
std::optional<AuthAlgorithm> KernelAuth(db::EspIntegrity i);

// One ESP SA in tunnel mode. Keys are borrowed for the call that builds the
// message; the buffer that holds them is wiped by its owner.
struct SaMessage {
  IpAddress source, destination;
  uint32_t spi = 0;
  uint32_t reqid = 0;
  db::EspEncryption encryption = db::ESP_ENCRYPTION_UNSPECIFIED;
  ByteView encryption_key;
  db::EspIntegrity integrity = db::ESP_INTEGRITY_UNSPECIFIED;
  ByteView integrity_key;
  uint8_t replay_window = 0;                    // inbound: 32; outbound: 0
  uint32_t soft_seconds = 0, hard_seconds = 0;  // 0 = no limit
  uint64_t soft_bytes = 0, hard_bytes = 0;      // 0 = no limit
  uint16_t encap_source_port = 0;               // UDP encapsulation (RFC 3948); 0 = none
  uint16_t encap_destination_port = 0;
  bool transport = false;  // XFRM_MODE_TRANSPORT, else tunnel
};

struct PolicyMessage {
  Prefix source, destination;  // the selector
  uint8_t protocol = 0;        // 0 = any
  uint16_t source_port = 0;    // 0 = any
  uint16_t destination_port = 0;
  PolicyDir dir = PolicyDir::kOut;
  uint32_t priority = kPriorityBase;
  // The template: the SA's outer addresses, and the tunnel's reqid.
  IpAddress tunnel_source, tunnel_destination;
  uint32_t reqid = 0;
  // The template is optional ("level use"): without an SA the packet goes
  // in the clear (and the kernel still reports an acquire).
  bool optional = false;
  bool transport = false;  // the template is transport mode (the SA's)
};

// The priority of a policy over |source| and |destination|: the band's base
// plus the host bits both leave open, so a narrower policy wins; at equal
// prefixes one naming a protocol, then ports too, wins over a wider one (a
// tcp/22 tunnel beside an all-traffic tunnel between the same networks).
uint32_t PolicyPriority(const Prefix& source, const Prefix& destination, uint8_t protocol = 0,
                        bool ports = false);

// A buffer of netlink requests sent with one sendmsg (batching: installing
// 20,000 tunnels must take seconds). Each request gets the next sequence
// number.
class Batch {
 public:
  explicit Batch(uint32_t first_seq = 1) : next_seq_(first_seq) {}
  ~Batch();  // wipes the buffer: it held keys
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Each returns the request's sequence number. |false| from the Add*
  // builders: the spec cannot be expressed (unknown algorithm, families).
  std::optional<uint32_t> AddAllocSpi(const IpAddress& source, const IpAddress& destination,
                                      uint32_t reqid, uint32_t min_spi, uint32_t max_spi);
  // |update|: XFRM_MSG_UPDSA (replaces the larval SA of an ALLOCSPI),
  // otherwise XFRM_MSG_NEWSA.
  std::optional<uint32_t> AddSa(const SaMessage& sa, bool update);
  uint32_t AddDeleteSa(const IpAddress& destination, uint32_t spi);
  uint32_t AddGetSa(const IpAddress& destination, uint32_t spi);
  // |replace|: XFRM_MSG_UPDPOLICY, which takes the place of the policy with
  // the same selector and direction (the kernel keeps one per selector);
  // otherwise XFRM_MSG_NEWPOLICY, refused if one exists.
  std::optional<uint32_t> AddPolicy(const PolicyMessage& policy, bool replace = false);
  uint32_t AddDeletePolicy(const PolicyMessage& policy);
  uint32_t AddDumpSas();
  uint32_t AddDumpPolicies();

  ByteView bytes() const { return ByteView(buffer_.data(), size_); }
  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  void Clear();

  // For other netlink families (routes.h): a message of |type| with room
  // for |payload_hint| octets of body and attributes; Finish it before the
  // next Begin. Returns its sequence number.
  nlmsghdr* Begin(uint16_t type, uint16_t flags, size_t payload_hint);
  uint32_t Finish(nlmsghdr* nlh);

 private:
  uint32_t AddSaById(uint16_t type, const IpAddress& destination, uint32_t spi);
  std::vector<uint8_t> buffer_;
  size_t size_ = 0;
  size_t count_ = 0;
  uint32_t next_seq_;
};

// What the kernel said about one SA (XFRM_MSG_NEWSA in a reply or a dump).
struct SaInfo {
  IpAddress source, destination;
  uint32_t spi = 0;
  uint8_t protocol = 0;
  uint32_t reqid = 0;
  uint64_t bytes = 0, packets = 0;
  bool larval = false;  // an ALLOCSPI reservation (no algorithms yet)
};
std::optional<SaInfo> ParseSa(const nlmsghdr* nlh);

// XFRM_MSG_EXPIRE: an SA reached a soft or hard limit.
struct ExpireInfo {
  SaInfo sa;
  bool hard = false;
  bool by_volume = false;  // its byte count reached the limit
};
std::optional<ExpireInfo> ParseExpire(const nlmsghdr* nlh);

// XFRM_MSG_ACQUIRE: a packet matched an out policy whose template has no
// SA; the kernel asks the key manager for one (RFC 4301 5.2's "trigger").
struct AcquireInfo {
  IpAddress source, destination;  // the packet's (the selector of the flow)
  uint8_t protocol = 0;
  uint32_t reqid = 0;  // the policy's first template
  IpAddress tunnel_source, tunnel_destination;
};
std::optional<AcquireInfo> ParseAcquire(const nlmsghdr* nlh);

struct PolicyInfo {
  PolicyMessage policy;  // selector, dir, priority, template
  bool has_template = false;
};
std::optional<PolicyInfo> ParsePolicy(const nlmsghdr* nlh);

// An NLMSG_ERROR message: the request's sequence number, its errno (0 = an
// acknowledgement) and the kernel's extended-ack text if any.
struct NetlinkStatus {
  uint32_t seq = 0;
  int error = 0;
  std::string message;
};
std::optional<NetlinkStatus> ParseStatus(const nlmsghdr* nlh);

}  // namespace ike::tmd::xfrm
