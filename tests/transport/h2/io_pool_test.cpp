// io_pool's lifetime: shared by a transport and its connections, released on any thread.
#include <doctest/doctest.h>

#include <asio/post.hpp>

#include <atomic>
#include <future>

#include "transport/h2/io_pool.hpp"

using achan::transport::io_pool;
using namespace std::chrono_literals;

TEST_CASE("io_pool: the last reference dropped on one of its own threads does not join itself") {
  // A plain owner would join the thread it runs on here (std::system_error, or a hang).
  auto pool = io_pool::make(1);
  std::promise<void> released;
  std::promise<void> posted;  // post() may still be signalling the pool's thread when the
  auto post_done = posted.get_future().share();  // handler runs: the pool must outlive it
  auto& ctx = pool->context();
  asio::post(ctx, [p = std::move(pool), &released, post_done]() mutable {
    post_done.wait();
    CHECK(p->running_in_pool());
    p.reset();  // the last owner, on the pool's own thread
    released.set_value();
  });
  posted.set_value();
  CHECK(released.get_future().wait_for(5s) == std::future_status::ready);
}

TEST_CASE("io_pool: dropped elsewhere it stops and joins its threads before returning") {
  auto pool = io_pool::make(2);
  std::atomic<int> ran{0};
  std::promise<void> both;
  for (int i = 0; i < 2; ++i)
    asio::post(pool->context(), [&] {
      if (++ran == 2)
        both.set_value();
    });
  REQUIRE(both.get_future().wait_for(5s) == std::future_status::ready);
  CHECK_FALSE(pool->running_in_pool());
  pool.reset();  // joins here
  CHECK(ran == 2);
}
