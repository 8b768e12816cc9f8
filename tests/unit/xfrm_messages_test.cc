// XFRM netlink messages as tmd builds them (tmd/xfrm/xfrm_messages.h): the
// kernel structures field by field, parsed back where tmd parses them.
#include "tmd/xfrm/xfrm_messages.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

namespace ike::tmd::xfrm {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }
Prefix Net(const char* address, int length) { return {Ip(address), length}; }

std::vector<const nlmsghdr*> Messages(const Batch& batch) {
  std::vector<const nlmsghdr*> out;
  int left = static_cast<int>(batch.bytes().size());
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.bytes().data()); mnl_nlmsg_ok(nlh, left);
       nlh = mnl_nlmsg_next(nlh, &left)) {
    out.push_back(nlh);
  }
  return out;
}

const nlattr* Attribute(const nlmsghdr* nlh, size_t header, uint16_t type) {
  struct Search {
    uint16_t type;
    const nlattr* found = nullptr;
  } search{type};
  mnl_attr_parse(
      nlh, static_cast<unsigned>(header),
      [](const nlattr* attr, void* data) {
        auto* s = static_cast<Search*>(data);
        if (mnl_attr_get_type(attr) == s->type) s->found = attr;
        return MNL_CB_OK;
      },
      &search);
  return search.found;
}

TEST_CASE("reqids and priorities carry tmd's marks") {
  CHECK(IsOurReqid(ReqidOf(1)));
  CHECK(IsOurReqid(ReqidOf(20000)));
  CHECK_FALSE(IsOurReqid(1));  // strongSwan's and ip xfrm's usual reqids
  CHECK_FALSE(IsOurReqid(0));
  CHECK(ReqidOf(7) != ReqidOf(8));
  const uint32_t host = PolicyPriority(Net("192.0.2.1", 32), Net("198.51.100.1", 32));
  const uint32_t nets = PolicyPriority(Net("203.0.113.0", 24), Net("198.51.100.0", 24));
  const uint32_t any = PolicyPriority(Net("0.0.0.0", 0), Net("0.0.0.0", 0));
  CHECK(host < nets);  // the narrower policy wins (lower is preferred)
  CHECK(nets < any);
  CHECK(IsOurPriority(host));
  CHECK(IsOurPriority(any));
  CHECK(IsOurPriority(PolicyPriority(Net("::", 0), Net("::", 0))));
  CHECK_FALSE(IsOurPriority(0));
  // Between the same networks, a tunnel for one protocol, then one for a
  // port of it, wins over the all-traffic one (issue 10.4).
  const uint32_t tcp = PolicyPriority(Net("203.0.113.0", 24), Net("198.51.100.0", 24), 6);
  const uint32_t ssh = PolicyPriority(Net("203.0.113.0", 24), Net("198.51.100.0", 24), 6, true);
  CHECK(ssh < tcp);
  CHECK(tcp < nets);
  CHECK(nets < PolicyPriority(Net("203.0.113.0", 23), Net("198.51.100.0", 24), 6, true));
  CHECK(IsOurPriority(PolicyPriority(Net("::", 0), Net("::", 0), 0, false)));
}

TEST_CASE("kernel algorithm names and truncation lengths (RFC 2404, RFC 4868)") {
  CHECK(std::string(KernelCrypt(db::ESP_AES_CBC)->name) == "cbc(aes)");
  CHECK(std::string(KernelCrypt(db::ESP_3DES)->name) == "cbc(des3_ede)");
  CHECK_FALSE(KernelCrypt(db::ESP_ENCRYPTION_UNSPECIFIED));
  CHECK(KernelAuth(db::HMAC_SHA1)->truncation_bits == 96);
  CHECK(KernelAuth(db::HMAC_SHA2_256)->truncation_bits == 128);
  CHECK(KernelAuth(db::HMAC_SHA2_384)->truncation_bits == 192);
  CHECK(KernelAuth(db::HMAC_SHA2_512)->truncation_bits == 256);
  CHECK(std::string(KernelAuth(db::HMAC_SHA2_512)->name) == "hmac(sha512)");
  CHECK_FALSE(KernelAuth(db::ESP_INTEGRITY_UNSPECIFIED));
}

