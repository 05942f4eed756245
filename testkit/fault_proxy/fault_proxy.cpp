// fault_proxy: one proxy on its own set, the shape most tests want.
#include <achan/fault_proxy.hpp>

#include <stdexcept>

namespace achan::fault {
namespace {
constexpr const char* name = "proxy";
}

fault_proxy::fault_proxy(std::string upstream, options opts)
    : set_(std::make_unique<proxy_set>(std::move(opts))) {
  auto p = set_->create({name, "127.0.0.1:0", std::move(upstream), true});
  if (!p)
    throw std::runtime_error("fault_proxy: " + p.error().message);
  address_ = p->config.listen;
  port_ = static_cast<std::uint16_t>(std::stoul(address_.substr(address_.rfind(':') + 1)));
}

std::string fault_proxy::add(toxic t) {
  auto r = set_->add_toxic(name, std::move(t));
  if (!r)
    throw std::invalid_argument("fault_proxy: " + r.error().message);
  return r->name;
}

bool fault_proxy::remove(const std::string& toxic_name) {
  return set_->remove_toxic(name, toxic_name).ok();
}

void fault_proxy::clear() {
  set_->reset();
}

void fault_proxy::set_enabled(bool on) {
  proxy_update u;
  u.enabled = on;
  auto r = set_->update(name, u);
  if (!r)
    throw std::runtime_error("fault_proxy: " + r.error().message);
}

proxy_stats fault_proxy::stats() const {
  return set_->get(name)->stats;
}

}  // namespace achan::fault
