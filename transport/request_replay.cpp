// Request messages of retried streaming calls (request_replay.hpp).
#include "transport/request_replay.hpp"

#include <atomic>
#include <utility>

namespace achan::transport {

struct request_replay::slot {
  request_stream::sent_fn fn;
  std::atomic<bool> fired{false};
  void fire(bool ok) {
    if (fn && !fired.exchange(true))
      fn(ok);
  }
};

request_replay::request_replay(std::shared_ptr<request_stream> source, std::size_t limit)
    : source_(std::move(source)), limit_(limit) {}

request_stream::sent_fn request_replay::relay(const std::shared_ptr<slot>& s) {
  return [s, w = weak_from_this()](bool ok) {
    if (ok) {
      s->fire(true);
      return;
    }
    // Dropped by an attempt that ended: final only if no other attempt will send it.
    auto self = w.lock();
    bool final = !self;
    if (self) {
      std::lock_guard lk{self->mx_};
      final = self->finished_ || self->given_up_;
    }
    if (final)
      s->fire(false);
  };
}

std::shared_ptr<request_stream> request_replay::next_stream() {
  auto next = std::make_shared<request_stream>();
  bool first;
  {
    std::lock_guard lk{mx_};
    if (given_up_ || finished_)
      return nullptr;
    for (auto& k : kept_)
      next->write(k.message, relay(k.s));
    if (source_closed_)
      next->close();
    current_ = next;
    first = !std::exchange(started_, true);
  }
  if (first)
    source_->on_ready([w = weak_from_this()] {
      if (auto self = w.lock())
        self->pump();
    });
  return next;
}

void request_replay::pump() {
  std::vector<std::pair<std::string, request_stream::sent_fn>> taken;
  bool closed = source_->take_with_callbacks(taken);
  std::vector<std::shared_ptr<slot>> orphaned;  // no attempt to send them: the call ended
  {
    std::lock_guard lk{mx_};
    for (auto& [m, fn] : taken) {
      auto s = std::make_shared<slot>();
      s->fn = std::move(fn);
      if (!given_up_) {
        if (kept_bytes_ + m.size() > limit_) {
          given_up_ = true;  // too large to send again: this call commits
          kept_.clear();
          kept_bytes_ = 0;
        } else {
          kept_bytes_ += m.size();
          kept_.push_back({m, s});
        }
      }
      bool written = !finished_ && current_ && current_->write(std::move(m), relay(s));
      if (!written && (finished_ || given_up_))
        orphaned.push_back(std::move(s));  // else a copy waits for the next attempt
    }
    if (closed && !source_closed_) {
      source_closed_ = true;
      if (current_)
        current_->close();
    }
  }
  for (auto& s : orphaned)
    s->fire(false);
}

bool request_replay::replayable() const {
  std::lock_guard lk{mx_};
  return !given_up_ && !finished_;
}

void request_replay::finish() {
  std::vector<kept> left;
  {
    std::lock_guard lk{mx_};
    if (finished_)
      return;
    finished_ = true;
    left.swap(kept_);
    kept_bytes_ = 0;
    current_.reset();
  }
  // Messages the last attempt still holds hear from its stream (final now); these are
  // the copies: a copy already handed on fired true before, so this does nothing for it.
  for (auto& k : left)
    k.s->fire(false);
}

}  // namespace achan::transport