TEST_CASE("an inbound SA: UPDSA with keys, replay window, lifetimes and reqid") {
  const Bytes enc(16, 0x11), auth(32, 0x22);
  SaMessage sa;
  sa.source = Ip("198.51.100.2");
  sa.destination = Ip("192.0.2.1");
  sa.spi = 0xc0ffee01;
  sa.reqid = ReqidOf(3);
  sa.encryption = db::ESP_AES_CBC;
  sa.encryption_key = enc;
  sa.integrity = db::HMAC_SHA2_256;
  sa.integrity_key = auth;
  sa.replay_window = 32;
  sa.soft_seconds = 3240;
  sa.hard_seconds = 3600;
  Batch batch(40);
  REQUIRE(batch.AddSa(sa, /*update=*/true) == 40u);
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 1);
  const nlmsghdr* nlh = messages[0];
  CHECK(nlh->nlmsg_type == XFRM_MSG_UPDSA);
  CHECK((nlh->nlmsg_flags & NLM_F_ACK) != 0);
  CHECK(nlh->nlmsg_seq == 40u);
  const auto* info = static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(nlh));
  CHECK(ntohl(info->id.spi) == 0xc0ffee01);
  CHECK(info->id.proto == IPPROTO_ESP);
  CHECK(info->family == AF_INET);
  CHECK(info->mode == XFRM_MODE_TUNNEL);
  CHECK(info->reqid == ReqidOf(3));
  CHECK(info->replay_window == 32);
  CHECK(info->lft.hard_add_expires_seconds == 3600);
  CHECK(info->lft.soft_add_expires_seconds == 3240);
  CHECK(info->lft.hard_byte_limit == XFRM_INF);  // no byte limit asked
  CHECK(std::memcmp(&info->id.daddr, Ip("192.0.2.1").octets.data(), 4) == 0);
  CHECK(std::memcmp(&info->saddr, Ip("198.51.100.2").octets.data(), 4) == 0);

  const nlattr* crypt = Attribute(nlh, sizeof(xfrm_usersa_info), XFRMA_ALG_CRYPT);
  REQUIRE(crypt != nullptr);
  const auto* algo = static_cast<const xfrm_algo*>(mnl_attr_get_payload(crypt));
  CHECK(std::string(algo->alg_name) == "cbc(aes)");
  CHECK(algo->alg_key_len == 128);
  CHECK(std::memcmp(algo->alg_key, enc.data(), enc.size()) == 0);
  const nlattr* integ = Attribute(nlh, sizeof(xfrm_usersa_info), XFRMA_ALG_AUTH_TRUNC);
  REQUIRE(integ != nullptr);
  const auto* a = static_cast<const xfrm_algo_auth*>(mnl_attr_get_payload(integ));
  CHECK(std::string(a->alg_name) == "hmac(sha256)");
  CHECK(a->alg_key_len == 256);
  CHECK(a->alg_trunc_len == 128);
  CHECK(Attribute(nlh, sizeof(xfrm_usersa_info), XFRMA_ENCAP) == nullptr);  // plain ESP
}

