// Informational exchanges on the SA manager: the one receive path for
// protected and unprotected notifies and deletes, then what
// informational::Evaluate decided, applied here. Sending them too.
#include <unordered_map>

#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/sa/bug.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

std::string SpiText(uint32_t spi) {
  char text[16];
  snprintf(text, sizeof text, "%08x", spi);
  return text;
}

}  // namespace

void SaManager::OnInformational(const wire::Header& h, const Endpoint& local,
                                const Endpoint& remote, ByteView packet) {
  IsakmpSa* sa = nullptr;
  if (auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie)); it != by_cookies_.end())
    sa = FindSa(it->second);
  else if (auto ho = half_open_.find(CookieValue(h.icookie)); ho != half_open_.end())
    sa = FindSa(ho->second);
  if (!sa) {
    LOG_INFO("dropped Informational from %s: unknown cookies", remote.ToString().c_str());
    Dropped(ipc::DROP_UNKNOWN_SA);
    return;
  }
  const bool encrypted = h.flags & wire::kFlagEncryption;
  if (encrypted && !sa->keyed()) return;  // nothing to decrypt it with yet
  Bytes iv;
  if (encrypted) iv = sa->IvFor(h.message_id);
  // RFC 2409 5.7: a protected Informational is HDR*, HASH(1), N/D and goes
  // through the payload table like every other message.
  auto opened =
      OpenAndParse(*sa, h, packet, iv,
                   encrypted ? std::optional(wire::MessageKind::kInformational) : std::nullopt,
                   /*allow_unknown=*/true);
  std::string error;
  if (auto* e = std::get_if<std::string>(&opened)) error = *e;
  const auto* payloads = error.empty() ? &std::get<Opened>(opened).payloads : nullptr;
  if (payloads && !encrypted)
    if (auto e = informational::CheckUnprotected(*payloads)) error = *e;
  if (!error.empty()) {
    LogLine(LogLevel::kInformation, *sa, "dropped malformed Informational: " + error);
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  if (encrypted) {
    if (!informational::Verify(*sa, h.message_id, *payloads)) {
      LogRepeated(bad_hash_lines_, LogLevel::kError, *sa,
                  "dropped Informational: HASH(1) did not verify");
      Dropped(ipc::DROP_BAD_HASH);
      return;
    }
    // A replayed protected Informational (genuine HASH) is dropped.
    if (!sa->message_ids.Register(h.message_id)) {
      ++counters_.replays_dropped;
      Dropped(ipc::DROP_REPLAY);
      LogRepeated(replay_lines_, LogLevel::kInformation, *sa,
                  "dropped Informational: message id " + std::to_string(h.message_id) +
                      " already used (a replay)");
      return;
    }
    sa->message_ids.Finish(h.message_id);
    NoteEndpoints(*sa, local, remote);
    CountReceived(*sa, h, packet);
  }
  const uint64_t handle = sa->handle;
  ApplyInformational(*sa, informational::Evaluate(*sa, encrypted, *payloads));
  sa = FindSa(handle);
  if (encrypted && sa) TakeLateLifetime(*sa, *payloads);
}

// RFC 2407 4.6.3.1 lets the notify travel in an Informational of its own:
// Cisco IOS sends the phase 1 one after Main Mode. Only an authenticated
// one, on an established SA, and only ever shorter (lifetime.h). The value
// tmd got in Phase1Established is not updated: there is no event for it.
// One for an ESP SA is only logged (status_notifies): tmd installed that
// SA and has no request to shorten it.
void SaManager::TakeLateLifetime(IsakmpSa& sa, const std::vector<wire::Payload>& payloads) {
  if (!sa.established() || !sa.suite) return;
  uint32_t seconds = sa.suite->life_seconds;
  uint64_t kbytes = sa.suite->life_kbytes;
  const std::string peer = sa.remote.address.ToString();
  if (auto fail = lifetime::TakeResponderLifetime(payloads, wire::ProtocolId::kIsakmp,
                                                  MinLifeSeconds(), peer, &seconds, &kbytes)) {
    LogLine(LogLevel::kError, sa, "phase 1 SA deleted: " + fail->reason);
    SendInformational(sa, {informational::DeleteIsakmpSa(sa)});
    EmitSaDeleted(1, sa.tunnel, sa.handle, fail->reason, false);
    return DeleteSa(sa.handle);
  }
  if (seconds == sa.suite->life_seconds && kbytes == sa.suite->life_kbytes) return;
  LogLine(LogLevel::kEvents, sa,
          "peer announced RESPONDER-LIFETIME: lifetime " +
              lifetime::Describe(sa.suite->life_seconds, sa.suite->life_kbytes) + " -> " +
              lifetime::Describe(seconds, kbytes));
  sa.suite->life_seconds = seconds;
  sa.suite->life_kbytes = kbytes;
  if (!sa.volume_expired) {
    const uint64_t now = deps_.clock->UnixNow();  // wall clock: it may step back
    const uint64_t elapsed = now > sa.established_unix ? now - sa.established_unix : 0;
    const uint64_t left = seconds > elapsed ? seconds - elapsed : 0;
    const uint64_t handle = sa.handle;
    deps_.timers->Cancel(sa.deadline_timer);
    sa.deadline_timer =
        deps_.timers->Schedule(Duration(left * 1000), [this, handle] { Phase1Expired(handle); });
  }
  CheckVolume(sa);
}

