// The actor API for streaming calls (stream_request / stream_message / stream_write /
// stream_close / stream_cancel), over the simulated transport in virtual time. The
// simulated peer echoes each request message of a streaming call.
#include <doctest/doctest.h>

#include <algorithm>

#include <caf/event_based_actor.hpp>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// What a streaming actor saw: its sink messages and its final result, in order.
struct seen {
  std::vector<std::string> messages;
  std::vector<call_result> results;
  std::vector<std::string> order;  // "msg:<payload>" / "result"
};

/// Requests `req` (as its own sink), then runs `after` (writes etc.); records everything.
void streamer(caf::event_based_actor* self, channel_actor chan, stream_request req,
              std::function<void(caf::event_based_actor*, channel_actor)> after,
              std::shared_ptr<seen> out) {
  req.sink = caf::actor{self};
  self->request(chan, caf::infinite, std::move(req)).then([out](const call_result& r) {
    out->results.push_back(r);
    out->order.push_back("result");
  });
  if (after)
    after(self, chan);
  self->become(
      [out](stream_message& m) {
        out->messages.push_back(m.payload);
        out->order.push_back("msg:" + m.payload);
      },
      [out](stream_sent& s) {
        out->order.push_back("sent:" + std::to_string(s.id) + (s.ok ? ":ok" : ":dropped"));
      });
}

struct stream_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  channel ch = make();

  channel make() {
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    o.seed = 1;
    auto c = achan::dial(sys, "manual:///backends", o);
    REQUIRE(c);
    resolver->update({"10.0.0.1:1"});
    return *c;
  }
};

}  // namespace

TEST_CASE("actor stream: every response reaches the sink in order before the call_result") {
  stream_fixture f;
  auto out = std::make_shared<seen>();
  f.sys.spawn(streamer, f.ch.actor(), stream_request{7, "/echo.Echo/Bidi", {"a", "b", "c"}},
              nullptr, out);
  f.run();
  CHECK(out->order == std::vector<std::string>{"msg:a", "msg:b", "msg:c", "result"});
  REQUIRE(out->results.size() == 1);
  CHECK(out->results[0].status.ok());
  CHECK(out->results[0].payload.empty());
}

TEST_CASE("actor stream: an open stream takes stream_write messages until stream_close") {
  stream_fixture f;
  auto out = std::make_shared<seen>();
  stream_request req{1, "/echo.Echo/Bidi", {"first"}};
  req.half_close = false;
  f.sys.spawn(
      streamer, f.ch.actor(), req,
      [](caf::event_based_actor* self, channel_actor chan) {
        self->send(chan, stream_write{1, "second"});
        self->send(chan, stream_write{1, "third"});
        self->send(chan, stream_close{1});
        self->send(chan, stream_write{1, "after close"});  // ignored
      },
      out);
  f.run();
  CHECK(out->messages == std::vector<std::string>{"first", "second", "third"});
  REQUIRE(out->results.size() == 1);
  CHECK(out->results[0].status.ok());
}

TEST_CASE("actor stream: stream_cancel ends an open stream with CANCELLED") {
  stream_fixture f;
  auto out = std::make_shared<seen>();
  stream_request req{3, "/echo.Echo/Bidi", {}};
  req.half_close = false;
  f.sys.spawn(
      streamer, f.ch.actor(), req,
      [](caf::event_based_actor* self, channel_actor chan) { self->send(chan, stream_cancel{3}); },
      out);
  f.run();
  REQUIRE(out->results.size() == 1);
  CHECK(out->results[0].status.code == status_code::cancelled);
  CHECK(f.sim->stats("10.0.0.1:1").cancels + f.sim->stats("10.0.0.1:1").calls <= 1);
}

TEST_CASE("actor stream: reusing the id of a stream still open gives INVALID_ARGUMENT") {
  stream_fixture f;
  auto out = std::make_shared<seen>();
  stream_request req{5, "/echo.Echo/Bidi", {}};
  req.half_close = false;
  f.sys.spawn(
      streamer, f.ch.actor(), req,
      [req, out](caf::event_based_actor* self, channel_actor chan) mutable {
        self->request(chan, caf::infinite, req).then([out](const call_result& r) {
          CHECK(r.status.code == status_code::invalid_argument);
          out->order.push_back("duplicate refused");
        });
        self->send(chan, stream_close{5});
      },
      out);
  f.run();
  // The second request is refused at once; the first stream, closed by stream_close,
  // ends OK.
  CHECK(out->order == std::vector<std::string>{"duplicate refused", "result"});
  REQUIRE(out->results.size() == 1);
  CHECK(out->results[0].status.ok());
}

TEST_CASE("actor stream: stream_write with notify answers exactly one stream_sent per write") {
  stream_fixture f;
  auto out = std::make_shared<seen>();
  stream_request req{9, "/echo.Echo/Client", {}};
  req.half_close = false;
  f.sys.spawn(
      streamer, f.ch.actor(), req,
      [](caf::event_based_actor* self, channel_actor chan) {
        self->send(chan, stream_write{9, "a", true});
        self->send(chan, stream_write{9, "b"});  // no notify: no stream_sent
        self->send(chan, stream_write{9, "c", true});
        self->send(chan, stream_close{9});
        self->send(chan, stream_write{9, "late", true});    // closed: dropped
        self->send(chan, stream_write{4, "nobody", true});  // no such stream: dropped
      },
      out);
  f.run();
  std::vector<std::string> sent;
  for (auto& o : out->order)
    if (o.rfind("sent:", 0) == 0)
      sent.push_back(o);
  // The dropped ones are answered by the channel at once, the others once the simulated
  // peer took them.
  std::sort(sent.begin(), sent.end());
  CHECK(sent ==
        std::vector<std::string>{"sent:4:dropped", "sent:9:dropped", "sent:9:ok", "sent:9:ok"});
  REQUIRE(out->results.size() == 1);
  CHECK(out->results[0].status.ok());
  CHECK(out->messages == std::vector<std::string>{"a", "b", "c"});  // echoed by the peer
}
