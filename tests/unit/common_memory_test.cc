// TrimPolicy (common/memory.h): when a daemon gives freed heap back.
#include <catch2/catch.hpp>

#include "common/memory.h"

namespace ike {
namespace {

TEST_CASE("TrimPolicy: a drop of 256 objects and 5 % below the high-water mark trims once") {
  TrimPolicy trim;
  CHECK_FALSE(trim.Observe(20000));
  CHECK_FALSE(trim.Observe(28000));  // a re-establishment round: old and new SAs
  CHECK_FALSE(trim.Observe(27000));  // 3.6 % below: not yet
  CHECK(trim.Observe(20000));        // the old ones went
  CHECK_FALSE(trim.Observe(20000));  // the mark starts again from there
  CHECK_FALSE(trim.Observe(19900));
}

TEST_CASE("TrimPolicy: a few tunnels going never trims, however large the share") {
  TrimPolicy trim;
  CHECK_FALSE(trim.Observe(100));
  CHECK_FALSE(trim.Observe(0));  // 100 %, but only 100 objects
  CHECK_FALSE(trim.Observe(300));
  CHECK(trim.Observe(40));
}

}  // namespace
}  // namespace ike
