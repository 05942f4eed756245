#include <achan/request_stream.hpp>

#include "transport/grpc/framing.hpp"

namespace achan::transport {

bool request_stream::write(std::string message, sent_fn sent) {
  std::unique_lock lk{mx_};
  if (closed_)
    return false;
  buffered_ += message.size();
  queue_.push_back({std::move(message), std::move(sent)});
  wake(lk);
  return true;
}

void request_stream::close() {
  std::unique_lock lk{mx_};
  if (closed_)
    return;
  closed_ = true;
  wake(lk);
}

bool request_stream::closed() const {
  std::lock_guard lk{mx_};
  return closed_;
}

std::size_t request_stream::buffered() const {
  std::lock_guard lk{mx_};
  return buffered_;
}

void request_stream::abandon() {
  std::deque<entry> dropped;
  {
    std::lock_guard lk{mx_};
    if (abandoned_)
      return;
    abandoned_ = true;
    closed_ = true;
    buffered_ = 0;
    dropped.swap(queue_);
  }
  for (auto& e : dropped)
    if (e.sent)
      e.sent(false);
}

bool request_stream::take_framed(std::string& out, std::vector<taken>& taken) {
  std::lock_guard lk{mx_};
  for (auto& e : queue_) {
    grpc::append_frame(out, e.message);
    taken.push_back({out.size(), e.message.size(), std::move(e.sent)});
  }
  queue_.clear();
  return closed_;
}

void request_stream::settle(taken&& t, bool ok) {
  {
    std::lock_guard lk{mx_};
    if (!abandoned_)
      buffered_ -= t.size;
  }
  if (t.sent)
    t.sent(ok);
}

bool request_stream::take(std::vector<std::string>& out) {
  std::vector<sent_fn> handed_on;
  bool closed;
  {
    std::lock_guard lk{mx_};
    for (auto& e : queue_) {
      buffered_ -= e.message.size();
      out.push_back(std::move(e.message));
      if (e.sent)
        handed_on.push_back(std::move(e.sent));
    }
    queue_.clear();
    closed = closed_;
  }
  for (auto& fn : handed_on)
    fn(true);
  return closed;
}

bool request_stream::take_with_callbacks(std::vector<std::pair<std::string, sent_fn>>& out) {
  std::lock_guard lk{mx_};
  for (auto& e : queue_) {
    buffered_ -= e.message.size();
    out.emplace_back(std::move(e.message), std::move(e.sent));
  }
  queue_.clear();
  return closed_;
}

void request_stream::on_ready(std::function<void()> fn) {
  std::unique_lock lk{mx_};
  ready_ = std::move(fn);
  if (!queue_.empty() || closed_)
    wake(lk);
}

void request_stream::wake(std::unique_lock<std::mutex>& lk) {
  auto fn = ready_;  // copy: it may be replaced while we run it
  lk.unlock();
  if (fn)
    fn();
}

}  // namespace achan::transport
