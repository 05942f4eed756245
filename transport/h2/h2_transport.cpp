#include <achan/h2_transport.hpp>

#include "transport/h2/client_connection.hpp"
#include "transport/h2/io_pool.hpp"

namespace achan::transport {
namespace {

class h2_transport final : public transport {
 public:
  explicit h2_transport(h2_options opts)
      : ctx_(std::make_shared<h2_client_context>(io_pool::make(opts.io_threads), std::move(opts))) {
  }

  connection_ptr connect(const std::string& address,
                         std::shared_ptr<connection_events> events) override {
    auto c = std::make_shared<h2_client_connection>(ctx_, address, std::move(events));
    c->start();
    return c;
  }

 private:
  // Shared with every connection: the I/O threads stop once the transport and all of
  // its connections are gone.
  std::shared_ptr<h2_client_context> ctx_;
};

}  // namespace

transport_ptr make_h2_transport(h2_options opts) {
  return std::make_shared<h2_transport>(std::move(opts));
}

}  // namespace achan::transport