// RFC 4106 in XFRM: one AEAD attribute, the salt the last 4 octets of the
// key, the 16-octet ICV; no separate integrity algorithm.
TEST_CASE("an AES-GCM-16 SA: rfc4106(gcm(aes)) with key and salt, ICV 128, no AUTH") {
  CHECK(std::string(KernelCrypt(db::ESP_AES_GCM_16)->name) == "rfc4106(gcm(aes))");
  CHECK(KernelCrypt(db::ESP_AES_GCM_16)->icv_bits == 128);
  Bytes key(32, 0x33);
  Append(key, Bytes{0xa1, 0xa2, 0xa3, 0xa4});  // salt
  SaMessage sa;
  sa.source = Ip("192.0.2.1");
  sa.destination = Ip("192.0.2.2");
  sa.spi = 0x0badcafe;
  sa.reqid = ReqidOf(4);
  sa.encryption = db::ESP_AES_GCM_16;
  sa.encryption_key = key;
  Batch batch(7);
  REQUIRE(batch.AddSa(sa, /*update=*/false));
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 1);
  const nlattr* aead = Attribute(messages[0], sizeof(xfrm_usersa_info), XFRMA_ALG_AEAD);
  REQUIRE(aead != nullptr);
  const auto* a = static_cast<const xfrm_algo_aead*>(mnl_attr_get_payload(aead));
  CHECK(std::string(a->alg_name) == "rfc4106(gcm(aes))");
  CHECK(a->alg_key_len == 288);  // 256-bit key + 32-bit salt
  CHECK(a->alg_icv_len == 128);
  CHECK(std::memcmp(a->alg_key, key.data(), key.size()) == 0);
  CHECK(Attribute(messages[0], sizeof(xfrm_usersa_info), XFRMA_ALG_CRYPT) == nullptr);
  CHECK(Attribute(messages[0], sizeof(xfrm_usersa_info), XFRMA_ALG_AUTH_TRUNC) == nullptr);
}

// RFC 4301 4.1: a tunnel carries inner packets of either family. Linux gives
// an SA's empty selector the outer family unless XFRM_STATE_AF_UNSPEC is set,
// and then IPv4 traffic under IPv6 gateways finds no SA (seen in user-mode
// Linux: tests/kernel/uml_ipv6_test.sh, case 4).
TEST_CASE("a tunnel-mode SA between IPv6 gateways takes inner packets of either family") {
  // The keys outlive the message that views them.
  const Bytes encryption_key(16, 0x11), integrity_key(32, 0x22);
  SaMessage sa;
  sa.source = Ip("2001:db8::1");
  sa.destination = Ip("2001:db8::2");
  sa.spi = 0x2000;
  sa.encryption = db::ESP_AES_CBC;
  sa.encryption_key = encryption_key;
  sa.integrity = db::HMAC_SHA2_256;
  sa.integrity_key = integrity_key;
  Batch batch(1);
  REQUIRE(batch.AddSa(sa, false));
  sa.transport = true;
  REQUIRE(batch.AddSa(sa, false));
  PolicyMessage p;
  p.source = Net("198.51.100.1", 32);
  p.destination = Net("203.0.113.1", 32);
  p.tunnel_source = Ip("2001:db8::1");
  p.tunnel_destination = Ip("2001:db8::2");
  REQUIRE(batch.AddPolicy(p, false));
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 3);
  // Copied out: netlink payloads are 4-aligned, these structures want 8.
  auto copy = [](const void* from, auto* to) { std::memcpy(to, from, sizeof *to); };
  xfrm_usersa_info tunnel{}, transport{};
  copy(mnl_nlmsg_get_payload(messages[0]), &tunnel);
  CHECK(tunnel.family == AF_INET6);
  CHECK(std::memcmp(&tunnel.id.daddr, Ip("2001:db8::2").octets.data(), 16) == 0);
  CHECK(tunnel.sel.family == AF_UNSPEC);
  CHECK((tunnel.flags & XFRM_STATE_AF_UNSPEC) != 0);
  // transport mode: the endpoints' own packets, of their family
  copy(mnl_nlmsg_get_payload(messages[1]), &transport);
  CHECK(transport.sel.family == AF_INET6);
  CHECK((transport.flags & XFRM_STATE_AF_UNSPEC) == 0);
  // the policy selects IPv4, its template names the IPv6 gateways
  xfrm_userpolicy_info policy{};
  copy(mnl_nlmsg_get_payload(messages[2]), &policy);
  CHECK(policy.sel.family == AF_INET);
  CHECK(policy.sel.prefixlen_s == 32);
  const nlattr* tmpl = Attribute(messages[2], sizeof(xfrm_userpolicy_info), XFRMA_TMPL);
  REQUIRE(tmpl != nullptr);
  xfrm_user_tmpl t{};
  copy(mnl_attr_get_payload(tmpl), &t);
  CHECK(t.family == AF_INET6);
  CHECK(std::memcmp(&t.id.daddr, Ip("2001:db8::2").octets.data(), 16) == 0);
}

