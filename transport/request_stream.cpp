#include "transport/request_stream.hpp"

#include "transport/grpc/framing.hpp"

namespace achan::transport {

bool request_stream::write(std::string message) {
  std::unique_lock lk{mx_};
  if (closed_)
    return false;
  queue_.push_back(std::move(message));
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

bool request_stream::take_framed(std::string& out) {
  std::lock_guard lk{mx_};
  for (auto& m : queue_)
    grpc::append_frame(out, m);
  queue_.clear();
  return closed_;
}

bool request_stream::take(std::vector<std::string>& out) {
  std::lock_guard lk{mx_};
  for (auto& m : queue_)
    out.push_back(std::move(m));
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
