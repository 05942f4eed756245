#include "core/balancer/least_request.hpp"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "core/balancer/lb_json.hpp"
#include "core/balancer/pick_random.hpp"

namespace achan {
namespace {

/// Picks the least loaded of `choices` random READY endpoints.
class least_request_picker final : public picker {
 public:
  struct endpoint {
    transport::connection_ptr conn;
    tracker_ref<outstanding_tracker> tracker;
  };

  least_request_picker(std::vector<endpoint> eps, unsigned choices, std::uint64_t seed)
      : eps_(std::move(eps)), choices_(choices), random_(seed) {}

  pick_result pick(const pick_info&) const noexcept override {
    auto n = eps_.size();
    auto best = random_.below(n);
    auto best_load = eps_[best].tracker->outstanding.load(std::memory_order_relaxed);
    for (unsigned i = 1; i < choices_ && n > 1; ++i) {
      auto c = random_.below(n);
      auto load = eps_[c].tracker->outstanding.load(std::memory_order_relaxed);
      if (load < best_load) {
        best = c;
        best_load = load;
      }
    }
    auto& e = eps_[best];
    e.tracker->outstanding.fetch_add(1, std::memory_order_relaxed);
    pick_result r{pick_result::kind::complete, &e.conn, nullptr};
    r.trackers[0] = e.tracker.get();
    return r;
  }

 private:
  std::vector<endpoint> eps_;
  unsigned choices_;
  atomic_random random_;
};

}  // namespace

result<least_request_config> parse_least_request_config(std::string_view json,
                                                        const std::string& path) {
  return parse_policy_config<least_request_config>(json, path, [](const sc_json::node& n) {
    least_request_config c;
    if (auto cc = n.get("choiceCount")) {
      auto v = sc_json::as_integer(*cc->v);
      if (!v || v->negative)
        cc->must_be("a non-negative integer");
      c.choice_count = static_cast<unsigned>(std::clamp<std::uint64_t>(v->magnitude, 2, 10));
    }
    return c;
  });
}

status least_request::configure(const lb_config& cfg) {
  auto c = parse_least_request_config(cfg.config, "least_request");
  if (!c)
    return c.error();
  cfg_ = *c;
  return {};
}

void least_request::addresses_changed() {
  trackers_.prune(list());
}

const outstanding_tracker* least_request::tracker(const std::string& address) const {
  return trackers_.find(address);
}

picker_ptr least_request::make_picker(std::vector<ready_endpoint> ready) {
  std::vector<least_request_picker::endpoint> eps;
  eps.reserve(ready.size());
  for (auto& r : ready) {
    auto& t = trackers_.get(*r.address, [] { return make_tracker<outstanding_tracker>(); });
    eps.push_back({std::move(r.conn), t});
  }
  return std::make_shared<least_request_picker>(std::move(eps), cfg_.choice_count,
                                                helper().random()());
}

}  // namespace achan
