#pragma once
/// One subchannel's client-side health check (gRFC A17): the service it watches, the
/// grpc.health.v1.Health/Watch call open on its READY connection, and the backoff between
/// Watches. Owned by the subchannel actor (its state), used only on that actor; the call's
/// callbacks run on the transport's threads and only hand events to a sink (which sends
/// them to the actor). What the events mean is decided by core/subchannel/health_check.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

#include <achan/backoff.hpp>
#include <achan/call.hpp>
#include <achan/transport.hpp>

namespace achan {

/// Connection → subchannel: what Watch `generation`, opened on the connection of attempt
/// `attempt`, heard: one response message, or (no message) its end with `end`.
struct health_event {
  std::uint64_t attempt = 0;
  std::uint64_t generation = 0;
  std::optional<std::string> message;  ///< a serialized HealthCheckResponse
  status end;                          ///< the call's final status, when !message
};

/// Subchannel → itself: the backoff after Watch `generation` of attempt `attempt` ended is
/// over; `report` is the TRANSIENT_FAILURE reason still to report before the next Watch
/// (set when the end was not reported at once: health_verdict::action::retry_quietly).
struct health_retry {
  std::uint64_t attempt = 0;
  std::uint64_t generation = 0;
  std::optional<status> report;
};

/// The health check of one subchannel. Not thread-safe: the subchannel actor's alone.
class health_watch {
 public:
  /// Receives the events of open Watches, on the transport's thread (must not block).
  using sink = std::function<void(health_event&&)>;

  /// `service` as in subchannel_config::health_check_service; the backoff between
  /// Watches uses `p` (the subchannel's parameters) and its own `seed`.
  health_watch(std::optional<std::string> service, backoff_params p, std::uint64_t seed);

  /// The service to watch ("" = the whole server), or none: no health checking.
  const std::optional<std::string>& service() const noexcept { return service_; }
  /// Whether a service is set (health checking is on).
  bool enabled() const noexcept { return service_.has_value(); }
  /// Sets the service; returns whether it changed. Does not touch an open Watch.
  bool set_service(std::optional<std::string> service);

  /// Opens a Watch of service() (precondition: enabled()) on `conn`, the connection of
  /// attempt `attempt`, cancelling any open one; its events go to `out` tagged with
  /// `attempt` and a new generation. Fresh connections start with a reset backoff
  /// (`fresh`); retries on the same connection keep it.
  void open(const transport::connection_ptr& conn, std::uint64_t attempt, const sink& out,
            bool fresh);

  /// Cancels the open Watch, if any (CANCELLED, then the connection releases its stream);
  /// from now on its events and the retry timer armed for it are stale. Call it before
  /// the connection is closed or dropped, and when the service changes.
  void cancel();

  /// Whether an event or timer of Watch `generation` of attempt `attempt` is current.
  bool is_current(std::uint64_t attempt, std::uint64_t generation) const noexcept {
    return attempt == attempt_ && generation == generation_;
  }
  /// The generation of the last Watch opened (or cancelled).
  std::uint64_t generation() const noexcept { return generation_; }

  /// A response arrived: the next retry waits the initial delay again.
  void on_response() { backoff_.reset(); }
  /// The current Watch ended (its call is finished): forgets it.
  void on_end();
  /// How long to wait before opening the next Watch after one ended (the backoff's next
  /// delay: the initial one after a response or a fresh open).
  clock_duration next_retry_delay();

 private:
  std::optional<std::string> service_;
  achan::backoff backoff_;
  call_ptr call_;                   // the open Watch; null when none
  transport::connection_ptr conn_;  // the connection carrying call_
  std::uint64_t attempt_ = 0;
  std::uint64_t generation_ = 0;
  std::uint64_t next_id_ = 0;  // call ids: (1 << 63) | next_id_, apart from the channel's
};

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::health_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::health_retry)
