// achan from inside a CAF actor: a call is a request to the channel's actor, the
// reply a call_result message. Uses the simulated transport with one backend that
// answers after 1 ms; prints the reply and exits 0 if the call succeeded.
#include <cstdio>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/simulated_transport.hpp>

using namespace std::chrono_literals;

namespace {

// The actor owns a channel handle: a channel lives as long as someone holds one.
// (Arguments are passed to spawn rather than captured: CAF 0.17 mishandles
// function actors spawned without arguments.)
void client(caf::event_based_actor* self, achan::channel ch, std::shared_ptr<bool> ok) {
  achan::call_request req{"/echo.Echo/Unary", "hello from an actor", {.timeout = 2s}};
  self->request(ch.actor(), caf::infinite, std::move(req))
      .then([=](const achan::call_result& r) mutable {
        std::printf("reply from %s: %s \"%s\"\n", r.peer.c_str(), r.status.to_string().c_str(),
                    r.payload.c_str());
        *ok = r.status.ok() && r.payload == "hello from an actor";
        ch.close();  // done: lets the actor system shut down
      });
}

}  // namespace

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ok = std::make_shared<bool>(false);
  {
    auto sim =
        std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
    sim->set_behavior("10.1.2.3:443", {.latency = 1ms});
    achan::dial_options opts;
    opts.transport = sim;
    auto ch = achan::dial(sys, "10.1.2.3", opts);  // bare host: dns scheme, port 443
    if (!ch) {
      std::fprintf(stderr, "%s\n", achan::to_string_with_message(ch.error()).c_str());
      return 1;
    }
    sys.spawn(client, *ch, ok);
  }  // our handles go; the client actor keeps the channel until it has its reply
  sys.await_all_actors_done();
  return *ok ? 0 : 1;
}
