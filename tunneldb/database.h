// The IKE tunnel database (/etc/ike/tunnels.db): protobuf text format of
// ike.db.TunnelDatabase, the Linux stand-in for the AIX ikedb objects
// (IKETunnel, IKEProtection, IPSecTunnel, IPSecProtection; aix-ike.md 2.3).
//
// Loading is two passes: the text-format parse (syntax errors with file, line
// and column) and a semantic check (names, references, addresses, supported
// algorithms, lifetimes) whose errors name the object, the field and, where
// the parser recorded it, the line. After a successful load the defaults are
// filled in, so every consumer (tmd, isakmpd via ConfigPush, ike cmd=list db)
// sees the same resolved values.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "tunneldb.pb.h"

namespace ike::tunneldb {

// Defaults applied to a loaded database (AIX uses the same phase 1/2 values).
inline constexpr uint32_t kDefaultPhase1Lifetime = 28800;
inline constexpr uint32_t kDefaultPhase2Lifetime = 3600;
inline constexpr uint32_t kDefaultAesKeyBits = 128;
// settings.min_lifetime_seconds: absent or 0 means kMinLifetimeSeconds; a
// test may lower it, never below kMinLifetimeFloor (a lifetime of a few
// seconds would have both daemons doing nothing but rekey).
inline constexpr uint32_t kMinLifetimeSeconds = 60;
inline constexpr uint32_t kMinLifetimeFloor = 5;
// Dead Peer Detection (IkeTunnel.dpd, RFC 3706): 30 s of silence, 5 probes,
// like strongSwan's dpd_delay and dpd_timeout (150 s).
inline constexpr uint32_t kDefaultDpdIntervalSeconds = 30;
inline constexpr uint32_t kDefaultDpdRetries = 5;
inline constexpr uint32_t kMinDpdIntervalSeconds = 2;
inline constexpr uint32_t kMaxDpdIntervalSeconds = 3600;
inline constexpr uint32_t kMaxDpdRetries = 100;
// NAT keepalives (settings.nat_keepalive_seconds, RFC 3948 4): 20 s as
// strongSwan's keep_alive; longer than an hour would outlive any NAT mapping.
inline constexpr uint32_t kDefaultNatKeepaliveSeconds = 20;
inline constexpr uint32_t kMaxNatKeepaliveSeconds = 3600;
// IKE fragmentation (settings.fragment_size): the IP datagram size an IKE
// message may fill before it is cut. 1280 is the IPv6 minimum MTU and
// strongSwan's default; 576 the datagram every IPv4 host must accept
// (RFC 791), so below it a fragment could itself be fragmented by IP.
inline constexpr uint32_t kDefaultFragmentSize = 1280;
inline constexpr uint32_t kMinFragmentSize = 576;
inline constexpr uint32_t kMaxFragmentSize = 65535;
// Admission control (conventions.md): phase 1 negotiations at once, in all
// and towards one peer (settings.max_negotiations, max_negotiations_per_peer).
inline constexpr uint32_t kDefaultMaxNegotiations = 128;
inline constexpr uint32_t kDefaultMaxNegotiationsPerPeer = 32;

class Database {
 public:
  Database() = default;

  // Parses and checks |text|; |file_name| prefixes every error
  // ("/etc/ike/tunnels.db:12:5: ..."). On failure the error holds the first
  // problem found; CheckText lists them all.
  static Result<Database> Parse(std::string_view text, std::string_view file_name);
  // Reads |path| and parses it. A missing or unreadable file is an error
  // naming the path and errno text.
  static Result<Database> Load(const std::string& path);
  // Every problem in |text|, one line each; empty when the database is valid.
  static std::vector<std::string> CheckText(std::string_view text, std::string_view file_name);

  const db::TunnelDatabase& proto() const { return db_; }
  const std::string& file_name() const { return file_name_; }

  // Lookups by name; nullptr when absent.
  const db::IkeTunnel* FindIkeTunnel(std::string_view name) const;
  const db::IpsecTunnel* FindIpsecTunnel(std::string_view name) const;
  const db::IkeProtection* FindIkeProtection(std::string_view name) const;
  const db::IpsecProtection* FindIpsecProtection(std::string_view name) const;
  // Indexes (file order) of the ipsec_tunnels carried by ike_tunnel |name|.
  const std::vector<int>& IpsecTunnelsOf(std::string_view ike_tunnel) const;

 private:
  void BuildIndexes();

  db::TunnelDatabase db_;
  std::string file_name_;
  // name -> index in the repeated field.
  std::unordered_map<std::string, int> ike_tunnels_;
  std::unordered_map<std::string, int> ipsec_tunnels_;
  std::unordered_map<std::string, int> ike_protections_;
  std::unordered_map<std::string, int> ipsec_protections_;
  std::unordered_map<std::string, std::vector<int>> children_;
};

using DatabasePtr = std::shared_ptr<const Database>;

// Fills in the documented defaults (ids from addresses, lifetimes, AES key
// length, PSK auth). Idempotent. Exposed for tests and ikedb.
void ApplyDefaults(db::TunnelDatabase* database);

// The shortest lifetime the database may set and a peer may impose, in
// seconds: settings.min_lifetime_seconds or kMinLifetimeSeconds.
uint32_t MinLifetimeSeconds(const db::Settings& settings);
// Seconds between NAT keepalives: settings.nat_keepalive_seconds when set
// (0 = none), else kDefaultNatKeepaliveSeconds.
uint32_t NatKeepaliveSeconds(const db::Settings& settings);
// settings.fragment_size, or kDefaultFragmentSize when 0.
uint32_t FragmentSize(const db::Settings& settings);

// A definition for a peer without a fixed address: remote_address "0.0.0.0"
// or "::" (any). It only answers (Aggressive Mode, the peer found by its
// identity); nothing is started towards it.
bool IsDynamicPeer(const db::IkeTunnel& tunnel);

// The value an Identity shows in ike cmd=list ("192.0.2.1", "vpn.example.com").
std::string IdentityText(const db::Identity& id);

}  // namespace ike::tunneldb
