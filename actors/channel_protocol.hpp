#pragma once
/// The channel actor's messages that are private to the library: what the channel's
/// handles (channel.cpp, the fast path) and its balancer send it, and the full handle
/// they hold (`channel_control`). Users see only `channel_actor` (<achan/protocol.hpp>);
/// timers the actor sends itself stay in channel_actor.cpp.
#include <cstdint>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include <achan/answer_once.hpp>
#include <achan/call.hpp>
#include <achan/connectivity.hpp>
#include <achan/picker.hpp>
#include <achan/protocol.hpp>
#include <achan/service_config.hpp>

namespace achan {

/// Balancer → channel: the aggregate state and the picker to use from now on.
struct picker_update {
  connectivity_state state = connectivity_state::idle;
  picker_ptr picker;
};

/// User → channel: start this call (the call already carries its completion). The
/// handler takes `c`; if no copy of the message is handled (the channel actor has stopped
/// after close()), the last copy to go ends the call with CANCELLED, so no call is ever
/// lost and none is ended while the channel serves it.
struct start_call {
  answer_once<call_ptr> c;
  start_call() = default;
  explicit start_call(call_ptr x)
      : c(std::move(x), [](call_ptr& dropped) {
          if (dropped)
            dropped->fail(status_code::cancelled, "channel closed");
        }) {}
};
/// Transport → channel: `c` never reached its connection's peer; pick again. Handled
/// like start_call; dropped unhandled, it ends the call with UNAVAILABLE.
struct reroute_call {
  answer_once<call_ptr> c;
  reroute_call() = default;
  explicit reroute_call(call_ptr x)
      : c(std::move(x), [](call_ptr& dropped) {
          if (dropped)
            dropped->fail(status_code::unavailable, "channel closed while re-picking the call");
        }) {}
};
/// User → channel: `c` was cancelled by its owner; release its stream.
struct cancel_call {
  call_ptr c;
};
/// Call completion → channel: deliver the response promise `id` (actor users).
struct deliver_result {
  std::uint64_t id = 0;
  call_result result;
};
/// User → channel: leave IDLE now.
struct channel_connect {};
/// User → channel: shut down; pending calls end with CANCELLED, in-flight ones with
/// UNAVAILABLE when their connections close.
struct channel_close {};
/// Balancer → channel: the service config to apply to new calls from now on (null: none).
/// Sent with the first good resolver update and whenever the config changes, always
/// before the picker built from that update.
struct config_update {
  service_config_ptr config;
};
/// Where the balancer sends its pickers and service configs.
using picker_sink = caf::typed_actor<caf::reacts_to<picker_update>, caf::reacts_to<config_update>>;

struct attempt_set;
/// Attempt completion → channel: attempt `n` of a retried or hedged call failed with a
/// retryable (non-fatal) status before it committed; the channel decides what follows.
struct attempt_failed {
  std::shared_ptr<attempt_set> set;
  int n = 0;
  call_result result;
};
/// Fast path → channel: the first attempt of a hedged call went out on the caller's
/// thread; arm its hedge timer. Sent before that attempt starts, so it arrives before
/// anything the attempt reports.
struct arm_hedge {
  std::shared_ptr<attempt_set> set;
};
/// Attempt → channel: attempt `n` committed (it won); cancel the others.
struct attempts_committed {
  std::shared_ptr<attempt_set> set;
  int n = 0;
};

/// The channel actor as the library's own code sees it: the user interface plus the
/// messages above.
using channel_control = channel_actor::extend<
    caf::reacts_to<start_call>, caf::reacts_to<reroute_call>, caf::reacts_to<cancel_call>,
    caf::reacts_to<deliver_result>, caf::reacts_to<picker_update>, caf::reacts_to<config_update>,
    caf::reacts_to<attempt_failed>, caf::reacts_to<attempts_committed>, caf::reacts_to<arm_hedge>,
    caf::reacts_to<channel_connect>, caf::reacts_to<channel_close>>;

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::picker_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::start_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::reroute_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::cancel_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::deliver_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::channel_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::channel_close)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::config_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::attempt_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::attempts_committed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::arm_hedge)
