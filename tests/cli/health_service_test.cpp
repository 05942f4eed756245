// testkit/health_service: grpc.health.v1 Check and Watch on achan's server, called through
// achan's channel over loopback.
#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "proto/health.pb.h"
#include "testkit/health_service.hpp"
#include "tests/cli/loopback.hpp"

using namespace achan;
using namespace std::chrono_literals;
using testkit::serving_status;
namespace hpb = grpc::health::v1;

namespace {

const std::string check = "/grpc.health.v1.Health/Check";
const std::string watch = "/grpc.health.v1.Health/Watch";

std::string request(const std::string& service) {
  hpb::HealthCheckRequest r;
  r.set_service(service);
  return r.SerializeAsString();
}

std::optional<serving_status> decode(const std::string& bytes) {
  hpb::HealthCheckResponse r;
  if (!r.ParseFromString(bytes))
    return std::nullopt;
  return static_cast<serving_status>(r.status());
}

/// A server with the health service for "svc.A" on loopback, and a channel to it.
struct health_fixture {
  transport::h2_server server;
  std::shared_ptr<testkit::health_service> health = testkit::health_service::add(server, {"svc.A"});
  std::string address = test::listen_loopback(server);
  test::dialer d;
  channel ch = d.dial(address);

  call_result call_check(const std::string& service) {
    return ch.call(check, request(service), test::within(5s)).get();
  }
};

/// One Watch call: its messages and its end, waited for with a bound.
class watch_call {
 public:
  watch_call(channel& ch, const std::string& service) {
    handle_ = ch.server_stream(
        watch, request(service), test::within(30s),
        [this](std::string&& m) {
          std::lock_guard lk{mx_};
          messages_.push_back(decode(m));
          cv_.notify_all();
        },
        [this](call_result&& r) { end_.set_value(std::move(r)); });
  }
  ~watch_call() { handle_.cancel(); }

  /// The next status (nullopt: none within 5 s, or one that did not parse).
  std::optional<serving_status> next() {
    std::unique_lock lk{mx_};
    if (!cv_.wait_for(lk, 5s, [&] { return !messages_.empty(); }))
      return std::nullopt;
    auto m = messages_.front();
    messages_.pop_front();
    return m;
  }
  /// How the call ended (fails the test if it did not within 5 s).
  call_result end() {
    REQUIRE(ended_.wait_for(5s) == std::future_status::ready);
    return ended_.get();
  }
  void cancel() { handle_.cancel(); }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<std::optional<serving_status>> messages_;
  std::promise<call_result> end_;
  std::future<call_result> ended_ = end_.get_future();
  call_handle handle_;
};

/// Waits (bounded) until `pred` holds. Only for server-side bookkeeping no event reports.
template <class Pred>
bool eventually(Pred pred) {
  for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(2ms))
    if (pred())
      return true;
  return pred();
}

}  // namespace

TEST_CASE("health: Check answers SERVING for the server and its services and NOT_FOUND otherwise") {
  health_fixture f;
  for (const char* service : {"", "svc.A"}) {
    CAPTURE(service);
    auto r = f.call_check(service);
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    CHECK(decode(r.payload) == serving_status::serving);
  }
  auto unknown = f.call_check("svc.Nope");
  CHECK(unknown.status.code == status_code::not_found);
  CHECK(unknown.status.message == "unknown service 'svc.Nope'");

  f.health->set_status("svc.A", serving_status::not_serving);
  f.health->set_status("svc.B", serving_status::serving);
  CHECK(decode(f.call_check("svc.A").payload) == serving_status::not_serving);
  CHECK(decode(f.call_check("svc.B").payload) == serving_status::serving);
  CHECK(f.health->status("svc.B") == serving_status::serving);
  CHECK(f.health->status("svc.C") == std::nullopt);
}

TEST_CASE("health: Watch sends the current status then each change until the client cancels") {
  health_fixture f;
  watch_call w{f.ch, "svc.A"};
  CHECK(w.next() == serving_status::serving);
  CHECK(f.health->watchers() == 1);

  f.health->set_status("svc.A", serving_status::not_serving);
  CHECK(w.next() == serving_status::not_serving);
  f.health->set_status("svc.A", serving_status::not_serving);      // no change: nothing sent
  f.health->set_status("svc.Other", serving_status::not_serving);  // another service
  f.health->set_status("svc.A", serving_status::serving);
  CHECK(w.next() == serving_status::serving);  // not a repeated NOT_SERVING

  w.cancel();
  CHECK(w.end().status.code == status_code::cancelled);
  CHECK(eventually([&] { return f.health->watchers() == 0; }));
}

TEST_CASE("health: Watch of an unknown service gets SERVICE_UNKNOWN then its status once set") {
  health_fixture f;
  watch_call w{f.ch, "svc.Later"};
  CHECK(w.next() == serving_status::service_unknown);
  f.health->set_status("svc.Later", serving_status::serving);
  CHECK(w.next() == serving_status::serving);
}

TEST_CASE("health: shutdown sends NOT_SERVING and ends Watch streams with UNAVAILABLE") {
  health_fixture f;
  watch_call whole{f.ch, ""};
  watch_call a{f.ch, "svc.A"};
  CHECK(whole.next() == serving_status::serving);
  CHECK(a.next() == serving_status::serving);

  f.health->shutdown();
  CHECK(whole.next() == serving_status::not_serving);
  CHECK(a.next() == serving_status::not_serving);
  auto end = a.end();
  CHECK(end.status.code == status_code::unavailable);
  CHECK(end.status.message == "server shutting down");
  CHECK(whole.end().status.code == status_code::unavailable);

  f.health->set_status("svc.A", serving_status::serving);  // ignored from now on
  CHECK(f.health->status("svc.A") == serving_status::not_serving);
  watch_call late{f.ch, "svc.A"};
  CHECK(late.end().status.code == status_code::unavailable);
}

TEST_CASE("health: set_all changes every known service and tells their watchers") {
  health_fixture f;
  watch_call whole{f.ch, ""};
  watch_call a{f.ch, "svc.A"};
  CHECK(whole.next() == serving_status::serving);
  CHECK(a.next() == serving_status::serving);

  f.health->set_all(serving_status::not_serving);
  CHECK(whole.next() == serving_status::not_serving);
  CHECK(a.next() == serving_status::not_serving);
  CHECK(decode(f.call_check("").payload) == serving_status::not_serving);
  CHECK(decode(f.call_check("svc.A").payload) == serving_status::not_serving);
  f.health->set_all(serving_status::not_serving);  // no change: nothing sent
  f.health->set_all(serving_status::serving);
  CHECK(whole.next() == serving_status::serving);  // not a repeated NOT_SERVING
  CHECK(a.next() == serving_status::serving);
}
