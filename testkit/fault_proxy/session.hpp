#pragma once
// One proxied connection (session) and its two directions (link). Everything here runs on
// the proxy set's single I/O thread, so nothing is locked.
//
// A link reads `from` into chunks, stamps each with the time it may be written (latency,
// jitter, slicer), queues at most options::max_buffered bytes (then stops reading: the
// peer is back-pressured by TCP) and writes the head chunk to `to` when it is due, paced
// by bandwidth and cut at limit_data. partition and timeout hold a link: it neither reads
// nor writes until the toxic goes (timeout > 0 then closes the session).
//
//   client --upstream link--> proxy --> server
//   client <-downstream link-- proxy <-- server
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <achan/fault_proxy.hpp>

namespace achan::fault::detail {

using clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

/// A toxic as a proxy holds it; links share it and read its attributes when they use them.
struct toxic_entry {
  toxic spec;
  std::uint64_t first_fresh = 0;  ///< sessions with serial >= this are "fresh" for it
  std::uint64_t version = 0;      ///< bumped on update: links restart its timers
  std::int64_t attr(const char* name) const;
};
using toxic_list = std::vector<std::shared_ptr<toxic_entry>>;

/// Counters a proxy shares with its sessions.
struct shared_stats {
  proxy_stats s;
};

/// A small deterministic generator (splitmix64) for jitter and slice sizes.
struct rng {
  std::uint64_t state;
  std::uint64_t next();
  /// Uniform in [lo, hi] (hi >= lo).
  std::int64_t between(std::int64_t lo, std::int64_t hi);
};

/// Whether `t` applies to session `serial` of proxy `proxy` at all (toxicity and scope),
/// a pure function of the seed so that runs repeat.
bool toxic_hits(const toxic_entry& t, const std::string& proxy, std::uint64_t serial,
                std::uint64_t seed);

class session;

class link {
 public:
  link(session& owner, tcp::socket& from, tcp::socket& to, stream dir);
  /// The toxics that act on this direction now (replaces the previous list).
  void set_toxics(const toxic_list& active);
  void start();
  void stop();
  bool done() const noexcept { return done_; }

 private:
  struct chunk {
    std::vector<char> bytes;
    std::size_t off = 0;
    clock::time_point due;
  };
  struct active {
    std::shared_ptr<toxic_entry> t;
    std::uint64_t version = 0;
    std::uint64_t passed = 0;                   // limit_data
    std::unique_ptr<asio::steady_timer> timer;  // timeout, reset_peer
  };

  void read_more();
  void on_read(std::size_t n);
  void write_more();
  void wait_until(clock::time_point due);
  void arm(active& a);
  bool held() const;
  void finish();

  session& owner_;
  tcp::socket& from_;
  tcp::socket& to_;
  stream dir_;
  asio::steady_timer timer_;
  std::vector<active> toxics_;
  std::deque<chunk> queue_;
  std::vector<char> rbuf_;  // the read in progress
  std::vector<std::vector<char>> spare_;
  std::size_t queued_ = 0;
  clock::time_point last_due_{};
  clock::time_point next_send_{};  // bandwidth pacing
  bool reading_ = false, writing_ = false, waiting_ = false;
  bool eof_ = false, slow_waiting_ = false, slow_done_ = false, done_ = false, stopped_ = false;
};

class session : public std::enable_shared_from_this<session> {
 public:
  struct context {
    asio::io_context& io;
    const options& opts;
    std::string proxy;
    std::string upstream;  // host:port
    std::shared_ptr<shared_stats> stats;
    std::function<void(std::uint64_t serial)> on_closed;
    std::function<void(const char* event, std::map<std::string, std::string>)> log;
  };

  session(context ctx, tcp::socket client, std::uint64_t serial);
  /// Connects to the upstream, then starts both links with `toxics`.
  void start(const toxic_list& toxics);
  /// The proxy's toxics changed: recompute what applies to each link.
  void toxics_changed(const toxic_list& toxics);
  /// Ends the session: FIN both sides (`reset`: RST both sides). Idempotent.
  void close(const std::string& reason, bool reset = false);

  std::uint64_t serial() const noexcept { return serial_; }
  const context& ctx() const noexcept { return ctx_; }
  rng& random() noexcept { return rng_; }
  void delivered(stream dir, std::size_t n);
  void link_done();

 private:
  void connected();

  context ctx_;
  tcp::socket client_;
  tcp::socket server_;
  std::uint64_t serial_;
  rng rng_;
  link up_, down_;
  asio::steady_timer connect_timer_;
  std::shared_ptr<tcp::resolver> resolver_;
  std::string client_address_;
  std::uint64_t bytes_up_ = 0, bytes_down_ = 0;
  bool started_ = false, closed_ = false;
  toxic_list pending_;  // toxics while still connecting
};

}  // namespace achan::fault::detail