TEST_CASE("transport mode: the SA and the policy template say XFRM_MODE_TRANSPORT") {
  const Bytes enc(16, 0x11), auth(32, 0x22);
  SaMessage sa;
  sa.source = Ip("192.0.2.1");
  sa.destination = Ip("192.0.2.2");
  sa.spi = 0x1000;
  sa.encryption = db::ESP_AES_CBC;
  sa.encryption_key = enc;
  sa.integrity = db::HMAC_SHA2_256;
  sa.integrity_key = auth;
  sa.transport = true;
  Batch batch(1);
  REQUIRE(batch.AddSa(sa, false));
  PolicyMessage p;
  p.source = Net("192.0.2.1", 32);
  p.destination = Net("192.0.2.2", 32);
  p.tunnel_source = Ip("192.0.2.1");
  p.tunnel_destination = Ip("192.0.2.2");
  p.transport = true;
  REQUIRE(batch.AddPolicy(p, false));
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 2);
  CHECK(static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(messages[0]))->mode ==
        XFRM_MODE_TRANSPORT);
  const nlattr* tmpl = Attribute(messages[1], sizeof(xfrm_userpolicy_info), XFRMA_TMPL);
  REQUIRE(tmpl != nullptr);
  CHECK(static_cast<const xfrm_user_tmpl*>(mnl_attr_get_payload(tmpl))->mode ==
        XFRM_MODE_TRANSPORT);
}

