// gRPC service config lookups (<achan/service_config.hpp>); the JSON parser is in
// service_config_json.cpp.
#include <achan/service_config.hpp>

#include <algorithm>

namespace achan {

bool retry_policy::retryable(status_code c) const noexcept {
  return std::find(retryable_status_codes.begin(), retryable_status_codes.end(), c) !=
         retryable_status_codes.end();
}

bool hedging_policy::non_fatal(status_code c) const noexcept {
  return std::find(non_fatal_status_codes.begin(), non_fatal_status_codes.end(), c) !=
         non_fatal_status_codes.end();
}

const method_config* service_config::find(std::string_view path) const noexcept {
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  if (auto i = by_method.find(path); i != by_method.end())
    return &methods[i->second];
  auto slash = path.find('/');
  if (slash != std::string_view::npos)
    if (auto i = by_service.find(path.substr(0, slash)); i != by_service.end())
      return &methods[i->second];
  return default_method ? &methods[*default_method] : nullptr;
}

}  // namespace achan
