#include "transport/h2/io_pool.hpp"

#include <asio/error.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace achan::transport {

namespace {

/// The pools made by io_pool::make that are still alive, and the threads that destroy
/// the ones released on their own threads. At exit this registry waits (up to 3 s) for
/// the live pools to be released and joins those threads, so no I/O thread still runs
/// while the program's static objects — asio's error categories among them — are
/// destroyed. It is a function-local static whose constructor first makes asio's static
/// error categories, so it is destroyed (and waits) before they are.
class registry {
 public:
  static registry& get() {
    static registry r;
    return r;
  }
  registry() {
    (void)asio::error::get_misc_category();
    (void)asio::error::get_netdb_category();
    (void)asio::error::get_addrinfo_category();
    (void)asio::system_category();
  }
  void made() {
    std::lock_guard lk{mx_};
    ++live_;
  }
  /// Destroys `p` here, or on a thread of its own if this is one of p's threads.
  void release(io_pool* p) {
    if (!p->running_in_pool()) {
      delete p;
      finished();
      return;
    }
    std::lock_guard lk{mx_};
    // Join the reapers that are done, so a long-lived program does not collect them.
    for (auto it = reapers_.begin(); it != reapers_.end();) {
      if (it->second->load()) {
        it->first.join();
        it = reapers_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    reapers_.emplace_back(std::thread([this, p, done] {
                            delete p;  // joins p's threads, the one that released it included
                            finished();
                            done->store(true);
                          }),
                          done);
  }
  ~registry() {
    std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> reapers;
    {
      std::unique_lock lk{mx_};
      cv_.wait_for(lk, std::chrono::seconds(3), [&] { return live_ == 0; });
      reapers.swap(reapers_);
    }
    for (auto& [t, done] : reapers)
      t.join();
  }

 private:
  void finished() {
    std::lock_guard lk{mx_};
    --live_;
    cv_.notify_all();
  }

  // Pools are released on any thread (I/O threads, CAF workers, main): this lock orders
  // the bookkeeping; nothing slow runs under it.
  std::mutex mx_;
  std::condition_variable cv_;
  std::size_t live_ = 0;
  // Each ends once its pool is gone; joined when done (or at exit).
  std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> reapers_;
};

}  // namespace

io_pool::io_pool(unsigned threads) : guard_(asio::make_work_guard(ctx_)) {
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); ++i)
    threads_.emplace_back([this] { ctx_.run(); });
}

std::shared_ptr<io_pool> io_pool::make(unsigned threads) {
  auto& r = registry::get();  // made before any pool can need it
  r.made();
  return std::shared_ptr<io_pool>(new io_pool(threads),
                                  [](io_pool* p) { registry::get().release(p); });
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
