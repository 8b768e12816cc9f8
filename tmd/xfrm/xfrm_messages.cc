#include "tmd/xfrm/xfrm_messages.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace ike::tmd::xfrm {
namespace {

constexpr uint8_t kModeTunnel = XFRM_MODE_TUNNEL;
constexpr uint8_t kModeTransport = XFRM_MODE_TRANSPORT;
constexpr uint64_t kNoLimit = XFRM_INF;

// Netlink aligns messages to 4 octets; the XFRM structures with 64-bit
// lifetime fields need 8. So they are built and read as local copies.
template <typename T>
void PutStruct(nlmsghdr* nlh, const T& value) {
  std::memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(T)), &value, sizeof(T));
}

template <typename T>
T GetStruct(const void* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

void CopyAddress(const IpAddress& a, xfrm_address_t* out) {
  std::memset(out, 0, sizeof *out);
  std::memcpy(out, a.octets.data(), a.size());
}

IpAddress FromXfrm(const xfrm_address_t& a, int family) {
  IpAddress out;
  out.family = family;
  std::memcpy(out.octets.data(), &a, out.size());
  return out;
}

void FillSelector(const Prefix& source, const Prefix& destination, uint8_t protocol,
                  uint16_t source_port, uint16_t destination_port, xfrm_selector* sel) {
  // Ports in network order, masked only where set (0 = any).
  sel->sport = htons(source_port);
  sel->sport_mask = source_port ? 0xffff : 0;
  sel->dport = htons(destination_port);
  sel->dport_mask = destination_port ? 0xffff : 0;
  CopyAddress(source.network, &sel->saddr);
  CopyAddress(destination.network, &sel->daddr);
  sel->prefixlen_s = static_cast<uint8_t>(source.length);
  sel->prefixlen_d = static_cast<uint8_t>(destination.length);
  sel->family = static_cast<uint16_t>(source.network.family);
  sel->proto = protocol;
}

void NoLimits(xfrm_lifetime_cfg* lft) {
  lft->soft_byte_limit = lft->hard_byte_limit = kNoLimit;
  lft->soft_packet_limit = lft->hard_packet_limit = kNoLimit;
}

// struct xfrm_algo / xfrm_algo_auth with the key appended.
Bytes AlgoAttribute(const char* name, ByteView key) {
  Bytes out(sizeof(xfrm_algo) + key.size(), 0);
  auto* a = reinterpret_cast<xfrm_algo*>(out.data());
  std::strncpy(a->alg_name, name, sizeof a->alg_name - 1);
  a->alg_key_len = static_cast<unsigned>(key.size() * 8);
  std::memcpy(out.data() + sizeof(xfrm_algo), key.data(), key.size());
  return out;
}

// RFC 4106 in XFRM: the key is the AES key followed by the salt, its
// length in bits counting both.
Bytes AeadAttribute(const CryptAlgorithm& alg, ByteView key) {
  Bytes out(sizeof(xfrm_algo_aead) + key.size(), 0);
  auto* a = reinterpret_cast<xfrm_algo_aead*>(out.data());
  std::strncpy(a->alg_name, alg.name, sizeof a->alg_name - 1);
  a->alg_key_len = static_cast<unsigned>(key.size() * 8);
  a->alg_icv_len = alg.icv_bits;
  std::memcpy(out.data() + sizeof(xfrm_algo_aead), key.data(), key.size());
  return out;
}

Bytes AuthAttribute(const AuthAlgorithm& alg, ByteView key) {
  Bytes out(sizeof(xfrm_algo_auth) + key.size(), 0);
  auto* a = reinterpret_cast<xfrm_algo_auth*>(out.data());
  std::strncpy(a->alg_name, alg.name, sizeof a->alg_name - 1);
  a->alg_key_len = static_cast<unsigned>(key.size() * 8);
  a->alg_trunc_len = alg.truncation_bits;
  std::memcpy(out.data() + sizeof(xfrm_algo_auth), key.data(), key.size());
  return out;
}

}  // namespace

const char* PolicyDirName(PolicyDir d) {
  switch (d) {
    case PolicyDir::kIn:
      return "in";
    case PolicyDir::kOut:
      return "out";
    case PolicyDir::kFwd:
      return "fwd";
  }
  return "?";
}

