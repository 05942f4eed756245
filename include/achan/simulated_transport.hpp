#pragma once
/// An in-memory transport whose per-address behaviour a test scripts: refuse, accept
/// after a delay, hang, drop an established connection (now, or each one a while
/// after READY), answer calls with a chosen status, payload or latency, hold server
/// streams open and say what the test tells them (push, end_streams). Everything it
/// does runs on one `executor`, so with the actor executor under CAF's test
/// coordinator it runs on the same virtual clock as the actors and needs no lock.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <achan/executor.hpp>
#include <achan/transport.hpp>

namespace achan::transport {

/// How the simulated peer at one address behaves. Read when an attempt or call starts.
struct sim_behavior {
  enum class connect_mode : std::uint8_t { accept, refuse, hang };
  connect_mode connect = connect_mode::accept;
  clock_duration connect_delay{};  ///< accept or refuse this long after connect()
  bool answer_calls = true;        ///< false: calls never end on their own
  clock_duration latency{};        ///< time from start_call to the reply
  status reply;                    ///< status of replies; OK replies echo the request
  /// Server-streaming calls: this many echo messages, one per `latency`, then `reply`.
  std::size_t stream_replies = 3;
  /// Optional: builds the reply instead (status, payload); `peer` is filled in.
  std::function<call_result(const call&)> responder;
  /// Set: every connection is dropped this long after it became READY (its calls end
  /// with UNAVAILABLE, its owner gets on_closed), like a server that sends its SETTINGS
  /// and then closes the connection.
  std::optional<clock_duration> drop_after;
  /// Server-streaming calls to these methods (e.g. "/grpc.health.v1.Health/Watch") are
  /// held open: no messages and no status of their own; the test scripts them with
  /// simulated_transport::push and end_streams. Ignored when answer_calls is false.
  std::vector<std::string> held_methods;
  /// Optional: each unary call's latency, drawn as the call starts (replaces `latency`
  /// for unary calls), e.g. from a seeded distribution.
  std::function<clock_duration(const call&)> latency_of;
  /// Optional: the first message of each held stream, sent as it opens (a health
  /// Watch's current status, as a real server sends it at once).
  std::function<std::string(const call&)> held_greeting;
};

class sim_connection;

/// The simulated transport. Thread-safe: every member only posts to the executor.
class simulated_transport final : public transport,
                                  public std::enable_shared_from_this<simulated_transport> {
 public:
  /// Counters per address, for tests (read them while the executor is idle).
  struct address_stats {
    std::size_t connects = 0;  ///< connection attempts
    std::size_t calls = 0;     ///< calls started on a READY connection
    std::size_t open = 0;      ///< connections currently READY
    std::size_t cancels = 0;   ///< in-flight calls released by cancel_call or their deadline
  };

  /// Creates a transport on `ex`; use make_shared (members post shared_from_this()).
  explicit simulated_transport(executor_ptr ex);
  ~simulated_transport() override;

  /// Sets the behaviour of `address` for attempts and calls started from now on.
  /// Addresses without a behaviour accept at once and echo.
  void set_behavior(const std::string& address, sim_behavior b);
  /// Drops every READY connection to `address`: its calls end with UNAVAILABLE and its
  /// owner gets on_closed(`why`).
  void drop(const std::string& address,
            status why = {status_code::unavailable, "connection reset by simulated peer"});
  /// Partitions `address` (true) or heals it (false). While partitioned, new attempts
  /// hang (the client's connect timeout ends them) and unary replies on its READY
  /// connections are held back; the connections stay up, as over a network partition.
  /// Healing sends the held replies (those whose calls are still open) at once.
  void set_partitioned(const std::string& address, bool on);
  /// GOAWAY: every READY connection to `address` stops taking new calls (its owner gets
  /// on_closed(`why`)) while the calls it already carries still complete.
  void goaway(const std::string& address,
              status why = {status_code::unavailable, "GOAWAY from simulated peer"});
  /// Counters for `address` (zeros if never used).
  address_stats stats(const std::string& address) const;

  /// Held streams (sim_behavior::held_methods): sends `message` on every one of `method`
  /// open on a READY connection to `address`, as the peer would.
  void push(const std::string& address, const std::string& method, std::string message);
  /// Held streams: ends every one of `method` open on `address` with the peer's status
  /// `why` (the connection stays up).
  void end_streams(const std::string& address, const std::string& method, status why);
  /// Held streams: the request payloads of those of `method` open on `address`, oldest
  /// first (read it while the executor is idle, like stats()).
  std::vector<std::string> held(const std::string& address, const std::string& method) const;

  connection_ptr connect(const std::string& address,
                         std::shared_ptr<connection_events> events) override;

  /// The executor everything runs on.
  const executor_ptr& exec() const noexcept { return exec_; }

 private:
  friend class sim_connection;
  struct address_state {
    sim_behavior behavior;
    address_stats stats;
    bool partitioned = false;
    std::vector<std::weak_ptr<sim_connection>> conns;
  };
  address_state& at(const std::string& address);

  executor_ptr exec_;
  // Touched only on the executor.
  std::unordered_map<std::string, address_state> addresses_;
};

}  // namespace achan::transport
