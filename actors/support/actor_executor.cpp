#include <achan/actor_executor.hpp>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace achan {
namespace {
struct run_fn {
  std::function<void()> fn;
};
}  // namespace
}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::run_fn)

namespace achan {
namespace {

using runner_actor = caf::typed_actor<caf::reacts_to<run_fn>>;

// Takes an (unused) argument: CAF 0.17 dereferences a null argument tuple when a
// function actor is spawned without arguments (UBSan reports it).
runner_actor::behavior_type runner(runner_actor::pointer, int) {
  return {[](run_fn& r) { r.fn(); }};
}

class actor_executor final : public transport::executor {
 public:
  explicit actor_executor(caf::actor_system& sys) : sys_(sys), runner_(sys.spawn(runner, 0)) {}
  ~actor_executor() override { caf::anon_send_exit(runner_, caf::exit_reason::user_shutdown); }

  time_point now() const noexcept override { return sys_.clock().now(); }

  void post(clock_duration delay, std::function<void()> fn) override {
    if (delay <= clock_duration::zero())
      caf::anon_send(runner_, run_fn{std::move(fn)});
    else
      caf::delayed_anon_send(runner_, delay, run_fn{std::move(fn)});
  }

 private:
  caf::actor_system& sys_;
  runner_actor runner_;
};

}  // namespace

transport::executor_ptr make_actor_executor(caf::actor_system& sys) {
  return std::make_shared<actor_executor>(sys);
}

}  // namespace achan
