#pragma once
/// The object that carries one call from the channel to a transport and back.
///
/// A call is created by the channel, handed to at most one transport connection, and
/// finished exactly once: by the transport (response or failure), by the channel
/// (deadline, fail-fast, close) or by the user (cancel). `finish()` makes the
/// "exactly one status" rule hold across those threads with a single atomic flag.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <achan/call_tracker.hpp>
#include <achan/request_stream.hpp>
#include <achan/status.hpp>

namespace achan {

namespace transport {
class connection;
}  // namespace transport

/// What a finished call reports to its owner.
struct call_result {
  achan::status status;
  std::string payload;  ///< serialized response message (empty unless OK)
  metadata trailers;    ///< response headers and trailers, in arrival order
  std::string peer;     ///< address of the subchannel that carried the call ("" if none)
  /// The server sent response headers before its trailers (false for a Trailers-Only
  /// answer and for calls that never reached a server). A retried call commits on it.
  bool headers_received = false;
  /// How many of the first entries of `trailers` came in the response headers (the
  /// rest came in the trailers); 0 for a Trailers-Only answer.
  std::size_t header_count = 0;
};

class call_credentials;

/// Per-call options. Unset fields take the channel's defaults.
struct call_options {
  std::optional<clock_duration> timeout;  ///< relative deadline; none = no deadline
  std::optional<bool> wait_for_ready;     ///< queue through TRANSIENT_FAILURE
  metadata md;                            ///< request metadata
  /// Credentials for this call, after the channel's (<achan/call_credentials.hpp>).
  std::shared_ptr<call_credentials> credentials;
  /// The call's request hash for hash-based policies (ring_hash): calls with the same
  /// hash go to the same backend while the address list is unchanged. Unset: the
  /// policy's own choice (ring_hash: its requestHashHeader, else a random hash).
  std::optional<std::uint64_t> request_hash;
  /// Runs once with the server's response headers (-bin values decoded), on a transport
  /// thread, when they arrive: before the first response message and before the
  /// completion. Not for a Trailers-Only answer (then the completion has everything). It
  /// must not block. With retries or hedging, only the attempt that answers calls it.
  /// A proxy forwards them as they come.
  std::function<void(const metadata& headers)> on_headers = {};  // (a default: no warning)
};

/// One call in flight. Shared by the channel (queue, deadline timer), the transport
/// connection that carries it and the user's handle; all of them may race to finish it.
class call;
using call_ptr = std::shared_ptr<call>;

class call {
 public:
  using completion = std::function<void(call_result&&)>;

  call(std::uint64_t id, std::string method, std::string payload, metadata md, time_point deadline,
       bool wait_for_ready, completion done, time_point start = {})
      : id_(id),
        start_(start),
        method_(std::move(method)),
        payload_(std::move(payload)),
        metadata_(std::move(md)),
        deadline_(deadline),
        wait_for_ready_(wait_for_ready),
        done_(std::move(done)) {}

  std::uint64_t id() const noexcept { return id_; }
  const std::string& method() const noexcept { return method_; }
  const std::string& payload() const noexcept { return payload_; }
  const metadata& request_metadata() const noexcept { return metadata_; }
  /// Absolute deadline; time_point::max() means none.
  time_point deadline() const noexcept { return deadline_; }
  bool wait_for_ready() const noexcept { return wait_for_ready_; }
  /// When the call was made (the channel clock).
  time_point start_time() const noexcept { return start_; }

  /// The service config's settings for this call (channel only, before the call
  /// reaches a transport): an earlier deadline, and wait_for_ready unless the caller
  /// chose it (`explicit_wait_for_ready`).
  void tighten_deadline(time_point d) noexcept {
    if (d < deadline_)
      deadline_ = d;
  }
  void set_default_wait_for_ready(bool w) noexcept {
    if (!explicit_wait_for_ready)
      wait_for_ready_ = w;
  }
  /// The caller set call_options::wait_for_ready (the service config does not override it).
  bool explicit_wait_for_ready = false;
  /// The service config was applied (channel only): it is applied once per call.
  bool config_applied = false;
  /// Largest response message accepted, if smaller than the connection's limit (the
  /// service config's maxResponseMessageBytes). Set before the call reaches a transport.
  std::size_t max_response_bytes = SIZE_MAX;
  /// Channel-private: the retry or hedging state of a call whose attempts are separate
  /// calls (the call itself never reaches a transport then). Written once before any
  /// attempt starts; read by the channel actor (cancel_call).
  std::weak_ptr<void> attempts;