void SaManager::ApplyInformational(IsakmpSa& sa, const informational::Actions& actions) {
  const uint64_t handle = sa.handle;
  if (actions.dpd_malformed) {
    ++counters_.dpd_dropped;
    Dropped(ipc::DROP_DPD);
    LogRepeated(dpd_lines_, LogLevel::kInformation, sa, "dropped " + *actions.dpd_malformed);
  }
  if (actions.answer_r_u_there) {
    // RFC 3706 6.1: a sequence number below the last one answered is a
    // replay; the same one again is a retransmitted probe and answered.
    const uint32_t seq = actions.r_u_there_seq;
    if (sa.dpd_seq_in && seq < *sa.dpd_seq_in) {
      ++counters_.dpd_dropped;
      Dropped(ipc::DROP_DPD);
      LogRepeated(dpd_lines_, LogLevel::kInformation, sa,
                  "dropped R-U-THERE with sequence number " + std::to_string(seq) +
                      " below the last one answered (" + std::to_string(*sa.dpd_seq_in) + ")");
    } else {
      sa.dpd_seq_in = seq;
      wire::NotifyPayload ack = *actions.answer_r_u_there;
      ack.type = uint16_t(wire::NotifyType::kRUThereAck);
      SendInformational(sa, {wire::MakePayload(ack)});
    }
  }
  if (actions.r_u_there_ack_seq) OnDpdAck(sa, *actions.r_u_there_ack_seq);
  for (uint16_t type : actions.status_notifies)
    LogLine(LogLevel::kInformation, sa, "peer sent " + wire::NotifyTypeName(type));
  if (actions.ignored_notify) {
    ++counters_.unprotected_ignored;
    if (!sa.unprotected_notify)
      LogLine(LogLevel::kEvents, sa,
              "ignored an unprotected " + wire::NotifyTypeName(*actions.ignored_notify) +
                  " notify (anyone who saw the cookies can send one); the exchange goes on");
    sa.unprotected_notify = *actions.ignored_notify;
  }
  if (actions.ignored_unprotected_deletes) {
    ++counters_.unprotected_ignored;
    if (!sa.logged_unprotected_delete)
      LogLine(LogLevel::kEvents, sa,
              "ignored an unprotected Delete (RFC 2409 5.7: it needs HASH(1))");
    sa.logged_unprotected_delete = true;
  }
  if (actions.foreign_isakmp_deletes)
    LogLine(LogLevel::kEvents, sa,
            "ignored a Delete for " + std::to_string(actions.foreign_isakmp_deletes) +
                " ISAKMP SA(s) other than this one (its SPI is not our cookie pair)");
  if (actions.fail_phase1) return FailPhase1(sa, *actions.fail_phase1);
  if (actions.fail_quick_modes) FailPendingQuickModes(sa, *actions.fail_quick_modes);
  if (!actions.delete_esp_spis.empty()) DeleteEspByPeer(sa, actions.delete_esp_spis);
  if (actions.delete_phase1 && FindSa(handle)) {
    LogLine(LogLevel::kEvents, sa, "peer deleted the phase 1 SA");
    EmitSaDeleted(1, sa.tunnel, handle, "deleted by peer " + sa.remote.address.ToString(), true);
    DeleteSa(handle);
  }
}

// An authenticated error notify on an established SA concerns our Quick
// Modes in progress.
void SaManager::FailPendingQuickModes(IsakmpSa& sa, uint16_t notify) {
  const std::string name = wire::NotifyTypeName(notify);
  std::vector<uint64_t> pending;
  for (uint64_t ch : sa.children)
    if (IpsecSa* child = FindChild(ch);
        child && child->role == Role::kInitiator && child->exchange && !child->established())
      pending.push_back(ch);
  for (uint64_t ch : pending) {
    IpsecSa* child = FindChild(ch);
    if (!child) continue;
    const QuickModeExchange& qm = *child->exchange;
    std::string reason = "peer " + sa.remote.address.ToString() + " sent " + name;
    if (notify == uint16_t(wire::NotifyType::kInvalidIdInformation))
      reason += ": phase 2 selectors " + qm.local_text + " / " + qm.remote_text + " not accepted";
    else if (notify == uint16_t(wire::NotifyType::kNoProposalChosen))
      reason += ": none of our phase 2 proposals was accepted";
    FailPhase2(sa, *child, Failure{informational::CodeForNotify(notify), reason, std::nullopt});
  }
  if (pending.empty()) LogLine(LogLevel::kInformation, sa, "peer sent " + name);
}