std::optional<CryptAlgorithm> KernelCrypt(db::EspEncryption e) {
  switch (e) {
    case db::ESP_AES_CBC:
      return CryptAlgorithm{"cbc(aes)"};
    case db::ESP_3DES:
      return CryptAlgorithm{"cbc(des3_ede)"};
    case db::ESP_AES_GCM_16:
      return CryptAlgorithm{"rfc4106(gcm(aes))", 128};  // key | 4-octet salt
    default:
      return std::nullopt;
  }
}

std::optional<AuthAlgorithm> KernelAuth(db::EspIntegrity i) {
  switch (i) {
    case db::HMAC_SHA1:
      return AuthAlgorithm{"hmac(sha1)", 96};  // RFC 2404
    case db::HMAC_SHA2_256:
      return AuthAlgorithm{"hmac(sha256)", 128};  // RFC 4868 2.3
    case db::HMAC_SHA2_384:
      return AuthAlgorithm{"hmac(sha384)", 192};
    case db::HMAC_SHA2_512:
      return AuthAlgorithm{"hmac(sha512)", 256};
    default:
      return std::nullopt;
  }
}

uint32_t PolicyPriority(const Prefix& source, const Prefix& destination, uint8_t protocol,
                        bool ports) {
  const int bits = static_cast<int>(source.network.size() * 8);
  const int open = (bits - source.length) + (bits - destination.length);  // at most 256
  const int wider = (protocol == 0 ? 2 : 0) + (ports ? 0 : 1);
  return kPriorityBase + static_cast<uint32_t>(4 * open + wider);  // under kPriorityRange
}

Batch::~Batch() { SecureWipe(&buffer_); }

void Batch::Clear() {
  SecureWipe(&buffer_);
  buffer_.clear();
  size_ = 0;
  count_ = 0;
}

nlmsghdr* Batch::Begin(uint16_t type, uint16_t flags, size_t payload_hint) {
  // Room for the whole message before any pointer into the buffer is taken.
  const size_t need = size_ + MNL_ALIGN(payload_hint) + 1024;
  if (buffer_.size() < need) {
    std::vector<uint8_t> bigger(std::max(need, buffer_.size() * 2), 0);
    if (size_ > 0) std::memcpy(bigger.data(), buffer_.data(), size_);  // never from null
    SecureWipe(&buffer_);
    buffer_.swap(bigger);
  }
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer_.data() + size_);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  nlh->nlmsg_seq = next_seq_;
  return nlh;
}

uint32_t Batch::Finish(nlmsghdr* nlh) {
  size_ += MNL_ALIGN(nlh->nlmsg_len);
  ++count_;
  return next_seq_++;
}

std::optional<uint32_t> Batch::AddAllocSpi(const IpAddress& source, const IpAddress& destination,
                                           uint32_t reqid, uint32_t min_spi, uint32_t max_spi) {
  if (source.family != destination.family || destination.size() == 0) return std::nullopt;
  // The reply (XFRM_MSG_NEWSA with the SPI) comes first, then the ack.
  nlmsghdr* nlh = Begin(XFRM_MSG_ALLOCSPI, NLM_F_ACK, sizeof(xfrm_userspi_info));
  xfrm_userspi_info local{};
  xfrm_userspi_info* spi = &local;
  xfrm_usersa_info& info = spi->info;
  CopyAddress(destination, &info.id.daddr);
  CopyAddress(source, &info.saddr);
  info.id.proto = IPPROTO_ESP;
  info.family = static_cast<uint16_t>(destination.family);
  info.mode = kModeTunnel;
  info.reqid = reqid;
  spi->min = min_spi;
  spi->max = max_spi;
  PutStruct(nlh, local);
  return Finish(nlh);
}