  /// True once some party has finished the call.
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

  /// Client- and bidi-streaming calls: the request messages (payload() is then unused).
  /// Null for unary and server-streaming calls. Set before the call reaches a transport.
  std::shared_ptr<transport::request_stream> requests;

  /// Server- and bidi-streaming calls: receives each response message, in order, on the
  /// transport's thread. Set before the call reaches a transport; null for unary calls.
  std::function<void(std::string&&)> on_message;

  /// Receives the response headers (call_options::on_headers); null when nobody asked.
  /// Set before the call reaches a transport.
  std::function<void(const metadata&)> on_headers;

  /// Transport side: hands the response headers to on_headers unless the call already
  /// ended (ordered against messages and the end as deliver() is).
  void deliver_headers(const metadata& md) {
    if (!on_headers)
      return;
    std::lock_guard lk{deliver_mx_};
    if (!finished())
      on_headers(md);
  }

  /// Response flow control (stream_call::pause_responses): records the caller's wish
  /// and returns the connection carrying the call, to be told (null if none yet).
  std::shared_ptr<transport::connection> set_responses_paused(bool paused) {
    std::lock_guard lk{flow_mx_};
    responses_paused_.store(paused, std::memory_order_release);
    return flow_carrier_.lock();
  }
  /// Whether the caller wants the server held back now.
  bool responses_paused() const noexcept {
    return responses_paused_.load(std::memory_order_acquire);
  }
  /// Transport side: `conn` carries the call from now on and is told of later changes.
  void attach_flow(std::weak_ptr<transport::connection> conn) {
    std::lock_guard lk{flow_mx_};
    flow_carrier_ = std::move(conn);
  }

  /// True for calls whose responses stream (on_message is set).
  bool streams_responses() const noexcept { return static_cast<bool>(on_message); }

  /// Transport side: hands one response message to on_message unless the call already
  /// ended, so no message is delivered after the completion. on_message may itself end
  /// the call (e.g. cancel) without deadlock.
  void deliver(std::string&& msg) {
    std::lock_guard lk{deliver_mx_};
    if (!finished())
      on_message(std::move(msg));
  }

  /// Ends the call with `r` unless it already ended. Returns whether this caller won.
  /// The winner then runs, on its own thread and before returning, the `sent(false)`
  /// callbacks of request messages still queued and the completion: on a transport
  /// thread, the channel actor, or the thread that cancelled. So a caller must not
  /// hold a lock that those callbacks might take. For calls with on_message, finish()
  /// first waits for a message being delivered on another thread (it blocks until that
  /// on_message returns), and when on_message itself ends the call the completion runs
  /// inside deliver(), with the call's delivery lock held: neither may wait for another
  /// thread that delivers to or ends the same call.
  bool finish(call_result&& r) {
    if (streams_responses() || on_headers) {
      // Wait for a message (or the headers) being delivered on another thread: none
      // follows the end.
      std::lock_guard lk{deliver_mx_};
      if (finished_.exchange(true))
        return false;
    } else if (finished_.exchange(true)) {
      return false;
    }
    end_trackers(r.status, r.trailers, true);
    if (requests)
      requests->abandon();  // unsent request messages: their `sent` callbacks get false
    auto done = std::move(done_);
    if (done)
      done(std::move(r));
    return true;
  }

  /// Set by the channel before the call reaches a transport. A connection that finds
  /// it cannot send a call at all (not READY any more) calls `reroute(c)` instead of
  /// failing it: true means the channel took the call back for another pick (gRPC's
  /// transparent retry of calls that never reached the wire); false means fail it.
  std::function<bool(const call_ptr&)> reroute;

