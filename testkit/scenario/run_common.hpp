#pragma once
// What run_sim and run_real share: the trace recorder, seeded draws, the dial options a
// scenario asks for, the load driver and the timeline. The two runners differ only in
// the world (simulated transport vs servers behind the fault proxy) and in how time
// passes (virtual vs wall clock).
#include <achan/channel.hpp>
#include <achan/executor.hpp>
#include <achan/manual_resolver.hpp>
#include <achan/result.hpp>
#include <achan/scenario.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace achan::scenario::detail {

/// splitmix64: the scenario's seeded draws (portable: no std:: distribution).
struct rng {
  std::uint64_t state;
  std::uint64_t next() noexcept;
  double uniform() noexcept;  ///< [0, 1)
};
/// One latency draw from `d`.
duration draw(const latency_dist& d, rng& r);
/// A seed for stream `stream` of run `seed`.
std::uint64_t mix(std::uint64_t seed, std::uint64_t stream) noexcept;

/// Records the trace. Thread-safe (run_real's completions run on achan threads); under
/// run_sim every caller is the test coordinator's thread, so the lock is uncontended.
class recorder : public std::enable_shared_from_this<recorder> {
 public:
  recorder(const scenario& sc, transport::executor_ptr ex);
  /// Maps a transport address to the instance's trace index.
  void map_address(const std::string& address, std::int32_t index);
  std::int32_t index_of(const std::string& address) const;  ///< -1 if unknown
  duration now() const;  ///< since the start, on the executor's clock
  void add(trace_event e);
  void add_text(trace_event e, std::string_view text);
  void call_end(std::uint64_t id, duration started, const call_result& r);
  /// For dial_options::observer (keeps the recorder alive).
  channel_observer observer();
  trace take();

 private:
  void observe(const channel_event& ev);
  transport::executor_ptr ex_;
  time_point t0_;
  mutable std::mutex mx_;
  trace tr_;
  std::unordered_map<std::string, std::int32_t> by_address_;
};

/// The dial options a scenario's channel section asks for (the transport, resolver and
/// observer are the runner's).
dial_options options_for(const scenario& sc, std::uint64_t seed);

/// Dials the scenario's channel: "manual:///backends" with `initial` (transport
/// addresses) given to `resolver`, or an "ipv4:" list of them (channel.target static).
/// Channel state changes go to the trace; the channel is connected. INVALID_ARGUMENT
/// ("dial: ...") when the dial fails.
result<channel> dial_channel(caf::actor_system& sys, const scenario& sc, dial_options opts,
                             const std::vector<std::string>& initial, manual_resolver& resolver,
                             const std::shared_ptr<recorder>& rec);

/// The load of a scenario on one channel: closed or open loop, in-flight calls tracked
/// so the run can end (and cancel what is still open after the drain).
class load_driver : public std::enable_shared_from_this<load_driver> {
 public:
  load_driver(const scenario& sc, channel ch, transport::executor_ptr ex,
              std::shared_ptr<recorder> rec);
  /// Schedules the load's start (at load.start on the executor).
  void start();
  /// True once the load's time is over (or the call limit reached) and no call is open.
  bool finished() const;
  /// True once the load hit max_calls_per_run and stopped starting calls.
  bool capped() const;
  /// The run's error when capped(): RESOURCE_EXHAUSTED, saying when.
  std::optional<status> cap_error() const;
  std::size_t in_flight() const;
  /// Cancels every open call (each ends CANCELLED and is traced).
  void cancel_all();
  /// When the load's time ends (since the start).
  duration end() const noexcept { return end_; }

 private:
  void issue();
  void tick(std::uint64_t n);
  void done(std::uint64_t id, duration started, call_result&& r);

  const load_spec& spec_;
  channel ch_;
  transport::executor_ptr ex_;
  std::shared_ptr<recorder> rec_;
  std::string payload_;
  call_options opts_;
  duration end_;
  mutable std::mutex mx_;  // the maps below; completions may run on several threads
  std::uint64_t next_id_ = 0;
  std::optional<duration> capped_at_;          // when the load hit max_calls_per_run
  std::map<std::uint64_t, call_handle> open_;  // ordered: cancel_all goes by id
};

/// Posts each timeline event at its time; `apply` runs on the executor. Each applied
/// event is traced first ("timeline", with a description).
void schedule_timeline(const scenario& sc, const transport::executor_ptr& ex,
                       std::shared_ptr<recorder> rec, std::function<void(const event&)> apply);
/// "kill a-0,a-1": what the trace says an event did.
std::string describe(const event& e);

/// A 16-byte-per-field EchoRequest-shaped payload of `n` bytes (field 1, bytes).
std::string echo_request(std::size_t n);

}  // namespace achan::scenario::detail
