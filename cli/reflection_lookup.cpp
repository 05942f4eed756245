// find_method()'s path without --proto: the method's service, resolved through the
// server's reflection service.
#include "cli/method_lookup.hpp"
#include "cli/reflection_client.hpp"

namespace achan::cli {

result<resolved_method> resolve_by_reflection(channel& ch, const std::string& method,
                                              clock_duration timeout, const metadata& md) {
  auto name = split_method_name(method);
  if (!name)
    throw usage_error(name.error().message);
  auto cat = catalog_from_reflection(ch, {name->service}, timeout, md);
  if (!cat)
    return failure{cat.error()};
  auto m = cat->find_method(method);
  if (!m)
    return failure{m.error().message + " (types from the server's reflection)"};
  auto info = *m;
  return resolved_method{std::move(*cat), info};
}

}  // namespace achan::cli