  /// The :authority to send (the target's host, or dial_options::authority); null or
  /// empty means the connection's address. Set by the channel before the call reaches
  /// a transport; shared so that setting it per call allocates nothing.
  std::shared_ptr<const std::string> authority;

  /// The connection the channel started this call on (to cancel its stream). Written
  /// once before the call reaches that connection: by the channel actor when it places
  /// the call, or by submit_call on the thread that starts the call when it takes the
  /// READY fast path. From then on only the channel actor reads and writes it
  /// (cancel_call, deadlines, reroutes, which reach it after that write).
  std::weak_ptr<transport::connection> carrier;
  /// Whether the channel armed its own deadline timer (only for calls that had to wait
  /// for a pick; connections enforce the deadline of the calls they carry). Channel
  /// actor only.
  bool queue_deadline_armed = false;

  /// Per-call credentials (call_options::credentials). Set before the call is started.
  std::shared_ptr<call_credentials> credentials;
  /// Channel actor only: the credentials were asked for (so a re-start does not ask
  /// again), and their answer is still awaited.
  bool credentials_applied = false;
  bool awaiting_credentials = false;
  /// Appends `md` to the request metadata: only while no transport has the call (the
  /// credentials' answer, before the call is started again).
  void add_metadata(metadata md) {
    for (auto& kv : md)
      metadata_.push_back(std::move(kv));
  }

  /// The request hash (call_options::request_hash). Set before the call is picked.
  std::optional<std::uint64_t> request_hash;

  /// Channel only, after a pick: attaches that pick's trackers (null entries are
  /// skipped), each to be ended once with this call's outcome. Trackers of an earlier
  /// pick still attached are ended first with `sent = false` (the call is being placed
  /// again). If the call already ended meanwhile, the new trackers are ended at once
  /// (`sent = false`). Safe against a concurrent finish(): each tracker ends once.
  void attach_trackers(call_tracker* const (&t)[2], time_point picked_at) {
    picked_at_.store(picked_at.time_since_epoch().count(), std::memory_order_relaxed);
    static const status repicked{status_code::unavailable, "picked again"};
    static const metadata none;
    for (std::size_t i = 0; i < 2; ++i) {
      if (!t[i])
        continue;
      t[i]->retain();
      if (auto* old = trackers_[i].exchange(t[i]))
        end_one(old, repicked, none, false);
    }
    if (finished())  // seq_cst against finish(): one of us sees the other
      end_trackers(repicked, none, false);
  }

  /// Convenience: finish with a non-OK status and no payload.
  bool fail(status_code code, std::string message, std::string peer = {}) {
    return finish(call_result{status{code, std::move(message)}, {}, {}, std::move(peer)});
  }

 private:
  std::uint64_t id_;
  time_point start_;
  std::string method_;
  std::string payload_;
  metadata metadata_;
  time_point deadline_;
  bool wait_for_ready_;
  completion done_;
  std::atomic<bool> finished_{false};
  std::atomic<call_tracker*> trackers_[2] = {nullptr, nullptr};
  std::atomic<time_point::rep> picked_at_{0};

  void end_one(call_tracker* t, const status& st, const metadata& md, bool sent) noexcept {
    t->on_call_end(call_outcome{
        st, md, time_point{clock_duration{picked_at_.load(std::memory_order_relaxed)}}, sent});
    t->release();
  }
  void end_trackers(const status& st, const metadata& md, bool sent) noexcept {
    for (auto& slot : trackers_)
      if (slot.load() != nullptr)  // seq_cst: see attach_trackers
        if (auto* t = slot.exchange(nullptr))
          end_one(t, st, md, sent);
  }

 public:
  ~call() {
    static const status dropped{status_code::cancelled, "call dropped before it ended"};
    static const metadata none;
    end_trackers(dropped, none, false);
  }

 private:
  // Orders message delivery against the end of a streaming call; recursive because
  // on_message may end the call itself. Unary calls never take it.
  std::recursive_mutex deliver_mx_;
  // Response flow control: the wish and where to send it (caller vs. transport thread).
  std::mutex flow_mx_;
  std::atomic<bool> responses_paused_{false};
  std::weak_ptr<transport::connection> flow_carrier_;
};

}  // namespace achan
