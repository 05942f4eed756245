#include "transport/h2/io_pool.hpp"

namespace achan::transport {

io_pool::io_pool(unsigned threads) : guard_(asio::make_work_guard(ctx_)) {
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); ++i)
    threads_.emplace_back([this] { ctx_.run(); });
}

io_pool::~io_pool() {
  guard_.reset();
  ctx_.stop();
  for (auto& t : threads_)
    t.join();
}

}  // namespace achan::transport
