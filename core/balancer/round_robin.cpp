#include "core/balancer/round_robin.hpp"

#include <memory>
#include <utility>

#include "core/balancer/rr_picker.hpp"

namespace achan {

picker_ptr round_robin::make_picker(std::vector<ready_endpoint> ready) {
  std::vector<transport::connection_ptr> conns;
  conns.reserve(ready.size());
  for (auto& r : ready)
    conns.push_back(std::move(r.conn));
  auto start = static_cast<std::size_t>(helper().random()() % conns.size());
  return std::make_shared<rr_picker>(std::move(conns), start);
}

}  // namespace achan
