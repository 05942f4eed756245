#pragma once
/// The seam between the control plane (actors/) and a byte-moving transport.
///
/// The transport knows nothing of CAF. A subchannel asks a `transport` for a
/// `connection` to one address and receives lifecycle events through
/// `connection_events` (which the subchannel turns into actor messages). Calls are
/// started straight on a READY connection by the channel, so the per-call path never
/// goes through the subchannel actor. Two implementations: the simulated one in
/// transport/sim (scripted faults, virtual time) and the real HTTP/2 one.
#include <memory>
#include <string>

#include <achan/call.hpp>
#include <achan/status.hpp>

namespace achan::transport {

/// Lifecycle events of one connection attempt. Called on a transport thread, at most
/// one of on_ready/on_connect_failed, then at most one on_closed after on_ready.
/// Implementations must not block.
class connection_events {
 public:
  virtual ~connection_events() = default;
  /// The connection is established and can carry calls.
  virtual void on_ready() = 0;
  /// The attempt failed before READY (refused, handshake error). `why` is UNAVAILABLE.
  virtual void on_connect_failed(status why) = 0;
  /// An established connection stopped taking calls (peer closed, GOAWAY, keepalive
  /// timeout). Calls it already carries finish on their own (after a GOAWAY the ones
  /// the server accepted complete); the owner just drops it, no close() needed.
  virtual void on_closed(status why) = 0;
};

/// One connection to one address. All members are thread-safe.
class connection {
 public:
  virtual ~connection() = default;
  /// The address this connection was opened to, as the resolver reported it.
  virtual const std::string& address() const noexcept = 0;
  /// Carries `c` to the peer. The connection finishes `c` with the peer's status, or
  /// with UNAVAILABLE if it is lost first, or with DEADLINE_EXCEEDED (resetting the
  /// stream) when `c->deadline()` passes: connections enforce the deadlines of the
  /// calls they carry, on their own clock. If the connection is no longer READY when
  /// the call arrives (nothing was sent), it offers the call to `c->reroute` first.
  virtual void start_call(const call_ptr& c) = 0;
  /// Abandons a started call (RST_STREAM on HTTP/2). The caller has already finished
  /// `c`; the transport only releases what it holds for it.
  virtual void cancel_call(const call_ptr& c) = 0;
  /// Closes the connection (or abandons the attempt). Asynchronous: it returns at
  /// once; afterwards, on the transport's thread, the calls whose streams were sent end
  /// with UNAVAILABLE, and calls it had not sent yet (waiting for a stream slot, or
  /// started after the close) are offered to `c->reroute`, else fail UNAVAILABLE.
  /// Events not yet begun are suppressed, but one already being delivered on the
  /// transport's thread when close() is called (it passed its check first) still
  /// arrives, possibly after close() returns: owners must ignore a late event of a
  /// connection they closed (the subchannel tags events with the attempt and checks
  /// its own state).
  virtual void close() = 0;
  /// Closes gracefully, as gRPC's GracefulClose: the connection takes no new calls
  /// (calls not sent yet, or started after drain(), are offered to `c->reroute`, else
  /// fail UNAVAILABLE), the calls whose streams were sent finish as usual, then the
  /// connection closes. No event reaches the owner after drain() (as after close()).
  /// An attempt not READY yet is abandoned. The default closes at once.
  virtual void drain() { close(); }
  /// The caller of call `call_id` changed call::responses_paused() (response flow
  /// control): while paused, the transport grants the server no more flow-control
  /// window for that call's stream; on resume it grants it again. The default ignores
  /// it (a transport that does not pace responses).
  virtual void flow_changed(std::uint64_t /*call_id*/) {}
};

using connection_ptr = std::shared_ptr<connection>;

/// Opens connections. Thread-safe; `connect` never blocks.
class transport {
 public:
  virtual ~transport() = default;
  /// Starts connecting to `address` ("host:port", "[v6]:port" or "unix:/path");
  /// the outcome arrives through `events`.
  virtual connection_ptr connect(const std::string& address,
                                 std::shared_ptr<connection_events> events) = 0;
  /// Whether its connections are encrypted and authenticate the server (TLS): call
  /// credentials are sent only over those unless the channel allows otherwise.
  virtual bool secure() const noexcept { return false; }
};

using transport_ptr = std::shared_ptr<transport>;

}  // namespace achan::transport