TEST_CASE("an outbound SA with NAT-T: NEWSA, exclusive, UDP encapsulation (RFC 3948)") {
  const Bytes enc(24, 0x33), auth(20, 0x44);
  SaMessage sa;
  sa.source = Ip("2001:db8::1");
  sa.destination = Ip("2001:db8::2");
  sa.spi = 0x1000;
  sa.encryption = db::ESP_3DES;
  sa.encryption_key = enc;
  sa.integrity = db::HMAC_SHA1;
  sa.integrity_key = auth;
  sa.hard_bytes = 4608000ull * 1024;
  sa.encap_source_port = 4500;
  sa.encap_destination_port = 4501;
  Batch batch;
  REQUIRE(batch.AddSa(sa, /*update=*/false));
  const nlmsghdr* nlh = Messages(batch).at(0);
  CHECK(nlh->nlmsg_type == XFRM_MSG_NEWSA);
  CHECK((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
  const auto* info = static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(nlh));
  CHECK(info->family == AF_INET6);
  CHECK(info->replay_window == 0);
  CHECK(info->lft.hard_byte_limit == 4608000ull * 1024);
  CHECK(info->lft.hard_add_expires_seconds == 0);
  const nlattr* encap = Attribute(nlh, sizeof(xfrm_usersa_info), XFRMA_ENCAP);
  REQUIRE(encap != nullptr);
  const auto* e = static_cast<const xfrm_encap_tmpl*>(mnl_attr_get_payload(encap));
  CHECK(ntohs(e->encap_sport) == 4500);
  CHECK(ntohs(e->encap_dport) == 4501);
}

TEST_CASE("an SA the kernel backend cannot express is refused, not guessed") {
  SaMessage sa;
  sa.source = Ip("192.0.2.1");
  sa.destination = Ip("2001:db8::2");  // mixed families
  sa.encryption = db::ESP_AES_CBC;
  sa.integrity = db::HMAC_SHA1;
  Batch batch;
  CHECK_FALSE(batch.AddSa(sa, false));
  sa.destination = Ip("192.0.2.2");
  sa.integrity = db::ESP_INTEGRITY_UNSPECIFIED;
  CHECK_FALSE(batch.AddSa(sa, false));
  CHECK(batch.empty());
}

TEST_CASE("a policy: selector, direction, priority and template; parsed back") {
  PolicyMessage p;
  p.source = Net("203.0.113.0", 24);
  p.destination = Net("198.51.100.0", 24);
  p.protocol = 6;
  p.source_port = 22;  // the peer's ssh answers (fwd: from the peer's side)
  p.dir = PolicyDir::kFwd;
  p.priority = PolicyPriority(p.source, p.destination, p.protocol, true);
  p.tunnel_source = Ip("192.0.2.2");
  p.tunnel_destination = Ip("192.0.2.1");
  p.reqid = ReqidOf(9);
  Batch batch;
  REQUIRE(batch.AddPolicy(p));
  batch.AddDeletePolicy(p);
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]->nlmsg_type == XFRM_MSG_NEWPOLICY);
  CHECK(messages[1]->nlmsg_type == XFRM_MSG_DELPOLICY);
  CHECK(messages[1]->nlmsg_seq == messages[0]->nlmsg_seq + 1);
  const auto* info = static_cast<const xfrm_userpolicy_info*>(mnl_nlmsg_get_payload(messages[0]));
  CHECK(info->dir == XFRM_POLICY_FWD);
  CHECK(info->action == XFRM_POLICY_ALLOW);
  CHECK(info->sel.prefixlen_s == 24);
  CHECK(info->sel.prefixlen_d == 24);
  CHECK(info->sel.proto == 6);
  CHECK(info->sel.sport == htons(22));  // network order, masked: only port 22
  CHECK(info->sel.sport_mask == 0xffff);
  CHECK(info->sel.dport == 0);  // any
  CHECK(info->sel.dport_mask == 0);
  CHECK(info->lft.hard_byte_limit == XFRM_INF);

  // The kernel answers a dump with the same structure (XFRM_MSG_NEWPOLICY).
  std::vector<uint8_t> copy(messages[0]->nlmsg_len);
  std::memcpy(copy.data(), messages[0], copy.size());
  const auto parsed = ParsePolicy(reinterpret_cast<const nlmsghdr*>(copy.data()));
  REQUIRE(parsed);
  CHECK(parsed->has_template);
  CHECK(parsed->policy.source == p.source);
  CHECK(parsed->policy.destination == p.destination);
  CHECK(parsed->policy.dir == PolicyDir::kFwd);
  CHECK(parsed->policy.priority == p.priority);
  CHECK(parsed->policy.tunnel_source == p.tunnel_source);
  CHECK(parsed->policy.tunnel_destination == p.tunnel_destination);
  CHECK(parsed->policy.reqid == ReqidOf(9));
  CHECK(parsed->policy.protocol == 6);
  CHECK(parsed->policy.source_port == 22);
  CHECK(parsed->policy.destination_port == 0);
  // The delete names the same selector, ports included.
  const auto* id = static_cast<const xfrm_userpolicy_id*>(mnl_nlmsg_get_payload(messages[1]));
  CHECK(id->sel.sport == htons(22));
  CHECK(id->sel.sport_mask == 0xffff);
}

TEST_CASE("ALLOCSPI asks for an SPI of at least 256 between the two addresses") {
  Batch batch;
  REQUIRE(batch.AddAllocSpi(Ip("198.51.100.2"), Ip("192.0.2.1"), kReqidBand, 0x100, 0xffffffff));
  CHECK_FALSE(batch.AddAllocSpi(Ip("2001:db8::1"), Ip("192.0.2.1"), kReqidBand, 0x100, 0xffffffff));
  const nlmsghdr* nlh = Messages(batch).at(0);
  CHECK(nlh->nlmsg_type == XFRM_MSG_ALLOCSPI);
  const auto* spi = static_cast<const xfrm_userspi_info*>(mnl_nlmsg_get_payload(nlh));
  CHECK(spi->min == 0x100);
  CHECK(spi->max == 0xffffffff);
  CHECK(spi->info.id.proto == IPPROTO_ESP);
  CHECK(IsOurReqid(spi->info.reqid));  // a lapsed reservation is found as ours
}

