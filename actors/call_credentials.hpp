#pragma once
/// The channel actor's side of call credentials: asking the providers for a call's
/// metadata and starting the call again with it.
#include <achan/call_credentials.hpp>
#include "actors/channel_protocol.hpp"
#include "actors/fast_path.hpp"

namespace achan {

/// Whether `c` still needs its credentials asked for (channel actor only).
inline bool needs_credentials(const channel_shared& shared, const call& c) {
  return !c.credentials_applied && (shared.credentials || c.credentials);
}

/// Asks the channel's credentials, then the call's own, for `c`'s metadata, one after
/// the other; with all of it added, sends `me` start_call{c}. A provider's error (or
/// exception, or invalid metadata) ends the call instead; so does a plaintext channel
/// that may not carry credentials (UNAUTHENTICATED). A call that ended meanwhile
/// (deadline, cancel) is dropped. Marks `c` credentials_applied/awaiting_credentials.
void fetch_credentials(const channel_shared& shared, const channel_control& me, const call_ptr& c);

}  // namespace achan
