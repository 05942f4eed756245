#pragma once
/// A TCP fault proxy for failure-injection tests: proxies that sit between any client and
/// any server and apply toxics (latency, bandwidth, slicing, timeouts, resets, partitions...)
/// to the bytes passing through, as toxiproxy does. `achan fault-proxy` serves the same
/// engine behind toxiproxy's v2 HTTP API (docs/fault-proxy.md); tests embed it directly:
///
///   achan::fault::proxy_set proxies;                          // one I/O thread
///   auto p = proxies.create({"db", "127.0.0.1:0", "127.0.0.1:5432"});
///   proxies.add_toxic("db", achan::fault::latency(100));      // +100 ms downstream
///   connect_to(p->listen);                                    // "127.0.0.1:PORT"
///
/// Every proxy runs on the set's own I/O thread (asio; no thread per connection). The
/// member functions may be called from any thread except that I/O thread (a log callback
/// must not call back into its set); each returns once the change is in effect.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <achan/result.hpp>

namespace achan::fault {

/// Which direction a toxic acts on: `upstream` is client -> server, `downstream` is
/// server -> client (toxiproxy's names).
enum class stream : std::uint8_t { upstream, downstream };

/// Which connections a toxic applies to (an achan extension; toxiproxy has only `all`):
/// `fresh` the connections accepted after the toxic was added, `established` the ones open
/// when it was added.
enum class scope : std::uint8_t { all, fresh, established };

/// One toxic. `type` is one of latency, bandwidth, slow_close, timeout, reset_peer,
/// slicer, limit_data (toxiproxy's) or partition (achan's: both directions stop passing
/// bytes, the connection stays open). `attributes` holds the type's integer attributes
/// by toxiproxy's names (docs/fault-proxy.md lists them with their units); attributes a
/// type has and the toxic leaves out are 0. `toxicity` is the probability that the toxic
/// applies to a given connection, drawn once per connection from the set's seed.
struct toxic {
  std::string name;  ///< empty: "<type>_<stream>"
  std::string type;
  fault::stream stream = fault::stream::downstream;
  double toxicity = 1.0;  ///< 0..1
  fault::scope scope = fault::scope::all;
  std::map<std::string, std::int64_t> attributes;
};

/// The toxic types and their attribute names, in toxiproxy's order.
const std::map<std::string, std::vector<std::string>>& toxic_types();

/// Checks `t` and fills its defaults (the name; absent attributes as 0). INVALID_ARGUMENT
/// with a message naming the field for an unknown type, an unknown or negative attribute,
/// a toxicity outside 0..1, or an attribute over its bound (docs/fault-proxy.md).
result<toxic> validate(toxic t);

/// Builders for the common toxics (stream downstream, toxicity 1, default name).
toxic latency(std::int64_t ms, std::int64_t jitter_ms = 0,
              fault::stream s = fault::stream::downstream);
toxic bandwidth(std::int64_t kb_per_s, fault::stream s = fault::stream::downstream);
toxic slow_close(std::int64_t delay_ms, fault::stream s = fault::stream::downstream);
toxic timeout(std::int64_t ms, fault::stream s = fault::stream::downstream);
toxic reset_peer(std::int64_t after_ms, fault::stream s = fault::stream::downstream);
toxic slicer(std::int64_t average_size, std::int64_t size_variation, std::int64_t delay_us,
             fault::stream s = fault::stream::downstream);
toxic limit_data(std::int64_t bytes, fault::stream s = fault::stream::downstream);
toxic partition();

/// A proxy's configuration. `listen` and `upstream` are "host:port" ("[::1]:port" for
/// IPv6); port 0 in `listen` picks a free port, which the proxy then keeps (also across
/// disable/enable). A disabled proxy refuses connections and has dropped its open ones.
struct proxy_config {
  std::string name;
  std::string listen;
  std::string upstream;
  bool enabled = true;
};

/// What a proxy has seen since it was created.
struct proxy_stats {
  std::uint64_t accepted = 0;           ///< client connections accepted
  std::uint64_t open = 0;               ///< proxied connections open now
  std::uint64_t upstream_failures = 0;  ///< accepted, but the upstream could not be reached
  std::uint64_t rejected = 0;           ///< closed at once: over max_connections
  std::uint64_t bytes_upstream = 0;     ///< client -> server bytes delivered
  std::uint64_t bytes_downstream = 0;   ///< server -> client bytes delivered
};

/// A proxy as it is now: `config.listen` is the bound address ("127.0.0.1:40123").
struct proxy_info {
  proxy_config config;
  std::vector<toxic> toxics;  ///< in the order they were added
  proxy_stats stats;
};

/// A change to a proxy: the fields set are changed. Changing `listen` or `upstream`
/// restarts the proxy (open connections are dropped).
struct proxy_update {
  std::optional<std::string> listen;
  std::optional<std::string> upstream;
  std::optional<bool> enabled;
};

/// A change to a toxic: `toxicity` and each attribute given (others keep their values).
struct toxic_update {
  std::optional<double> toxicity;
  std::map<std::string, std::int64_t> attributes;
};

/// One thing that happened, for logs: `kind` is "proxy", "toxic" or "connection";
/// `event` says what ("created", "accepted", "closed", "upstream_failed", ...).
struct log_event {
  std::chrono::system_clock::time_point at;
  std::string kind;
  std::string event;
  std::string proxy;
  std::map<std::string, std::string> fields;  ///< e.g. client, upstream, toxic, reason, bytes
};

/// Settings of a proxy set. Every bound a peer could push on is here.
struct options {
  std::uint64_t seed = 1;              ///< toxicity draws, jitter, slicer sizes
  std::size_t read_chunk = 64 * 1024;  ///< bytes read per socket read
  /// Bytes one direction of a connection buffers (read, not yet written); a full buffer
  /// stops reading that side, so a stalled peer back-pressures the other.
  std::size_t max_buffered = 1024 * 1024;
  std::size_t max_connections = 10000;  ///< per proxy; more are closed at once
  std::size_t max_proxies = 1000;
  std::size_t max_toxics = 100;                      ///< per proxy
  std::chrono::milliseconds connect_timeout{10000};  ///< to the upstream
  /// Called on the I/O thread for each log_event; must not block or call into the set.
  std::function<void(const log_event&)> log;
};

/// A set of named proxies on one I/O thread: what `achan fault-proxy` serves and what a
/// test embeds. Errors: INVALID_ARGUMENT (bad field; the message says which),
/// NOT_FOUND (no such proxy or toxic), ALREADY_EXISTS (name taken), RESOURCE_EXHAUSTED
/// (a max_* bound), UNAVAILABLE (could not listen: the message has the OS error).
class proxy_set {
 public:
  explicit proxy_set(options opts = {});
  /// Stops every proxy and closes every connection, then joins the I/O thread.
  ~proxy_set();
  proxy_set(const proxy_set&) = delete;
  proxy_set& operator=(const proxy_set&) = delete;

