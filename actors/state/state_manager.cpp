#include "actors/state/state_manager.hpp"

#include <caf/actor_cast.hpp>

#include <map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace achan {

/// State manager → itself: waiter `id` timed out.
struct waiter_timeout {
  std::uint64_t id = 0;
};
/// The state manager with the timeouts it sends itself.
using state_manager_impl = state_manager_actor::extend<caf::reacts_to<waiter_timeout>>;

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::waiter_timeout)

namespace achan {
namespace {

struct waiter {
  connectivity_state from;
  std::function<void(bool)> done;
};

struct manager_state {
  std::shared_ptr<std::atomic<connectivity_state>> mirror;
  connectivity_state current = connectivity_state::idle;
  std::uint64_t next_waiter = 0;
  std::map<std::uint64_t, waiter> waiters;
  std::vector<std::function<void(const state_change&)>> subscribers;
  static inline const char* name = "achan.state_manager";
};

state_manager_impl::behavior_type manager(state_manager_impl::stateful_pointer<manager_state> self,
                                          std::shared_ptr<std::atomic<connectivity_state>> mirror) {
  self->state.mirror = std::move(mirror);
  return {
      [=](set_state s) {
        auto& st = self->state;
        if (st.current == connectivity_state::shutdown || s.state == st.current)
          return;  // SHUTDOWN is final; repeats are not changes
        state_change change{st.current, s.state};
        st.current = s.state;
        st.mirror->store(s.state, std::memory_order_release);
        for (auto& fn : st.subscribers)
          fn(change);
        auto waiters = std::move(st.waiters);
        st.waiters.clear();
        for (auto& [id, w] : waiters) {
          if (w.from != s.state)
            w.done(true);
          else
            st.waiters.emplace(id, std::move(w));
        }
        if (s.state == connectivity_state::shutdown) {
          // Final: nothing is reported after SHUTDOWN. Stopping frees the actor system
          // from waiting on this actor; late requests are answered by their destructors.
          st.subscribers.clear();
          for (auto& [id, w] : st.waiters)
            w.done(false);
          st.waiters.clear();
          self->quit();
        }
      },
      [=](get_state) { return self->state.current; },
      [=](wait_for_change& w) {
        auto& st = self->state;
        auto taken = w.done.take();
        if (!taken || !*taken)
          return;  // a copy of this message was handled already
        auto done = std::move(*taken);
        if (st.current != w.from) {
          done(true);
          return;
        }
        auto id = st.next_waiter++;
        if (w.deadline != time_point::max()) {
          auto now = self->clock().now();
          self->delayed_send(self, w.deadline > now ? w.deadline - now : clock_duration::zero(),
                             waiter_timeout{id});
        }
        st.waiters.emplace(id, waiter{w.from, std::move(done)});
      },
      [=](waiter_timeout t) {
        auto i = self->state.waiters.find(t.id);
        if (i == self->state.waiters.end())
          return;
        auto done = std::move(i->second.done);
        self->state.waiters.erase(i);
        done(false);
      },
      [=](subscribe& s) {
        auto& st = self->state;
        auto taken = s.fn.take();
        if (!taken || !*taken)
          return;  // a copy of this message was handled already
        auto fn = std::move(*taken);
        fn(state_change{st.current, st.current});
        st.subscribers.push_back(std::move(fn));
      },
  };
}

}  // namespace

state_manager_actor spawn_state_manager(caf::actor_system& sys,
                                        std::shared_ptr<std::atomic<connectivity_state>> mirror) {
  return caf::actor_cast<state_manager_actor>(sys.spawn(manager, std::move(mirror)));
}

}  // namespace achan