std::optional<uint32_t> Batch::AddSa(const SaMessage& sa, bool update) {
  const auto crypt = KernelCrypt(sa.encryption);
  const bool aead = crypt && crypt->icv_bits != 0;
  const auto auth = aead ? std::nullopt : KernelAuth(sa.integrity);
  if (!crypt || (!aead && !auth) || sa.source.family != sa.destination.family ||
      sa.destination.size() == 0) {
    return std::nullopt;
  }
  Bytes crypt_attr = aead ? AeadAttribute(*crypt, sa.encryption_key)
                          : AlgoAttribute(crypt->name, sa.encryption_key);
  Bytes auth_attr = aead ? Bytes() : AuthAttribute(*auth, sa.integrity_key);
  nlmsghdr* nlh = Begin(update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
                        update ? NLM_F_ACK : NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                        sizeof(xfrm_usersa_info) + crypt_attr.size() + auth_attr.size() + 64);
  xfrm_usersa_info local{};
  xfrm_usersa_info* info = &local;
  CopyAddress(sa.destination, &info->id.daddr);
  CopyAddress(sa.source, &info->saddr);
  info->id.spi = htonl(sa.spi);
  info->id.proto = IPPROTO_ESP;
  info->family = static_cast<uint16_t>(sa.destination.family);
  info->mode = sa.transport ? kModeTransport : kModeTunnel;
  info->reqid = sa.reqid;
  info->replay_window = sa.replay_window;
  // The policies select the packets; the SA's own selector is "any". In
  // tunnel mode that must be any of either family: the inner packets need
  // not be of the outer family (IPv4 selectors between IPv6 gateways, RFC
  // 4301 4.1). Linux gives an SA without XFRM_STATE_AF_UNSPEC the outer
  // family as its selector's, and then an IPv4 packet finds no SA under its
  // IPv6 policy template: nothing is sent. A transport-mode SA carries the
  // endpoints' own packets, so "any" of their family.
  if (sa.transport) {
    info->sel.family = static_cast<uint16_t>(sa.destination.family);
  } else {
    info->sel.family = AF_UNSPEC;
    info->flags |= XFRM_STATE_AF_UNSPEC;
  }
  NoLimits(&info->lft);
  info->lft.soft_add_expires_seconds = sa.soft_seconds;
  info->lft.hard_add_expires_seconds = sa.hard_seconds;
  if (sa.soft_bytes != 0) info->lft.soft_byte_limit = sa.soft_bytes;
  if (sa.hard_bytes != 0) info->lft.hard_byte_limit = sa.hard_bytes;
  PutStruct(nlh, local);
  if (aead) {
    mnl_attr_put(nlh, XFRMA_ALG_AEAD, crypt_attr.size(), crypt_attr.data());
  } else {
    mnl_attr_put(nlh, XFRMA_ALG_CRYPT, crypt_attr.size(), crypt_attr.data());
    mnl_attr_put(nlh, XFRMA_ALG_AUTH_TRUNC, auth_attr.size(), auth_attr.data());
  }
  SecureWipe(&crypt_attr);  // the key now lives in the batch only
  SecureWipe(&auth_attr);
  if (sa.encap_source_port != 0 || sa.encap_destination_port != 0) {
    xfrm_encap_tmpl encap{};
    encap.encap_type = UDP_ENCAP_ESPINUDP;  // RFC 3948
    encap.encap_sport = htons(sa.encap_source_port);
    encap.encap_dport = htons(sa.encap_destination_port);
    mnl_attr_put(nlh, XFRMA_ENCAP, sizeof encap, &encap);
  }
  return Finish(nlh);
}

// An SA named by destination and SPI (RFC 4301 4.1): DELSA, GETSA.
uint32_t Batch::AddSaById(uint16_t type, const IpAddress& destination, uint32_t spi) {
  nlmsghdr* nlh = Begin(type, NLM_F_ACK, sizeof(xfrm_usersa_id));
  auto* id = static_cast<xfrm_usersa_id*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_id)));
  CopyAddress(destination, &id->daddr);
  id->spi = htonl(spi);
  id->family = static_cast<uint16_t>(destination.family);
  id->proto = IPPROTO_ESP;
  return Finish(nlh);
}

uint32_t Batch::AddDeleteSa(const IpAddress& destination, uint32_t spi) {
  return AddSaById(XFRM_MSG_DELSA, destination, spi);
}

uint32_t Batch::AddGetSa(const IpAddress& destination, uint32_t spi) {
  return AddSaById(XFRM_MSG_GETSA, destination, spi);
}

