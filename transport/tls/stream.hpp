#pragma once
/// A connection's byte stream: its socket, plain (h2c) or with TLS (tls::engine) in
/// between. The HTTP/2 connections read and write through it and never see ciphertext.
/// Not thread-safe: everything runs on the connection's strand. Asynchronous operations
/// capture `this`: the completion handlers given to them must keep the owner (and so
/// the stream) alive, as the connections' `self` does.
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <achan/status.hpp>
#include "transport/h2/write_now.hpp"
#include "transport/tls/engine.hpp"

namespace achan::transport::tls {

template <class Socket>
class stream {
 public:
  template <class Arg>
  explicit stream(Arg&& socket_or_executor) : socket_(std::forward<Arg>(socket_or_executor)) {}

  Socket& socket() noexcept { return socket_; }
  /// Makes this a TLS stream; call before async_handshake(). `host`: see tls::engine.
  void use_tls(context_ptr ctx, const std::string& host) {
    engine_ = std::make_unique<engine>(std::move(ctx), host);
    cipher_in_ = std::make_unique<std::array<std::uint8_t, 16 * 1024>>();
  }
  /// The TLS session, or null for h2c.
  const engine* tls() const noexcept { return engine_.get(); }

  /// Runs the TLS handshake (h2c: nothing), then `done(status)`: OK, or UNAVAILABLE
  /// with the reason (engine::failure(), or the socket's error). Call once.
  template <class Handler>
  void async_handshake(Handler done) {
    if (!engine_)
      return done(status{});
    handshake_step(std::move(done));
  }

  /// Reads some plaintext into [dst, dst + n), then `h(ec, bytes)`. A TLS failure is
  /// std::errc::protocol_error (failure() says why); the peer's close_notify is eof.
  template <class Handler>
  void async_read_some(std::uint8_t* dst, std::size_t n, Handler h) {
    if (!engine_) {
      socket_.async_read_some(asio::buffer(dst, n), std::move(h));
      return;
    }
    if (read_failed_) {
      asio::post(socket_.get_executor(),
                 [h = std::move(h), this]() mutable { h(read_error(), 0); });
      return;
    }
    if (engine_->has_input()) {  // decrypt what is already here before reading more
      long k = decrypt(dst, n);
      send_tls_output();
      if (k != 0) {
        asio::post(socket_.get_executor(), [h = std::move(h), k, this]() mutable {
          k > 0 ? h(std::error_code{}, static_cast<std::size_t>(k)) : h(read_error(), 0);
        });
        return;
      }
    }
    socket_.async_read_some(
        asio::buffer(*cipher_in_),
        [this, dst, n, h = std::move(h)](const std::error_code& ec, std::size_t got) mutable {
          if (ec)
            return h(ec, 0);
          engine_->feed(cipher_in_->data(), got);
          long k = decrypt(dst, n);
          send_tls_output();
          if (k > 0)
            return h(std::error_code{}, static_cast<std::size_t>(k));
          if (k < 0)
            return h(read_error(), 0);
          async_read_some(dst, n, std::move(h));  // a partial record
        });
  }

  /// Sends `buf` and clears it: the socket takes what it can now (h2util::write_now),
  /// the rest waits here (pending()) for async_drain(). Returns the write error.
  std::error_code send(std::string& buf) {
    if (engine_) {
      engine_->write(buf.data(), buf.size());
      buf.clear();
      engine_->take_output(queue_);
    } else if (queue_.empty()) {
      queue_.swap(buf);  // (no copy on the usual path)
    } else {
      queue_.append(buf);
      buf.clear();
    }
    if (!inflight_.empty() || queue_.empty())
      return {};
    return h2util::write_now(socket_, queue_);
  }

  /// Bytes wait to be written.
  bool pending() const noexcept { return !queue_.empty() || !inflight_.empty(); }

  /// Writes what waits, then `h(ec)`. Call only while pending() and no drain runs.
  template <class Handler>
  void async_drain(Handler h) {
    if (inflight_.empty())
      inflight_.swap(queue_);
    asio::async_write(socket_, asio::buffer(inflight_),
                      [this, h = std::move(h)](const std::error_code& ec, std::size_t) mutable {
                        inflight_.clear();
                        h(ec);
                      });
  }

  /// Why the last TLS operation failed ("" for h2c).
  std::string failure() const { return engine_ ? engine_->failure() : std::string{}; }

 private:
  std::error_code read_error() const {
    return engine_->closed() ? std::error_code{asio::error::eof}
                             : std::make_error_code(std::errc::protocol_error);
  }

  /// Decrypts as many of the fed records as fit into [dst, dst + n) (one SSL_read gives
  /// at most one record: a peer sending small records would otherwise cost a read
  /// completion, a pass through nghttp2 and a flush per record). Bytes, 0 for "need
  /// more input", -1 for a failure with nothing decrypted before it (a failure after
  /// some bytes is reported by the next read: read_failed_).
  long decrypt(std::uint8_t* dst, std::size_t n) {
    std::size_t total = 0;
    while (total < n) {
      long k = engine_->read(dst + total, n - total);
      if (k <= 0) {
        if (total == 0)
          return k;
        read_failed_ = k < 0;  // reported by the next async_read_some
        break;
      }
      total += static_cast<std::size_t>(k);
    }
    return static_cast<long>(total);
  }

  /// TLS output produced by reading (alerts, key updates, session tickets): out now if
  /// the socket takes it, else with the next send.
  void send_tls_output() {
    engine_->take_output(queue_);
    if (inflight_.empty() && !queue_.empty())
      (void)h2util::write_now(socket_, queue_);
  }

  template <class Handler>
  void handshake_step(Handler done) {
    auto p = engine_->handshake();
    engine_->take_output(queue_);
    if (p == engine::progress::failed) {
      (void)h2util::write_now(socket_, queue_);  // the alert, best effort
      return done(status{status_code::unavailable, engine_->failure()});
    }
    if (!queue_.empty()) {
      inflight_.swap(queue_);
      asio::async_write(
          socket_, asio::buffer(inflight_),
          [this, p, done = std::move(done)](const std::error_code& ec, std::size_t) mutable {
            inflight_.clear();
            if (ec)
              return done(
                  status{status_code::unavailable, "TLS handshake: write failed: " + ec.message()});
            if (p == engine::progress::done)
              return done(status{});
            handshake_step(std::move(done));
          });
      return;
    }
    if (p == engine::progress::done)
      return done(status{});
    socket_.async_read_some(
        asio::buffer(*cipher_in_),
        [this, done = std::move(done)](const std::error_code& ec, std::size_t got) mutable {
          if (ec)
            return done(status{status_code::unavailable,
                               ec == asio::error::eof
                                   ? "the peer closed the connection during the TLS handshake"
                                   : "TLS handshake: read failed: " + ec.message()});
          engine_->feed(cipher_in_->data(), got);
          handshake_step(std::move(done));
        });
  }

  Socket socket_;
  std::unique_ptr<engine> engine_;
  bool read_failed_ = false;  // decrypt() stopped at a failure after some bytes
  std::string queue_;         // bytes waiting to be written (ciphertext with TLS)
  std::string inflight_;      // bytes an async write is writing
  std::unique_ptr<std::array<std::uint8_t, 16 * 1024>> cipher_in_;  // TLS only
};

}  // namespace achan::transport::tls
