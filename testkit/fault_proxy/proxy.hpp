#pragma once
// One named proxy on the set's I/O thread: an acceptor on `listen`, a session per client
// connection, and the proxy's toxics (shared with the sessions they apply to).
#include <map>
#include <memory>
#include <string>

#include "testkit/fault_proxy/session.hpp"

namespace achan::fault::detail {

class proxy : public std::enable_shared_from_this<proxy> {
 public:
  using logger = std::function<void(const char* kind, const char* event, const std::string& proxy,
                                    std::map<std::string, std::string> fields)>;

  proxy(asio::io_context& io, const options& opts, proxy_config config, logger log);
  ~proxy();

  /// Binds `listen` (remembering the port picked for port 0) and accepts. UNAVAILABLE
  /// with the OS error when it cannot bind; INVALID_ARGUMENT for a malformed address.
  result<void> start();
  /// Stops accepting and closes every open connection.
  void stop();
  /// Applies a change (restarting on a new listen or upstream address).
  result<void> update(const proxy_update& change);

  result<toxic> add_toxic(toxic t);
  result<toxic> update_toxic(const std::string& name, const toxic_update& change);
  result<void> remove_toxic(const std::string& name);
  void clear_toxics();

  proxy_info info() const;
  const std::string& name() const noexcept { return config_.name; }

 private:
  void accept();
  void toxics_changed();
  void log(const char* kind, const char* event, std::map<std::string, std::string> fields);

  asio::io_context& io_;
  const options& opts_;
  proxy_config config_;
  logger log_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::map<std::uint64_t, std::shared_ptr<session>> sessions_;
  std::shared_ptr<shared_stats> stats_ = std::make_shared<shared_stats>();
  toxic_list toxics_;
  std::uint64_t next_serial_ = 0;
  std::uint64_t accept_gen_ = 0;  // a stale accept handler (after stop) is ignored
};

}  // namespace achan::fault::detail