std::optional<uint32_t> Batch::AddPolicy(const PolicyMessage& p, bool replace) {
  const int family = p.source.network.family;
  if (family == 0 || p.destination.network.family != family ||
      p.tunnel_source.family != p.tunnel_destination.family || p.tunnel_source.family == 0) {
    return std::nullopt;
  }
  nlmsghdr* nlh = replace ? Begin(XFRM_MSG_UPDPOLICY, NLM_F_ACK | NLM_F_CREATE,
                                  sizeof(xfrm_userpolicy_info) + sizeof(xfrm_user_tmpl) + 16)
                          : Begin(XFRM_MSG_NEWPOLICY, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                                  sizeof(xfrm_userpolicy_info) + sizeof(xfrm_user_tmpl) + 16);
  xfrm_userpolicy_info local{};
  xfrm_userpolicy_info* info = &local;
  FillSelector(p.source, p.destination, p.protocol, p.source_port, p.destination_port, &info->sel);
  NoLimits(&info->lft);
  info->priority = p.priority;
  info->dir = static_cast<uint8_t>(p.dir);
  info->action = XFRM_POLICY_ALLOW;
  info->share = XFRM_SHARE_ANY;
  xfrm_user_tmpl tmpl{};
  tmpl.id.proto = IPPROTO_ESP;
  tmpl.family = static_cast<uint16_t>(p.tunnel_source.family);
  tmpl.reqid = p.reqid;
  if (p.optional) {
    // Linux refuses an optional tunnel-mode template in an out policy
    // ("Mode in optional template not allowed"); a transport-mode one is
    // allowed and serves as the probe: no SA ever matches it, the packet
    // goes in the clear and the kernel reports the acquire with our reqid.
    tmpl.mode = kModeTransport;
    tmpl.optional = 1;
  } else {
    CopyAddress(p.tunnel_destination, &tmpl.id.daddr);
    CopyAddress(p.tunnel_source, &tmpl.saddr);
    tmpl.mode = p.transport ? kModeTransport : kModeTunnel;
  }
  tmpl.aalgos = tmpl.ealgos = tmpl.calgos = ~0u;
  PutStruct(nlh, local);
  mnl_attr_put(nlh, XFRMA_TMPL, sizeof tmpl, &tmpl);
  return Finish(nlh);
}

uint32_t Batch::AddDeletePolicy(const PolicyMessage& p) {
  nlmsghdr* nlh = Begin(XFRM_MSG_DELPOLICY, NLM_F_ACK, sizeof(xfrm_userpolicy_id));
  auto* id =
      static_cast<xfrm_userpolicy_id*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_id)));
  FillSelector(p.source, p.destination, p.protocol, p.source_port, p.destination_port, &id->sel);
  id->dir = static_cast<uint8_t>(p.dir);
  return Finish(nlh);
}

uint32_t Batch::AddDumpSas() {
  nlmsghdr* nlh = Begin(XFRM_MSG_GETSA, NLM_F_DUMP, 0);
  return Finish(nlh);
}

uint32_t Batch::AddDumpPolicies() {
  nlmsghdr* nlh = Begin(XFRM_MSG_GETPOLICY, NLM_F_DUMP, 0);
  return Finish(nlh);
}

std::optional<SaInfo> ParseSa(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
      nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(xfrm_usersa_info)) {
    return std::nullopt;
  }
  const auto local = GetStruct<xfrm_usersa_info>(mnl_nlmsg_get_payload(nlh));
  const xfrm_usersa_info* info = &local;
  if (info->family != AF_INET && info->family != AF_INET6) return std::nullopt;
  SaInfo out;
  out.source = FromXfrm(info->saddr, info->family);
  out.destination = FromXfrm(info->id.daddr, info->family);
  out.spi = ntohl(info->id.spi);
  out.protocol = info->id.proto;
  out.reqid = info->reqid;
  out.bytes = info->curlft.bytes;
  out.packets = info->curlft.packets;
  // A larval (acquire) state has no algorithms.
  bool has_algorithm = false;
  mnl_attr_parse(
      nlh, sizeof(xfrm_usersa_info),
      [](const nlattr* attr, void* data) {
        const uint16_t type = mnl_attr_get_type(attr);
        if (type == XFRMA_ALG_CRYPT || type == XFRMA_ALG_AUTH_TRUNC || type == XFRMA_ALG_AEAD ||
            type == XFRMA_ALG_AUTH) {
          *static_cast<bool*>(data) = true;
        }
        return MNL_CB_OK;
      },
      &has_algorithm);
  out.larval = !has_algorithm;
  return out;
}

std::optional<ExpireInfo> ParseExpire(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != XFRM_MSG_EXPIRE ||
      nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(xfrm_user_expire)) {
    return std::nullopt;
  }
  const auto local = GetStruct<xfrm_user_expire>(mnl_nlmsg_get_payload(nlh));
  const xfrm_user_expire* e = &local;
  const xfrm_usersa_info& info = e->state;
  if (info.family != AF_INET && info.family != AF_INET6) return std::nullopt;
  ExpireInfo out;
  out.sa.source = FromXfrm(info.saddr, info.family);
  out.sa.destination = FromXfrm(info.id.daddr, info.family);
  out.sa.spi = ntohl(info.id.spi);
  out.sa.protocol = info.id.proto;
  out.sa.reqid = info.reqid;
  out.sa.bytes = info.curlft.bytes;
  out.sa.packets = info.curlft.packets;
  out.hard = e->hard != 0;
  const uint64_t limit = out.hard ? info.lft.hard_byte_limit : info.lft.soft_byte_limit;
  out.by_volume = limit != XFRM_INF && info.curlft.bytes >= limit;
  return out;
}

