#include <achan/h2_transport.hpp>

#include <mutex>
#include <vector>

#include "transport/h2/client_connection.hpp"
#include "transport/h2/io_pool.hpp"

namespace achan::transport {
namespace {

class h2_transport final : public transport {
 public:
  explicit h2_transport(h2_options opts)
      : ctx_(std::make_shared<h2_client_context>(io_pool::make(opts.io_threads), std::move(opts))) {
  }

  /// Closes the connections still open: a connection's pending read keeps it (and the
  /// I/O threads it holds) alive until its socket closes, so one its owner dropped
  /// without close() would otherwise keep the threads running until the process exits.
  ~h2_transport() override {
    std::vector<std::weak_ptr<h2_client_connection>> open;
    {
      std::lock_guard lk{mx_};
      open.swap(open_);
    }
    for (auto& w : open)
      if (auto c = w.lock())
        c->close();
  }

  bool secure() const noexcept override { return ctx_->tls != nullptr; }

  connection_ptr connect(const std::string& address,
                         std::shared_ptr<connection_events> events) override {
    auto c = std::make_shared<h2_client_connection>(ctx_, address, std::move(events));
    {
      std::lock_guard lk{mx_};
      // Forget the connections that are gone, now and then: amortised O(1) per connect.
      if (open_.size() >= 2 * live_hint_ + 16) {
        std::erase_if(open_, [](const auto& w) { return w.expired(); });
        live_hint_ = open_.size();
      }
      open_.push_back(c);
    }
    c->start();
    return c;
  }

 private:
  // Shared with every connection: the I/O threads stop once the transport and all of
  // its connections are gone.
  std::shared_ptr<h2_client_context> ctx_;
  // Guards open_ between the threads that connect (subchannel actors) and the destructor;
  // transport code, never touched by an actor's state.
  std::mutex mx_;
  std::vector<std::weak_ptr<h2_client_connection>> open_;
  std::size_t live_hint_ = 0;
};

}  // namespace

status validate(const h2_options& opts) {
  if (!opts.tls)
    return {};
  auto built = tls::context::client(*opts.tls);
  return built ? status{} : built.error();
}

transport_ptr make_h2_transport(h2_options opts) {
  return std::make_shared<h2_transport>(std::move(opts));
}

}  // namespace achan::transport
