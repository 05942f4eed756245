#include "actors/support/scheduler_thread.hpp"

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace achan {
namespace {

/// Whether `sched` is a coordinator<Policy> one of whose workers is this thread. The
/// coordinator creates its workers while the actor system starts and keeps them until
/// it stops, so reading the list later needs no lock.
template <class Policy>
bool is_worker_of(caf::scheduler::abstract_coordinator& sched) {
  auto* c = dynamic_cast<caf::scheduler::coordinator<Policy>*>(&sched);
  if (c == nullptr)
    return false;
  auto me = std::this_thread::get_id();
  for (std::size_t i = 0; i < c->num_workers(); ++i)
    if (c->worker_by_id(i)->get_thread().get_id() == me)
      return true;
  return false;
}

}  // namespace

bool runs_actors_of(caf::actor_system& sys) {
  auto& sched = sys.scheduler();
  if (dynamic_cast<caf::scheduler::test_coordinator*>(&sched) != nullptr)
    return true;
  return is_worker_of<caf::policy::work_stealing>(sched) ||
         is_worker_of<caf::policy::work_sharing>(sched);
}

}  // namespace achan
