// One direction of a proxied connection: read, stamp, queue (bounded), pace, write.
#include "testkit/fault_proxy/session.hpp"

#include <asio/write.hpp>

#include <algorithm>

namespace achan::fault::detail {
namespace {

bool is(const toxic_entry& t, const char* type) {
  return t.spec.type == type;
}

}  // namespace

std::int64_t toxic_entry::attr(const char* name) const {
  auto it = spec.attributes.find(name);
  return it == spec.attributes.end() ? 0 : it->second;
}

std::uint64_t rng::next() {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t rng::between(std::int64_t lo, std::int64_t hi) {
  auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(span == 0 ? next() : next() % span);
}

link::link(session& owner, tcp::socket& from, tcp::socket& to, stream dir)
    : owner_(owner), from_(from), to_(to), dir_(dir), timer_(owner.ctx().io) {}

void link::set_toxics(const toxic_list& list) {
  std::vector<active> next;
  next.reserve(list.size());
  for (auto& t : list) {
    auto it = std::find_if(toxics_.begin(), toxics_.end(), [&](auto& a) { return a.t == t; });
    if (it != toxics_.end() && it->version == t->version) {
      next.push_back(std::move(*it));
      continue;
    }
    active a{t, t->version, it != toxics_.end() ? it->passed : 0, nullptr};
    next.push_back(std::move(a));
    arm(next.back());
  }
  toxics_ = std::move(next);  // dropped timers cancel; their handlers find nothing to do
  read_more();
  write_more();
}

void link::arm(active& a) {
  bool reset = is(*a.t, "reset_peer");
  if (!reset && !is(*a.t, "timeout"))
    return;
  auto ms = a.t->attr("timeout");
  if (!reset && ms == 0)
    return;  // timeout 0: hold until removed, never close
  a.timer = std::make_unique<asio::steady_timer>(owner_.ctx().io, std::chrono::milliseconds{ms});
  a.timer->async_wait([self = owner_.shared_from_this(), this, t = a.t, v = a.version](auto ec) {
    if (ec || stopped_)
      return;
    bool current = std::any_of(toxics_.begin(), toxics_.end(),
                               [&](auto& a) { return a.t == t && a.version == v; });
    if (current)
      owner_.close(t->spec.type + " toxic '" + t->spec.name + "'", t->spec.type == "reset_peer");
  });
}

bool link::held() const {
  return std::any_of(toxics_.begin(), toxics_.end(), [](auto& a) {
    return is(*a.t, "partition") || is(*a.t, "timeout") ||
           (is(*a.t, "bandwidth") && a.t->attr("rate") == 0);  // toxiproxy: rate 0 stalls
  });
}

void link::start() {
  read_more();
}

void link::stop() {
  stopped_ = true;
  timer_.cancel();
  for (auto& a : toxics_)
    if (a.timer)
      a.timer->cancel();
}

void link::read_more() {
  auto& o = owner_.ctx().opts;
  if (reading_ || eof_ || stopped_ || held() || queued_ >= o.max_buffered)
    return;
  reading_ = true;
  if (!spare_.empty()) {
    rbuf_ = std::move(spare_.back());
    spare_.pop_back();
  }
  rbuf_.resize(o.read_chunk);
  from_.async_read_some(
      asio::buffer(rbuf_), [self = owner_.shared_from_this(), this](auto ec, std::size_t n) {
        reading_ = false;
        if (stopped_)
          return;
        if (ec == asio::error::eof) {
          eof_ = true;
          write_more();
          return;
        }
        if (ec) {
          owner_.close(std::string{dir_ == stream::upstream ? "client" : "upstream"} +
                           " read: " + ec.message(),
                       true);
          return;
        }
        on_read(n);
      });
}

void link::on_read(std::size_t n) {
  auto now = clock::now();
  clock::duration delay{};
  const active* slicer = nullptr;
  for (auto& a : toxics_) {
    if (is(*a.t, "latency")) {
      auto jitter = a.t->attr("jitter");
      auto ms = a.t->attr("latency") + (jitter > 0 ? owner_.random().between(-jitter, jitter) : 0);
      delay += std::chrono::milliseconds{std::max<std::int64_t>(ms, 0)};
    } else if (is(*a.t, "slicer") && !slicer) {
      slicer = &a;
    }
  }
  auto due = std::max(now + delay, last_due_);
  rbuf_.resize(n);
  queued_ += n;
  auto avg = slicer ? slicer->t->attr("average_size") : 0;
  if (avg <= 0) {
    queue_.push_back({std::move(rbuf_), 0, due});
  } else {
    auto var = slicer->t->attr("size_variation");
    auto step = std::chrono::microseconds{slicer->t->attr("delay")};
    for (std::size_t off = 0; off < n; due += step) {
      auto size = static_cast<std::size_t>(
          std::max<std::int64_t>(1, owner_.random().between(avg - var, avg + var)));
      size = std::min(size, n - off);
      queue_.push_back(
          {std::vector<char>(rbuf_.begin() + off, rbuf_.begin() + off + size), 0, due});
      off += size;
    }
    due -= step;
  }
  last_due_ = due;
  write_more();
  read_more();
}

void link::wait_until(clock::time_point due) {
  if (waiting_)
    return;  // the head's due time only moves later; the wakeup re-checks
  waiting_ = true;
  timer_.expires_at(due);
  timer_.async_wait([self = owner_.shared_from_this(), this](auto ec) {
    waiting_ = false;
    if (!stopped_)
      write_more();
  });
}

void link::write_more() {
  if (writing_ || stopped_ || done_ || held())
    return;
  if (queue_.empty()) {
    if (eof_)
      finish();
    return;
  }
  auto& c = queue_.front();
  auto now = clock::now();
  auto due = c.due;
  std::int64_t rate = 0;  // bytes per second; toxiproxy's KB is 1000 bytes
  std::int64_t remaining = -1;
  for (auto& a : toxics_) {
    if (is(*a.t, "bandwidth") && a.t->attr("rate") > 0)
      rate = rate == 0 ? a.t->attr("rate") * 1000 : std::min(rate, a.t->attr("rate") * 1000);
    if (is(*a.t, "limit_data")) {
      auto left =
          std::max<std::int64_t>(0, a.t->attr("bytes") - static_cast<std::int64_t>(a.passed));
      remaining = remaining < 0 ? left : std::min(remaining, left);
    }
  }
  if (remaining == 0) {
    owner_.close("limit_data reached");
    return;
  }
  if (rate > 0)
    due = std::max(due, next_send_);
  if (due > now) {
    wait_until(due);
    return;
  }
  auto n = c.bytes.size() - c.off;
  if (rate > 0)  // pace in 20 ms slices so the rate holds over short spans too
    n = std::min<std::size_t>(n, std::max<std::int64_t>(1, rate / 50));
  if (remaining > 0)
    n = std::min<std::size_t>(n, remaining);
  if (rate > 0)
    next_send_ = std::max(next_send_, now) + std::chrono::duration_cast<clock::duration>(
                                                 std::chrono::duration<double>(double(n) / rate));
  writing_ = true;
  asio::async_write(to_, asio::buffer(c.bytes.data() + c.off, n),
                    [self = owner_.shared_from_this(), this](auto ec, std::size_t n) {
                      writing_ = false;
                      if (stopped_)
                        return;
                      if (ec) {
                        owner_.close(std::string{dir_ == stream::upstream ? "upstream" : "client"} +
                                         " write: " + ec.message(),
                                     true);
                        return;
                      }
                      auto& c = queue_.front();
                      c.off += n;
                      queued_ -= n;
                      owner_.delivered(dir_, n);
                      bool limit_hit = false;
                      for (auto& a : toxics_)
                        if (is(*a.t, "limit_data") &&
                            (a.passed += n) >= static_cast<std::uint64_t>(a.t->attr("bytes")))
                          limit_hit = true;
                      if (c.off == c.bytes.size()) {
                        if (spare_.size() < 4 && c.bytes.capacity() >= owner_.ctx().opts.read_chunk)
                          spare_.push_back(std::move(c.bytes));
                        queue_.pop_front();
                      }
                      if (limit_hit) {
                        owner_.close("limit_data reached");
                        return;
                      }
                      read_more();
                      write_more();
                    });
}

void link::finish() {
  if (slow_waiting_)
    return;
  std::int64_t delay = 0;
  for (auto& a : toxics_)
    if (is(*a.t, "slow_close"))
      delay = std::max(delay, a.t->attr("delay"));
  if (delay > 0 && !slow_done_) {
    slow_waiting_ = true;
    timer_.expires_after(std::chrono::milliseconds{delay});
    timer_.async_wait([self = owner_.shared_from_this(), this](auto ec) {
      slow_waiting_ = false;
      slow_done_ = true;
      if (!stopped_)
        finish();
    });
    return;
  }
  asio::error_code ignored;
  to_.shutdown(tcp::socket::shutdown_send, ignored);
  done_ = true;
  owner_.link_done();
}

}  // namespace achan::fault::detail
