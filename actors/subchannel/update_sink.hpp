#pragma once
/// subchannel_update (achan/policy.hpp) as a message: where a subchannel reports its state
/// changes. Shared by the subchannel and the balancer that receives them.
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include <achan/policy.hpp>

namespace achan {

/// Where a subchannel reports its state changes (the balancer).
using subchannel_update_sink = caf::typed_actor<caf::reacts_to<subchannel_update>>;

}  // namespace achan

// Carries a connection pointer: never leaves the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_update)
