// Inbound SPIs for isakmpd (issue 7, hole 4.f): the kernel interface knows
// every live SPI and every outstanding reservation, so an SPI isakmpd offers
// cannot collide with another SA to the same address (RFC 4301 4.1: an
// inbound SA is found by destination and SPI).
#include "common/ipc_frame.h"
#include "common/log.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {

ipc::Envelope TunnelManager::AllocateSpi(const ipc::AllocateSpi& request) {
  const std::optional<IpAddress> local = IpAddress::Parse(request.local_address());
  if (!local) {
    return ipc::MakeError(
        0, ipc::BAD_ARGUMENT,
        "AllocateSpi: local_address '" + request.local_address() + "' is not an IP address");
  }
  if (request.protocol() != ipc::PROTO_ESP && request.protocol() != ipc::PROTO_AH) {
    return ipc::MakeError(0, ipc::BAD_ARGUMENT,
                          "AllocateSpi: protocol must be ESP or AH, not " +
                              std::to_string(static_cast<int>(request.protocol())));
  }
  IpAddress remote;  // family 0: not given (an older isakmpd)
  if (!request.remote_address().empty()) {
    const std::optional<IpAddress> parsed = IpAddress::Parse(request.remote_address());
    if (!parsed) {
      return ipc::MakeError(
          0, ipc::BAD_ARGUMENT,
          "AllocateSpi: remote_address '" + request.remote_address() + "' is not an IP address");
    }
    remote = *parsed;
  }
  Result<uint32_t> spi = kernel_.AllocateSpi(*local, remote, request.protocol());
  if (!spi.ok()) {
    LOG_ERROR("cannot allocate an inbound SPI: %s", spi.error().message.c_str());
    return ipc::MakeError(0, ipc::INTERNAL, spi.error().message);
  }
  ipc::Envelope out;
  out.mutable_allocate_spi_reply()->set_spi(*spi);
  return out;
}

}  // namespace ike::tmd
