#include "transport/h2/h2_transport.hpp"

#include "transport/h2/client_connection.hpp"
#include "transport/h2/io_pool.hpp"

namespace achan::transport {
namespace {

class h2_transport final : public transport {
 public:
  explicit h2_transport(h2_options opts) : opts_(std::move(opts)), pool_(opts_.io_threads) {}

  connection_ptr connect(const std::string& address,
                         std::shared_ptr<connection_events> events) override {
    auto c =
        std::make_shared<h2_client_connection>(pool_.context(), address, std::move(events), opts_);
    c->start();
    return c;
  }

 private:
  h2_options opts_;
  io_pool pool_;  // last: its threads stop before the options go
};

}  // namespace

transport_ptr make_h2_transport(h2_options opts) {
  return std::make_shared<h2_transport>(std::move(opts));
}

}  // namespace achan::transport