TEST_CASE("an SA from the kernel: a larval one has no algorithms") {
  // Build what the kernel sends (an SA as UPDSA/NEWSA carries it) and parse.
  SaMessage sa;
  sa.source = Ip("198.51.100.2");
  sa.destination = Ip("192.0.2.1");
  sa.spi = 0x4242;
  sa.reqid = ReqidOf(4);
  sa.encryption = db::ESP_AES_CBC;
  sa.integrity = db::HMAC_SHA1;
  const Bytes enc(16, 1), auth(20, 2);
  sa.encryption_key = enc;
  sa.integrity_key = auth;
  Batch batch;
  REQUIRE(batch.AddSa(sa, false));
  std::vector<uint8_t> copy(batch.bytes().begin(), batch.bytes().end());
  auto* nlh = reinterpret_cast<nlmsghdr*>(copy.data());
  auto parsed = ParseSa(nlh);
  REQUIRE(parsed);
  CHECK(parsed->spi == 0x4242);
  CHECK(parsed->reqid == ReqidOf(4));
  CHECK(parsed->destination == Ip("192.0.2.1"));
  CHECK_FALSE(parsed->larval);
  // The same header without attributes: a larval SA.
  nlh->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(xfrm_usersa_info));
  parsed = ParseSa(nlh);
  REQUIRE(parsed);
  CHECK(parsed->larval);
  // Short or foreign messages are not SAs.
  nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 8;
  CHECK_FALSE(ParseSa(nlh));
  nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
  CHECK_FALSE(ParseSa(nlh));
}

TEST_CASE("a netlink error carries the request's sequence, errno and the kernel's words") {
  std::vector<uint8_t> buffer(256, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
  auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = -EPROTONOSUPPORT;
  err->msg.nlmsg_seq = 77;
  err->msg.nlmsg_len = sizeof(nlmsghdr) + 200;  // capped: not copied
  mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Requested type not found");
  const auto status = ParseStatus(nlh);
  REQUIRE(status);
  CHECK(status->seq == 77u);
  CHECK(status->error == EPROTONOSUPPORT);
  CHECK(status->message == "Requested type not found");
  err->error = 0;  // an acknowledgement
  CHECK(ParseStatus(nlh)->error == 0);
}

TEST_CASE("an expire message: which SA, soft or hard, by volume or by time") {
  std::vector<uint8_t> buffer(512, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = XFRM_MSG_EXPIRE;
  auto* e =
      static_cast<xfrm_user_expire*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_user_expire)));
  e->state.family = AF_INET;
  std::memcpy(&e->state.id.daddr, Ip("192.0.2.1").octets.data(), 4);
  e->state.id.spi = htonl(0xabcd0001);
  e->state.id.proto = IPPROTO_ESP;
  e->state.reqid = ReqidOf(12);
  e->state.lft.soft_byte_limit = 921;
  e->state.lft.hard_byte_limit = 1024;
  e->state.curlft.bytes = 1100;
  e->hard = 1;
  auto parsed = ParseExpire(nlh);
  REQUIRE(parsed);
  CHECK(parsed->hard);
  CHECK(parsed->by_volume);
  CHECK(parsed->sa.spi == 0xabcd0001);
  CHECK(parsed->sa.destination == Ip("192.0.2.1"));
  CHECK((parsed->sa.reqid & ~kReqidMask) == 12);
  // Soft, by time: the byte count is under the soft limit.
  e->hard = 0;
  e->state.curlft.bytes = 10;
  parsed = ParseExpire(nlh);
  REQUIRE(parsed);
  CHECK_FALSE(parsed->hard);
  CHECK_FALSE(parsed->by_volume);
  nlh->nlmsg_type = XFRM_MSG_NEWSA;
  CHECK_FALSE(ParseExpire(nlh));
}

