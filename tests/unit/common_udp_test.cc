// UdpSocket on loopback with kernel-chosen ports.
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <memory>

#include "common/event_loop.h"
#include "common/udp.h"

namespace ike {
namespace {

using namespace std::chrono_literals;

Endpoint Loopback(const char* addr) { return Endpoint{*IpAddress::Parse(addr), 0}; }

struct Received {
  std::string data;
  Endpoint from;
};

TEST_CASE("UDP send and receive on 127.0.0.1 ephemeral ports") {
  EventLoop loop;
  std::vector<Received> at_a, at_b;
  std::unique_ptr<UdpSocket> b;
  auto a = UdpSocket::Bind(loop, Loopback("127.0.0.1"), [&](ByteView d, const Endpoint& from) {
    at_a.push_back({ToString(d), from});
    loop.Stop();
  });
  REQUIRE(a.ok());
  auto bound_b =
      UdpSocket::Bind(loop, Loopback("127.0.0.1"), [&](ByteView d, const Endpoint& from) {
        at_b.push_back({ToString(d), from});
        // Echo, so the test also covers sending from inside a read handler.
        if (at_b.size() == 3) REQUIRE(b->SendTo(View(std::string("pong")), from).ok());
      });
  REQUIRE(bound_b.ok());
  b = std::move(bound_b.value());
  CHECK((*a)->local().port != 0);
  CHECK((*a)->local().port != b->local().port);
  CHECK((*a)->local().address.ToString() == "127.0.0.1");

  for (const char* msg : {"one", "two", "three"}) {
    REQUIRE((*a)->SendTo(View(std::string(msg)), b->local()).ok());
  }
  loop.Schedule(2000ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  REQUIRE(at_b.size() == 3);
  CHECK(at_b[0].data == "one");
  CHECK(at_b[2].data == "three");
  CHECK(at_b[0].from == (*a)->local());
  REQUIRE(at_a.size() == 1);
  CHECK(at_a[0].data == "pong");
  CHECK(at_a[0].from == b->local());
}

TEST_CASE("EnableEspInUdp: the kernel takes ESP-in-UDP, IKE with the zero marker still arrives") {
  EventLoop loop;
  std::vector<std::string> got;
  auto natt = UdpSocket::Bind(loop, Loopback("127.0.0.1"), [&](ByteView d, const Endpoint&) {
    got.push_back(ToString(d));
    loop.Stop();
  });
  REQUIRE(natt.ok());
  REQUIRE((*natt)->EnableEspInUdp().ok());
  auto peer = UdpSocket::Bind(loop, Loopback("127.0.0.1"), nullptr);
  REQUIRE(peer.ok());
  // An ESP packet (a non-zero SPI first) is the kernel's now: it never
  // reaches the handler. IKE behind the non-ESP marker does, marker and all.
  REQUIRE((*peer)
              ->SendTo(View(std::string("\x12\x34\x56\x78"
                                        "esp-payload",
                                        15)),
                       (*natt)->local())
              .ok());
  REQUIRE((*peer)->SendTo(View(std::string("\0\0\0\0ike", 7)), (*natt)->local()).ok());
  loop.Schedule(2000ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == std::string("\0\0\0\0ike", 7));
}

TEST_CASE("A packet handler may destroy its own socket") {
  EventLoop loop;
  std::unique_ptr<UdpSocket> sock;
  int packets = 0;
  auto bound = UdpSocket::Bind(loop, Loopback("127.0.0.1"), [&](ByteView, const Endpoint&) {
    ++packets;
    sock.reset();
  });
  REQUIRE(bound.ok());
  sock = std::move(bound.value());
  auto sender = UdpSocket::Bind(loop, Loopback("127.0.0.1"), [](ByteView, const Endpoint&) {});
  REQUIRE(sender.ok());
  for (int i = 0; i < 3; ++i)
    REQUIRE((*sender)->SendTo(View(std::string("x")), sock->local()).ok());
  loop.Schedule(50ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  CHECK(packets == 1);
  CHECK(sock == nullptr);
}

// The daemons listen on :: (README), so a host without ::1 fails here, as
// "BindAny: IPv6" below does, rather than passing silently.
TEST_CASE("UDP on ::1") {
  EventLoop loop;
  std::string got;
  auto a = UdpSocket::Bind(loop, Loopback("::1"), [&](ByteView d, const Endpoint&) {
    got = ToString(d);
    loop.Stop();
  });
  INFO("binding ::1 (needs IPv6 on the loopback): " << (a.ok() ? std::string("ok")
                                                               : a.error().message));
  REQUIRE(a.ok());
  auto b = UdpSocket::Bind(loop, Loopback("::1"), [](ByteView, const Endpoint&) {});
  REQUIRE(b.ok());
  REQUIRE((*b)->SendTo(View(std::string("v6")), (*a)->local()).ok());
  loop.Schedule(2000ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  CHECK(got == "v6");
}

TEST_CASE("UDP errors name the endpoint") {
  EventLoop loop;
  auto bad = UdpSocket::Bind(loop, Endpoint{*IpAddress::Parse("192.0.2.1"), 0},
                             [](ByteView, const Endpoint&) {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "cannot bind UDP 192.0.2.1[0]: Cannot assign requested address");
  auto v4 = UdpSocket::Bind(loop, Loopback("127.0.0.1"), [](ByteView, const Endpoint&) {});
  REQUIRE(v4.ok());
  Status s = (*v4)->SendTo(View(std::string("x")), Endpoint{*IpAddress::Parse("::1"), 500});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.rfind("sendto ::1[500]: ", 0) == 0);
}

// One wildcard socket serves every local address: each datagram says which
// address it was sent to, and the answer leaves from that address.
void CheckAnyAddress(const char* first, const char* second) {
  EventLoop loop;
  std::vector<Endpoint> destinations;
  std::unique_ptr<UdpSocket> any;
  auto bound_any = UdpSocket::BindAny(
      loop, Loopback(first), [&](ByteView d, const Endpoint& from, const Endpoint& to) {
        destinations.push_back(to);
        REQUIRE(any->SendFrom(d, to.address, from).ok());  // echo from the address used
      });
  REQUIRE(bound_any.ok());
  any = std::move(bound_any.value());
  const uint16_t port = any->local().port;
  CHECK(port != 0);

  std::vector<Received> echoes;
  auto client = UdpSocket::Bind(loop, Loopback(first), [&](ByteView d, const Endpoint& from) {
    echoes.push_back({ToString(d), from});
    if (echoes.size() == 2) loop.Stop();
  });
  REQUIRE(client.ok());
  const Endpoint to_first{*IpAddress::Parse(first), port};
  const Endpoint to_second{*IpAddress::Parse(second), port};
  REQUIRE((*client)->SendTo(View(std::string("a")), to_first).ok());
  REQUIRE((*client)->SendTo(View(std::string("b")), to_second).ok());
  loop.Schedule(2000ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  REQUIRE(destinations.size() == 2);
  CHECK(destinations[0] == to_first);
  CHECK(destinations[1] == to_second);
  REQUIRE(echoes.size() == 2);
  CHECK(echoes[0].from == to_first);
  CHECK(echoes[1].from == to_second);  // not the socket's first address
}

TEST_CASE("BindAny: IPv4 wildcard tells the destination and answers from it") {
  CheckAnyAddress("127.0.0.1", "127.0.0.2");
}

TEST_CASE("BindAny: IPv6 wildcard tells the destination and answers from it") {
  CheckAnyAddress("::1", "::1");
}

TEST_CASE("SendFrom refuses a source of the other family") {
  EventLoop loop;
  auto any = UdpSocket::BindAny(loop, Loopback("127.0.0.1"),
                                [](ByteView, const Endpoint&, const Endpoint&) {});
  REQUIRE(any.ok());
  CHECK_FALSE((*any)
                  ->SendFrom(View(std::string("x")), *IpAddress::Parse("::1"),
                             Endpoint{*IpAddress::Parse("127.0.0.1"), 9})
                  .ok());
}

}  // namespace
// A port nothing listens on: one the kernel gave a socket that is gone.
Endpoint ClosedPort(EventLoop& loop) {
  auto gone = UdpSocket::Bind(loop, Loopback("127.0.0.1"), nullptr);
  REQUIRE(gone.ok());
  return (*gone)->local();
}

// Socket a, whose ICMP errors are collected, and a listening socket b;
// |closed| is a port nobody listens on (an ICMP port unreachable comes back).
struct IcmpLab {
  IcmpLab() {
    closed = ClosedPort(loop);
    auto bound_b =
        UdpSocket::Bind(loop, Loopback("127.0.0.1"),
                        [this](ByteView d, const Endpoint&) { got_at_b.push_back(ToString(d)); });
    REQUIRE(bound_b.ok());
    b = std::move(*bound_b);
    auto bound_a = UdpSocket::Bind(loop, Loopback("127.0.0.1"), nullptr);
    REQUIRE(bound_a.ok());
    a = std::move(*bound_a);
    a->OnError([this](const UdpError& e) { errors.push_back(e); });
  }
  EventLoop loop;
  Endpoint closed;
  std::vector<std::string> got_at_b;
  std::vector<UdpError> errors;
  std::unique_ptr<UdpSocket> b, a;
};

TEST_CASE("UdpSocket: an ICMP port unreachable reaches the error handler, sends go on") {
  IcmpLab lab;
  REQUIRE(lab.a->SendTo(View(std::string("anyone?")), lab.closed).ok());
  lab.loop.Schedule(300ms, [&] {
    // The ICMP error left on the socket must not fail (or swallow) this
    // send to another peer.
    CHECK(lab.a->SendTo(View(std::string("to b")), lab.b->local()).ok());
  });
  lab.loop.Schedule(800ms, [&] { lab.loop.Stop(); });
  REQUIRE(lab.loop.Run() == 0);
  REQUIRE(lab.errors.size() == 1);
  const UdpError& e = lab.errors[0];
  CHECK(e.kind == UdpError::Kind::kPortUnreachable);
  CHECK(e.to == lab.closed);
  REQUIRE(e.reporter);
  CHECK(e.reporter->ToString() == "127.0.0.1");
  CHECK(DescribeUdpError(e) == "ICMP port unreachable from 127.0.0.1");
  CHECK(lab.got_at_b == std::vector<std::string>{"to b"});
}

TEST_CASE("UdpSocket: an ICMP error whose sk_err a send took is still read from the queue") {
  IcmpLab lab;
  REQUIRE(lab.a->SendTo(View(std::string("anyone?")), lab.closed).ok());
  // This send meets the port unreachable first (and is sent again), so no
  // receive will report it: the error queue still must be read.
  REQUIRE(lab.a->SendTo(View(std::string("to b")), lab.b->local()).ok());
  lab.loop.Schedule(300ms, [&] { lab.loop.Stop(); });
  REQUIRE(lab.loop.Run() == 0);
  REQUIRE(lab.errors.size() == 1);
  CHECK(lab.errors[0].kind == UdpError::Kind::kPortUnreachable);
  CHECK(lab.errors[0].to == lab.closed);
}

TEST_CASE("UdpSocket: without an error handler the error queue is still read (no busy loop)") {
  EventLoop loop;
  const Endpoint closed = ClosedPort(loop);
  auto a = UdpSocket::Bind(loop, Loopback("127.0.0.1"), nullptr);
  REQUIRE(a.ok());
  for (int i = 0; i < 5; ++i) REQUIRE((*a)->SendTo(View(std::string("x")), closed).ok());
  // A socket left readable would make the loop spin on it for the whole
  // half second: a busy loop shows as CPU time, an idle one as almost none.
  const auto cpu_before = std::clock();
  loop.Schedule(500ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  const double cpu_ms = 1000.0 * double(std::clock() - cpu_before) / CLOCKS_PER_SEC;
  CHECK(cpu_ms < 50);  // idle: about 1 ms; spinning: hundreds
}

TEST_CASE("ClassifyIcmp: ICMP and ICMPv6 unreachable codes") {
  using K = UdpError::Kind;
  CHECK(ClassifyIcmp(false, 3, 3) == K::kPortUnreachable);
  CHECK(ClassifyIcmp(false, 3, 1) == K::kHostUnreachable);
  CHECK(ClassifyIcmp(false, 3, 0) == K::kNetUnreachable);
  CHECK(ClassifyIcmp(false, 3, 13) == K::kProhibited);
  CHECK(ClassifyIcmp(false, 3, 10) == K::kProhibited);
  CHECK_FALSE(ClassifyIcmp(false, 3, 4));   // fragmentation needed: path MTU
  CHECK_FALSE(ClassifyIcmp(false, 11, 0));  // time exceeded
  CHECK(ClassifyIcmp(true, 1, 4) == K::kPortUnreachable);
  CHECK(ClassifyIcmp(true, 1, 3) == K::kHostUnreachable);
  CHECK(ClassifyIcmp(true, 1, 1) == K::kProhibited);
  CHECK(ClassifyIcmp(true, 1, 0) == K::kNetUnreachable);
  CHECK_FALSE(ClassifyIcmp(true, 2, 0));  // packet too big
  UdpError e{K::kProhibited, Endpoint{*IpAddress::Parse("192.0.2.2"), 500},
             IpAddress::Parse("192.0.2.254"), 3, 13};
  CHECK(DescribeUdpError(e) == "ICMP administratively prohibited from 192.0.2.254");
}

}  // namespace ike
