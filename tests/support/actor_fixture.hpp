#pragma once
/// A deterministic actor system for control-plane tests: CAF's test coordinator, a
/// simulated transport on the same virtual clock, and helpers that run the system
/// until it is quiet and move time forward one timer at a time. No sleeps.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <achan/actor_executor.hpp>
#include <achan/errors.hpp>
#include <achan/simulated_transport.hpp>

namespace achan::test {

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    achan::add_error_category(*this);
  }
};

/// Owns the system; destroy it last (members are declared in that order).
struct actor_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<transport::simulated_transport> sim =
      std::make_shared<transport::simulated_transport>(make_actor_executor(sys));

  actor_fixture() {
    // Nothing runs actors after the test body: do not wait for them on shutdown.
    sys.await_actors_before_shutdown(false);
  }
  ~actor_fixture() {
    sim.reset();
    run();
  }

  caf::detail::test_actor_clock& clock() { return sched.clock(); }
  time_point now() { return clock().now(); }

  /// Runs every enqueued message and every timer that is due now, until quiet.
  void run() {
    for (;;) {
      sched.run();
      auto& sch = clock().schedule();
      if (sch.empty() || sch.begin()->first > clock().now())
        return;
      clock().trigger_timeout();
    }
  }

  /// Moves virtual time forward by `d`, firing each timer at its own time (a timer set
  /// by another timer's handler fires too if it falls within `d`).
  void advance(clock_duration d) {
    auto until = clock().now() + d;
    run();
    for (;;) {
      auto& sch = clock().schedule();
      if (sch.empty() || sch.begin()->first > until)
        break;
      clock().trigger_timeout();  // sets the clock to that timer's time
      run();
    }
    if (clock().current_time < until)
      clock().current_time = until;
    run();
  }
};

}  // namespace achan::test
