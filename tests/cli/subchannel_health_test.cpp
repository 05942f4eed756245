// Client-side health checking (gRFC A17) end to end: a subchannel over the real HTTP/2
// transport watching testkit/health_service on loopback (the virtual-time cases are in
// tests/actors/subchannel/health_check_test.cpp).
#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <achan/h2_transport.hpp>
#include "actors/subchannel/subchannel.hpp"
#include "testkit/health_service.hpp"
#include "tests/cli/loopback.hpp"

using namespace achan;
using namespace std::chrono_literals;
using testkit::serving_status;
using cs = connectivity_state;

namespace {

/// The updates a subchannel reports, handed from its balancer stand-in to the test thread.
struct update_queue {
  std::mutex mx;
  std::condition_variable cv;
  std::deque<subchannel_update> updates;

  /// The next update (fails the test if none arrives within 10 s).
  subchannel_update next() {
    std::unique_lock lk{mx};
    REQUIRE(cv.wait_for(lk, 10s, [&] { return !updates.empty(); }));
    auto u = std::move(updates.front());
    updates.pop_front();
    return u;
  }
};

subchannel_update_sink spawn_sink(caf::actor_system& sys, std::shared_ptr<update_queue> q) {
  auto fn = [](subchannel_update_sink::pointer,
               std::shared_ptr<update_queue> q) -> subchannel_update_sink::behavior_type {
    return {[q](subchannel_update& u) {
      std::lock_guard lk{q->mx};
      q->updates.push_back(std::move(u));
      q->cv.notify_all();
    }};
  };
  return sys.spawn(fn, std::move(q));
}

/// A subchannel to `address` with health checking of `service`, on a real actor system.
struct live_subchannel {
  test::dialer d;
  std::shared_ptr<update_queue> q = std::make_shared<update_queue>();
  subchannel_actor sc;

  live_subchannel(const std::string& address, std::optional<std::string> service) {
    sc = spawn_subchannel(*d.sys, {1,
                                   address,
                                   transport::make_h2_transport(),
                                   {},
                                   1,
                                   spawn_sink(*d.sys, q),
                                   std::move(service)});
    caf::anon_send(sc, subchannel_connect{});
  }
  ~live_subchannel() { caf::anon_send(sc, subchannel_shutdown{}); }
};

}  // namespace

TEST_CASE("health: a subchannel over HTTP/2 follows the server's Watch") {
  transport::h2_server server;
  auto health = testkit::health_service::add(server, {"svc.A"});
  auto address = test::listen_loopback(server);
  live_subchannel s{address, "svc.A"};
  CHECK(s.q->next().state == cs::connecting);
  auto ready = s.q->next();  // the first response: SERVING
  REQUIRE(ready.state == cs::ready);
  CHECK(ready.conn);
  CHECK(health->watchers() == 1);

  health->set_status("svc.A", serving_status::not_serving);
  auto down = s.q->next();
  CHECK(down.state == cs::transient_failure);
  CHECK(down.last_error.message ==
        "health check of service 'svc.A' on " + address + ": NOT_SERVING");
  health->set_status("svc.A", serving_status::serving);
  CHECK(s.q->next().state == cs::ready);

  caf::anon_send(s.sc, subchannel_health_check{"svc.Nope"});
  CHECK(s.q->next().state == cs::connecting);
  auto unknown = s.q->next();
  CHECK(unknown.state == cs::transient_failure);
  CHECK(unknown.last_error.message.ends_with(": SERVICE_UNKNOWN"));
  caf::anon_send(s.sc, subchannel_health_check{std::nullopt});
  CHECK(s.q->next().state == cs::ready);
}

TEST_CASE("health: a subchannel over HTTP/2 to a server without the health service is READY") {
  transport::h2_server server;  // no methods at all: Watch is UNIMPLEMENTED
  auto address = test::listen_loopback(server);
  live_subchannel s{address, ""};
  CHECK(s.q->next().state == cs::connecting);
  auto ready = s.q->next();
  REQUIRE(ready.state == cs::ready);
  CHECK(ready.conn);
  CHECK(ready.last_error.code == status_code::unimplemented);
  CHECK(ready.last_error.message == "health checking disabled: " + address +
                                        " does not implement grpc.health.v1.Health "
                                        "(UNIMPLEMENTED)");
}
