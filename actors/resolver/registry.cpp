#include <algorithm>
#include <cctype>

#include <achan/etcd.hpp>
#include <achan/resolver.hpp>
#include "actors/resolver/dns_resolver.hpp"
#include "actors/resolver/static_resolver.hpp"

namespace achan {
namespace {
bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}
}  // namespace

resolver_registry resolver_registry::with_builtins(const dns_options& dns) {
  resolver_registry r;
  for (auto& b : builtin_static_builders())
    r.add(std::move(b));
  r.add(make_dns_builder(dns));
  r.add(make_etcd_resolver());
  return r;
}

void resolver_registry::add(resolver_builder_ptr b) {
  auto scheme = b->scheme();
  std::erase_if(builders_, [&](const auto& x) { return iequals(x->scheme(), scheme); });
  builders_.push_back(std::move(b));
}

resolver_builder_ptr resolver_registry::find(std::string_view scheme) const {
  for (auto& b : builders_)
    if (iequals(b->scheme(), scheme))
      return b;
  return nullptr;
}

}  // namespace achan
