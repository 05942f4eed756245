#pragma once
/// The asio threads the HTTP/2 transport runs on. No actor ever blocks on them.
#include <memory>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

namespace achan::transport {

/// An io_context run by `threads` threads until destruction (which stops and joins).
class io_pool {
 public:
  /// A pool shared by whoever runs work on it (a transport and each of its
  /// connections), so that no I/O object outlives its io_context. The last owner stops
  /// and joins the threads; if it lets go on one of the pool's own threads (a
  /// connection's last handler), a short-lived thread of its own does that instead, since
  /// a thread cannot join itself.
  static std::shared_ptr<io_pool> make(unsigned threads);

  explicit io_pool(unsigned threads);
  /// Stops and joins. Must not run on one of the pool's threads (make() sees to that).
  ~io_pool();
  /// Whether the calling thread is one of this pool's.
  bool running_in_pool() const noexcept;
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  asio::io_context& context() noexcept { return ctx_; }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

}  // namespace achan::transport