  /// Creates and (if enabled) starts a proxy.
  result<proxy_info> create(proxy_config config);
  /// Creates each proxy, first deleting one of the same name whose listen or upstream
  /// differs (toxiproxy's populate). Stops at the first error, keeping the ones before.
  result<std::vector<proxy_info>> populate(std::vector<proxy_config> configs);
  result<proxy_info> get(const std::string& name) const;
  /// All proxies, by name.
  std::vector<proxy_info> list() const;
  result<proxy_info> update(const std::string& name, proxy_update change);
  result<void> remove(const std::string& name);
  /// Enables every proxy and removes every toxic (toxiproxy's /reset).
  void reset();

  /// Adds a toxic (validated as by validate()); open connections it applies to get it at once.
  result<toxic> add_toxic(const std::string& proxy, toxic t);
  result<toxic> update_toxic(const std::string& proxy, const std::string& name,
                             toxic_update change);
  result<void> remove_toxic(const std::string& proxy, const std::string& name);

  const options& settings() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One proxy on its own set, for a test: listens on 127.0.0.1 on a free port in front of
/// `upstream` ("127.0.0.1:50051"). Throws std::runtime_error when it cannot listen.
class fault_proxy {
 public:
  explicit fault_proxy(std::string upstream, options opts = {});
  /// "127.0.0.1:PORT": where clients connect.
  const std::string& address() const noexcept { return address_; }
  std::uint16_t port() const noexcept { return port_; }
  /// Adds `t`; throws std::invalid_argument on a bad toxic. Returns its name.
  std::string add(toxic t);
  /// Removes a toxic by name; false when there is none.
  bool remove(const std::string& name);
  /// Removes every toxic and enables the proxy.
  void clear();
  /// false: refuse connections and drop the open ones; true: listen again (same port).
  void set_enabled(bool on);
  proxy_stats stats() const;
  /// The set behind it, for anything else.
  proxy_set& set() noexcept { return *set_; }

 private:
  std::unique_ptr<proxy_set> set_;
  std::string address_;
  std::uint16_t port_ = 0;
};

/// toxiproxy's v2 HTTP API over a proxy set (cpp-httplib, its own threads). `listen`
/// binds host:port (port 0: a free one, see port()).
class http_api {
 public:
  /// Binds and starts serving; throws std::runtime_error when it cannot bind.
  http_api(proxy_set& set, const std::string& host, std::uint16_t port);
  /// Stops serving and joins its threads.
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;
  std::uint16_t port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace achan::fault