namespace {

// The first template of a policy (XFRMA_TMPL: the kernel sends them all in
// one attribute, outermost first; tmd's policies have one), after a body of
// |header| octets.
std::optional<xfrm_user_tmpl> FirstTemplate(const nlmsghdr* nlh, size_t header) {
  std::optional<xfrm_user_tmpl> tmpl;
  mnl_attr_parse(
      nlh, static_cast<unsigned>(header),
      [](const nlattr* attr, void* data) {
        auto* out = static_cast<std::optional<xfrm_user_tmpl>*>(data);
        if (!*out && mnl_attr_get_type(attr) == XFRMA_TMPL &&
            mnl_attr_get_payload_len(attr) >= sizeof(xfrm_user_tmpl)) {
          *out = GetStruct<xfrm_user_tmpl>(mnl_attr_get_payload(attr));
        }
        return MNL_CB_OK;
      },
      &tmpl);
  return tmpl;
}

}  // namespace

std::optional<PolicyInfo> ParsePolicy(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY ||
      nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(xfrm_userpolicy_info)) {
    return std::nullopt;
  }
  const auto local = GetStruct<xfrm_userpolicy_info>(mnl_nlmsg_get_payload(nlh));
  const xfrm_userpolicy_info* info = &local;
  const int family = info->sel.family;
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  if (info->dir > XFRM_POLICY_FWD) return std::nullopt;
  PolicyInfo out;
  PolicyMessage& p = out.policy;
  p.source = {FromXfrm(info->sel.saddr, family), info->sel.prefixlen_s};
  p.destination = {FromXfrm(info->sel.daddr, family), info->sel.prefixlen_d};
  p.protocol = info->sel.proto;
  p.source_port = ntohs(info->sel.sport);
  p.destination_port = ntohs(info->sel.dport);
  p.dir = static_cast<PolicyDir>(info->dir);
  p.priority = info->priority;
  const std::optional<xfrm_user_tmpl> tmpl = FirstTemplate(nlh, sizeof(xfrm_userpolicy_info));
  if (tmpl && (tmpl->family == AF_INET || tmpl->family == AF_INET6)) {
    out.has_template = true;
    p.tunnel_source = FromXfrm(tmpl->saddr, tmpl->family);
    p.tunnel_destination = FromXfrm(tmpl->id.daddr, tmpl->family);
    p.reqid = tmpl->reqid;
    p.optional = tmpl->optional != 0;
  }
  return out;
}

std::optional<AcquireInfo> ParseAcquire(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != XFRM_MSG_ACQUIRE ||
      nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(xfrm_user_acquire)) {
    return std::nullopt;
  }
  const auto acquire = GetStruct<xfrm_user_acquire>(mnl_nlmsg_get_payload(nlh));
  const int family = acquire.sel.family;
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  const std::optional<xfrm_user_tmpl> tmpl = FirstTemplate(nlh, sizeof(xfrm_user_acquire));
  if (!tmpl || (tmpl->family != AF_INET && tmpl->family != AF_INET6)) return std::nullopt;
  AcquireInfo out;
  out.source = FromXfrm(acquire.sel.saddr, family);
  out.destination = FromXfrm(acquire.sel.daddr, family);
  out.protocol = acquire.sel.proto;
  out.reqid = tmpl->reqid;
  out.tunnel_source = FromXfrm(tmpl->saddr, tmpl->family);
  out.tunnel_destination = FromXfrm(tmpl->id.daddr, tmpl->family);
  return out;
}

std::optional<NetlinkStatus> ParseStatus(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(nlmsgerr)) {
    return std::nullopt;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  NetlinkStatus out;
  out.seq = err->msg.nlmsg_seq;
  out.error = -err->error;
  // Extended ack (NETLINK_EXT_ACK): TLVs after the (capped) request header.
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    size_t offset = sizeof(nlmsgerr);
    if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
    if (MNL_NLMSG_HDRLEN + offset <= nlh->nlmsg_len) {
      mnl_attr_parse(
          nlh, static_cast<unsigned>(offset),
          [](const nlattr* attr, void* data) {
            if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
              *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
            }
            return MNL_CB_OK;
          },
          &out.message);
    }
  }
  return out;
}

}  // namespace ike::tmd::xfrm
