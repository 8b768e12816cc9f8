// The state-only kernel backend: tunnel cache and dynamic filter table kept
// in tmd's memory. Keys are accepted and dropped: nothing here stores them.
#include "tmd/core/kernel.h"

#include <algorithm>
#include <tuple>

namespace ike::tmd {

const char* DirectionName(Direction d) { return d == Direction::kInbound ? "inbound" : "outbound"; }

std::string StateOnlyKernel::SaKey(const IpAddress& destination, uint32_t spi) {
  return destination.ToString() + "/" + std::to_string(spi);
}

Status StateOnlyKernel::InstallSa(const SaSpec& sa) {
  const std::string key = SaKey(sa.destination, sa.spi);
  if (sas_.contains(key)) {
    return Error{"tunnel cache already holds SPI " + std::to_string(sa.spi) + " to " +
                 sa.destination.ToString()};
  }
  ipc::TunnelCacheEntry e;
  e.set_tunnel(sa.tunnel);
  e.set_spi(sa.spi);
  e.set_direction(DirectionName(sa.direction));
  e.set_source(sa.source.ToString());
  e.set_destination(sa.destination.ToString());
  e.set_protocol("ESP");
  e.set_mode(sa.source_port ? "tunnel-in-UDP" : "tunnel");
  e.set_source_port(sa.source_port);
  e.set_destination_port(sa.destination_port);
  e.set_encryption(sa.encryption);
  e.set_encryption_key_bits(sa.encryption_key_bits);
  e.set_integrity(sa.integrity);
  e.set_lifetime_seconds(sa.lifetime_seconds);
  e.set_lifetime_kbytes(sa.lifetime_kbytes);
  e.set_added_unix(sa.added_unix);
  sas_.emplace(key, std::move(e));
  return Status::Ok();
}

Status StateOnlyKernel::DeleteSa(const IpAddress& destination, uint32_t spi) {
  sas_.erase(SaKey(destination, spi));
  return Status::Ok();
}

Result<uint32_t> StateOnlyKernel::InstallPolicy(const PolicySpec& p) {
  ipc::FilterRule r;
  const uint32_t id = next_rule_id_++;
  r.set_id(id);
  r.set_tunnel(p.tunnel);
  r.set_action("permit");
  r.set_direction(DirectionName(p.direction));
  r.set_source(p.source.ToString());
  r.set_destination(p.destination.ToString());
  r.set_protocol(p.protocol);
  r.set_spi(p.spi);
  policies_.emplace(id, std::move(r));
  return id;
}

Status StateOnlyKernel::DeletePolicy(uint32_t rule_id) {
  policies_.erase(rule_id);
  return Status::Ok();
}

std::vector<ipc::TunnelCacheEntry> StateOnlyKernel::ListSas() const {
  std::vector<ipc::TunnelCacheEntry> out;
  out.reserve(sas_.size());
  for (const auto& [key, e] : sas_) out.push_back(e);
  // Inbound before outbound within a tunnel, like the filter rules.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.tunnel(), a.direction(), a.spi()) <
           std::make_tuple(b.tunnel(), b.direction(), b.spi());
  });
  return out;
}

std::vector<ipc::FilterRule> StateOnlyKernel::ListPolicies() const {
  std::vector<ipc::FilterRule> out;
  out.reserve(policies_.size());
  for (const auto& [id, r] : policies_) out.push_back(r);
  return out;
}

void StateOnlyKernel::Clear() {
  sas_.clear();
  policies_.clear();
}

}  // namespace ike::tmd
