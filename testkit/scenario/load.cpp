// The scenario's load: a closed loop of `concurrency` unary calls, or `rate` calls a
// second, from load.start for load.duration; every call traced at start and end.
#include "testkit/scenario/run_common.hpp"

namespace achan::scenario::detail {

load_driver::load_driver(const scenario& sc, channel ch, transport::executor_ptr ex,
                         std::shared_ptr<recorder> rec)
    : spec_(sc.load),
      ch_(std::move(ch)),
      ex_(std::move(ex)),
      rec_(std::move(rec)),
      payload_(echo_request(sc.load.payload)),
      end_(sc.load.start + sc.load.length.value_or(sc.length - sc.load.start)) {
  opts_.timeout = spec_.deadline;
  opts_.wait_for_ready = spec_.wait_for_ready;
}

void load_driver::start() {
  auto left = spec_.start - rec_->now();
  auto self = shared_from_this();
  ex_->post(left > duration::zero() ? left : duration::zero(), [self] {
    if (self->spec_.concurrency > 0) {
      for (std::size_t i = 0; i < self->spec_.concurrency; ++i)
        self->issue();
    } else {
      self->tick(0);
    }
  });
}

void load_driver::issue() {
  auto started = rec_->now();
  if (started >= end_)
    return;  // the load is over: this slot retires
  std::uint64_t id;
  {
    std::lock_guard lk{mx_};
    if (next_id_ >= spec_.call_limit) {
      capped_at_ = started;
      return;  // the run ends with an error (run_result::error)
    }
    id = next_id_++;
    open_.emplace(id, call_handle{});  // before the call: its completion may run at once
  }
  trace_event e;
  e.what = trace_event::kind::call_start;
  e.t = started;
  e.call = id;
  rec_->add(e);
  auto self = shared_from_this();
  auto h = ch_.call(spec_.method, payload_, opts_, [self, id, started](call_result&& r) {
    self->done(id, started, std::move(r));
  });
  std::lock_guard lk{mx_};
  if (auto i = open_.find(id); i != open_.end())
    i->second = std::move(h);
}

void load_driver::tick(std::uint64_t n) {
  auto interval = duration{static_cast<std::int64_t>(1e9 / spec_.rate)};
  auto at = spec_.start + interval * static_cast<std::int64_t>(n);
  if (at >= end_)
    return;
  if (capped())
    return;
  if (in_flight() >= spec_.max_in_flight) {
    trace_event e;
    e.what = trace_event::kind::call_skipped;
    e.t = rec_->now();
    std::lock_guard lk{mx_};
    if (next_id_ >= spec_.call_limit) {
      capped_at_ = e.t;
      return;
    }
    e.call = next_id_++;
    rec_->add(e);
  } else {
    issue();
  }
  auto next = at + interval - rec_->now();
  auto self = shared_from_this();
  ex_->post(next > duration::zero() ? next : duration::zero(), [self, n] { self->tick(n + 1); });
}

void load_driver::done(std::uint64_t id, duration started, call_result&& r) {
  rec_->call_end(id, started, r);
  {
    std::lock_guard lk{mx_};
    open_.erase(id);
  }
  if (spec_.concurrency == 0 || rec_->now() >= end_)
    return;
  auto self = shared_from_this();
  ex_->post(r.status.ok() ? duration::zero() : spec_.fail_pause, [self] { self->issue(); });
}

bool load_driver::finished() const {
  return (rec_->now() >= end_ || capped()) && in_flight() == 0;
}

bool load_driver::capped() const {
  std::lock_guard lk{mx_};
  return capped_at_.has_value();
}

std::optional<status> load_driver::cap_error() const {
  std::lock_guard lk{mx_};
  if (!capped_at_)
    return std::nullopt;
  return status{status_code::resource_exhausted,
                "the load reached " + std::to_string(spec_.call_limit) +
                    " calls (the per-run limit) at " +
                    std::to_string(std::chrono::duration<double>(*capped_at_).count()) +
                    " s: raise the backends' latency or lower the load"};
}

std::size_t load_driver::in_flight() const {
  std::lock_guard lk{mx_};
  return open_.size();
}

void load_driver::cancel_all() {
  std::vector<call_handle> open;
  {
    std::lock_guard lk{mx_};
    for (auto& [id, h] : open_)
      open.push_back(h);
  }
  for (auto& h : open)
    h.cancel();
}

}  // namespace achan::scenario::detail
