#include "isakmpd/exchange/states.h"

namespace ike::isakmpd {

const char* Phase1StateName(Phase1State s) {
  switch (s) {
    case Phase1State::kInit:
      return "INIT";
    case Phase1State::kWaitSa:
      return "WAIT SA";
    case Phase1State::kWaitKe:
      return "WAIT KE";
    case Phase1State::kInKe:
      return "IN KE";
    case Phase1State::kDone:
      return "DONE";
  }
  return "?";
}

const char* Phase1CiscoName(Phase1State s) {
  switch (s) {
    case Phase1State::kInit:
      return "MM_NO_STATE";
    case Phase1State::kWaitSa:
    case Phase1State::kWaitKe:
      return "MM_SA_SETUP";
    case Phase1State::kInKe:
      return "MM_KEY_EXCH";
    case Phase1State::kDone:
      return "QM_IDLE";
  }
  return "?";
}

const char* Phase2StateName(Phase2State s) {
  switch (s) {
    case Phase2State::kInit:
      return "INIT";
    case Phase2State::kKep:
      return "KEP";
    case Phase2State::kDone:
      return "DONE";
  }
  return "?";
}

}  // namespace ike::isakmpd