TEST_CASE("a trap's policy: UPDPOLICY to take a tunnel policy's place; discovery's is optional") {
  CHECK(IsTrapReqid(TrapReqidOf(3)));
  CHECK_FALSE(IsOurReqid(TrapReqidOf(3)));  // never taken for a tunnel's
  CHECK_FALSE(IsTrapReqid(ReqidOf(3)));
  PolicyMessage p;
  p.source = Net("198.51.100.1", 32);
  p.destination = Net("203.0.114.0", 24);
  p.dir = PolicyDir::kOut;
  p.priority = PolicyPriority(p.source, p.destination);
  p.tunnel_source = Ip("192.0.2.1");
  p.tunnel_destination = Ip("192.0.2.3");
  p.reqid = TrapReqidOf(3);
  p.optional = true;
  Batch batch;
  REQUIRE(batch.AddPolicy(p, true));
  p.optional = false;
  REQUIRE(batch.AddPolicy(p));
  const auto messages = Messages(batch);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]->nlmsg_type == XFRM_MSG_UPDPOLICY);
  CHECK((messages[0]->nlmsg_flags & NLM_F_EXCL) == 0);
  CHECK(messages[1]->nlmsg_type == XFRM_MSG_NEWPOLICY);
  CHECK((messages[1]->nlmsg_flags & NLM_F_EXCL) != 0);
  const nlattr* a = Attribute(messages[0], sizeof(xfrm_userpolicy_info), XFRMA_TMPL);
  REQUIRE(a != nullptr);
  xfrm_user_tmpl tmpl;
  std::memcpy(&tmpl, mnl_attr_get_payload(a), sizeof tmpl);
  // Optional ("level use"): transport mode, the only kind Linux takes in
  // an out policy; no SA matches it and the packet goes in the clear.
  CHECK(tmpl.optional == 1);
  CHECK(tmpl.mode == XFRM_MODE_TRANSPORT);
  CHECK(tmpl.reqid == TrapReqidOf(3));
  a = Attribute(messages[1], sizeof(xfrm_userpolicy_info), XFRMA_TMPL);
  REQUIRE(a != nullptr);
  std::memcpy(&tmpl, mnl_attr_get_payload(a), sizeof tmpl);
  CHECK(tmpl.optional == 0);
  CHECK(tmpl.mode == XFRM_MODE_TUNNEL);
}

TEST_CASE("an acquire message: the packet's addresses and the template's reqid") {
  std::vector<uint8_t> buffer(1024, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = XFRM_MSG_ACQUIRE;
  auto* a =
      static_cast<xfrm_user_acquire*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_user_acquire)));
  a->sel.family = AF_INET;
  std::memcpy(&a->sel.saddr, Ip("198.51.100.1").octets.data(), 4);
  std::memcpy(&a->sel.daddr, Ip("203.0.113.5").octets.data(), 4);
  a->sel.proto = IPPROTO_ICMP;
  xfrm_user_tmpl tmpl{};
  tmpl.family = AF_INET;
  tmpl.reqid = TrapReqidOf(42);
  std::memcpy(&tmpl.saddr, Ip("192.0.2.1").octets.data(), 4);
  std::memcpy(&tmpl.id.daddr, Ip("192.0.2.2").octets.data(), 4);
  mnl_attr_put(nlh, XFRMA_TMPL, sizeof tmpl, &tmpl);
  auto parsed = ParseAcquire(nlh);
  REQUIRE(parsed);
  CHECK(parsed->source == Ip("198.51.100.1"));
  CHECK(parsed->destination == Ip("203.0.113.5"));
  CHECK(parsed->protocol == IPPROTO_ICMP);
  CHECK(parsed->reqid == TrapReqidOf(42));
  CHECK(parsed->tunnel_destination == Ip("192.0.2.2"));
  // Without a template it is not one tmd can place: refused, not guessed.
  std::vector<uint8_t> bare(512, 0);
  nlmsghdr* b = mnl_nlmsg_put_header(bare.data());
  b->nlmsg_type = XFRM_MSG_ACQUIRE;
  auto* ba =
      static_cast<xfrm_user_acquire*>(mnl_nlmsg_put_extra_header(b, sizeof(xfrm_user_acquire)));
  ba->sel.family = AF_INET;
  CHECK_FALSE(ParseAcquire(b));
  // Truncated below the structure.
  b->nlmsg_len = MNL_NLMSG_HDRLEN + 8;
  CHECK_FALSE(ParseAcquire(b));
  nlh->nlmsg_type = XFRM_MSG_EXPIRE;
  CHECK_FALSE(ParseAcquire(nlh));
}

}  // namespace
}  // namespace ike::tmd::xfrm