// The peer names its inbound SPIs: our outbound ones. Unknown SPIs are
// folded into one line per second with a count (hole k: one Delete of
// 16,300 unknown SPIs wrote 16,300 lines).
void SaManager::DeleteEspByPeer(IsakmpSa& sa, const std::vector<uint32_t>& spis) {
  // Quick Modes still open on this SA; the established pairs by index.
  std::unordered_map<uint32_t, uint64_t> by_spi;
  for (uint64_t ch : sa.children)
    if (IpsecSa* child = FindChild(ch); child && child->exchange && child->exchange->spi_out)
      by_spi[child->exchange->spi_out] = ch;
  for (uint32_t spi : spis)
    if (auto it = child_by_peer_spi_.find(PeerSpiKey{sa.remote.address, spi});
        it != child_by_peer_spi_.end())
      by_spi[spi] = it->second;
  // strongSwan, when it cannot install a pair it just agreed as Quick Mode
  // responder (kernel-libipsec without UDP encapsulation: NAT-T switched off
  // here), deletes it naming our inbound SPI instead of its own. Matched
  // too (our SPIs are unique), or the pair would stay up on our side only.
  for (uint32_t spi : spis)
    if (!by_spi.contains(spi))
      for (uint64_t ch : sa.children)
        if (IpsecSa* child = FindChild(ch); child && child->spi_in == spi) by_spi[spi] = ch;
  uint64_t unknown = 0;
  uint32_t first_unknown = 0;
  const std::string peer = sa.remote.address.ToString();
  for (uint32_t spi : spis) {
    auto it = by_spi.find(spi);
    IpsecSa* child = it == by_spi.end() ? nullptr : FindChild(it->second);
    if (!child) {
      if (unknown++ == 0) first_unknown = spi;
      continue;
    }
    by_spi.erase(it);
    if (!child->established()) {
      FailPhase2(sa, *child,
                 Failure{ipc::DELETED,
                         "peer " + peer +
                             " deleted the ESP SA before Quick Mode completed (it could not "
                             "install it)",
                         std::nullopt});
      continue;
    }
    LogLine(LogLevel::kEvents, sa,
            "peer deleted phase 2 tunnel " + std::to_string(child->tunnel) + " (SPI " +
                SpiText(spi) + ")");
    EmitSaDeleted(2, child->tunnel, child->handle, "deleted by peer " + peer, true);
    RemoveChild(child->handle);
  }
  uint64_t folded = 0;
  if (unknown && AllowRepeat(unknown_spi_deletes_, unknown, &folded))
    LogLine(LogLevel::kInformation, sa,
            "peer deleted " + std::to_string(unknown) + " unknown ESP SA(s) (first SPI " +
                SpiText(first_unknown) + "); ignored" +
                (folded ? " (" + std::to_string(folded) + " more in the last second)" : ""));
}

void SaManager::SendInformational(IsakmpSa& sa, std::vector<wire::Payload> body) {
  if (!sa.keyed()) return;
  const uint32_t message_id = sa.message_ids.Allocate(*deps_.random);
  auto payloads = informational::Protect(sa, message_id, std::move(body));
  Bytes iv = sa.IvFor(message_id);
  Bytes packet = Seal(sa, wire::ExchangeType::kInformational, message_id, payloads, &iv);
  sa.message_ids.Finish(message_id);
  SendMessage(sa, packet, NextFragmentId());
}

void SaManager::SendPlainNotify(const Phase1Context& sa, wire::NotifyType type) {
  std::vector<wire::Payload> payloads{informational::Notify(type)};
  Bytes packet = Frame(sa, wire::ExchangeType::kInformational, 0, payloads, nullptr);
  SendDatagram(sa.local, sa.remote, packet);
}

void SaManager::NoteEndpoints(IsakmpSa& sa, const Endpoint& local, const Endpoint& remote) {
  if (local.port != nat_traversal::kPort || (sa.local == local && sa.remote == remote)) return;
  LogLine(LogLevel::kInformation, sa, "peer now at " + remote.ToString() + " (NAT-T)");
  sa.local = local;
  sa.remote = remote;
}

}  // namespace ike::isakmpd
