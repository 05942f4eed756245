#include "transport/h2/io_pool.hpp"

#include <asio/error.hpp>

#include <atomic>
#include <mutex>
#include <utility>

namespace achan::transport {

namespace {

/// The threads that destroy pools let go on their own threads. They are joined, not
/// detached: at exit this registry waits for the ones still running, so no pool is torn
/// down while the program's static objects are. It is a function-local static whose
/// constructor first makes asio's own static error categories, so it is destroyed (and
/// waits) before they are.
class reapers {
 public:
  reapers() {
    (void)asio::error::get_misc_category();
    (void)asio::error::get_netdb_category();
    (void)asio::error::get_addrinfo_category();
    (void)asio::system_category();
  }
  static reapers& get() {
    static reapers r;
    return r;
  }
  void add(io_pool* p) {
    std::lock_guard lk{mx_};
    // Join the ones that finished, so a long-lived program does not collect them.
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->load()) {
        it->first.join();
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    running_.emplace_back(std::thread([p, done] {
                            delete p;
                            done->store(true);
                          }),
                          done);
  }
  ~reapers() {
    std::lock_guard lk{mx_};
    for (auto& [t, done] : running_)
      t.join();
  }

 private:
  std::mutex mx_;  // pools may be let go on several I/O threads at once
  std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> running_;
};

}  // namespace

io_pool::io_pool(unsigned threads) : guard_(asio::make_work_guard(ctx_)) {
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); ++i)
    threads_.emplace_back([this] { ctx_.run(); });
}

std::shared_ptr<io_pool> io_pool::make(unsigned threads) {
  reapers::get();  // made before any pool can need it
  return std::shared_ptr<io_pool>(new io_pool(threads), [](io_pool* p) {
    if (p->running_in_pool())
      reapers::get().add(p);  // a thread cannot join itself
    else
      delete p;
  });
}

bool io_pool::running_in_pool() const noexcept {
  auto me = std::this_thread::get_id();
  for (auto& t : threads_)
    if (t.get_id() == me)
      return true;
  return false;
}

io_pool::~io_pool() {
  guard_.reset();
  ctx_.stop();
  for (auto& t : threads_)
    t.join();
}

}  // namespace achan::transport
