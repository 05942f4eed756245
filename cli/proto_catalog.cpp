#include "cli/proto_catalog.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "cli/well_known_types.hpp"

namespace achan::cli {
namespace {

namespace pb = google::protobuf;

/// At most this many names are listed in a "not found" message.
constexpr std::size_t max_listed = 8;

/// "a, b, c" (at most max_listed names, then ", ...").
std::string join_some(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max_listed; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > max_listed)
    out += ", ...";
  return out;
}

/// Keeps the first parse or validation error of a run-time .proto load, as one line.
class first_error_collector : public pb::compiler::MultiFileErrorCollector {
 public:
  explicit first_error_collector(std::string search_path) : search_path_(std::move(search_path)) {}

  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!first_.empty())
      return;
    if (line < 0) {
      // The source tree could not open the file (an import: top-level files are checked
      // before loading). Its own message is a bare "File not found.".
      first_ = "cannot read '" + filename + "': ";
      first_ += message == "File not found." ? "not found in import path " + search_path_ : message;
      return;
    }
    first_ = filename + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
             message;
  }

  const std::string& first() const noexcept { return first_; }

 private:
  std::string search_path_;
  std::string first_;
};

/// Keeps the first error of building descriptors that came from somewhere else.
class first_build_error : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    if (first_.empty())
      first_ = filename + (element_name.empty() ? "" : ": " + element_name) + ": " + message;
  }
  const std::string& first() const noexcept { return first_; }

 private:
  std::string first_;
};

/// "cannot read 'f': <errno text>" for a file that exists in no usable form.
failure unreadable(const std::string& file, int err) {
  return failure{"cannot read '" + file + "': " + std::strerror(err)};
}

}  // namespace

struct proto_catalog::state {
  // Declared before the databases and the pool that report into them.
  std::unique_ptr<first_error_collector> errors;
  pb::compiler::DiskSourceTree tree;
  well_known_database well_known;
  std::unique_ptr<pb::compiler::SourceTreeDescriptorDatabase> source_db;
  // Declared last: destroyed before the databases it reads from.
  std::unique_ptr<pb::DescriptorPool> pool;
  std::vector<const pb::FileDescriptor*> roots;
  std::string origin;
};

proto_catalog::proto_catalog(std::unique_ptr<state> s) : s_(std::move(s)) {}
proto_catalog::proto_catalog(proto_catalog&&) noexcept = default;
proto_catalog& proto_catalog::operator=(proto_catalog&&) noexcept = default;
proto_catalog::~proto_catalog() = default;

result<proto_catalog> proto_catalog::from_files(const std::vector<std::string>& proto_files,
                                                const std::vector<std::string>& import_paths) {
  namespace fs = std::filesystem;
  if (proto_files.empty())
    return failure{"no .proto file given"};
  auto s = std::make_unique<state>();

  std::vector<std::string> roots = import_paths;
  if (roots.empty())
    for (const auto& f : proto_files) {
      auto dir = fs::path(f).parent_path().string();
      if (dir.empty())
        dir = ".";
      if (std::find(roots.begin(), roots.end(), dir) == roots.end())
        roots.push_back(dir);
    }
  for (const auto& r : roots)
    s->tree.MapPath("", r);

  // Virtual names ("echo.proto") of the files to load, in the order given.
  std::vector<std::string> names;
  for (const auto& f : proto_files) {
    std::string virtual_name, shadow;
    switch (s->tree.DiskFileToVirtualFile(f, &virtual_name, &shadow)) {
      case pb::compiler::DiskSourceTree::SUCCESS:
        break;
      case pb::compiler::DiskSourceTree::SHADOWED:
        return failure{"'" + f + "' is hidden by '" + shadow +
                       "' earlier in the import path; reorder -I or load that file"};
      case pb::compiler::DiskSourceTree::CANNOT_OPEN:
        return unreadable(f, ::access(f.c_str(), R_OK) != 0 ? errno : ENOENT);
      case pb::compiler::DiskSourceTree::NO_MAPPING:
        if (s->tree.VirtualFileToDiskFile(f, nullptr)) {
          virtual_name = f;  // a name relative to an import path, as protoc and grpcurl take
        } else if (::access(f.c_str(), R_OK) == 0) {
          auto dir = fs::path(f).parent_path().string();
          s->tree.MapPath("", dir.empty() ? "." : dir);
          roots.push_back(dir.empty() ? "." : dir);
          virtual_name = fs::path(f).filename().string();
        } else {
          return unreadable(f, errno);
        }
        break;
    }
    if (std::find(names.begin(), names.end(), virtual_name) == names.end())
      names.push_back(virtual_name);
  }

  std::string search_path;
  for (const auto& r : roots)
    search_path += (search_path.empty() ? "" : ":") + r;
  s->errors = std::make_unique<first_error_collector>(search_path);
  s->source_db =
      std::make_unique<pb::compiler::SourceTreeDescriptorDatabase>(&s->tree, &s->well_known);
  s->source_db->RecordErrorsTo(s->errors.get());
  s->pool = std::make_unique<pb::DescriptorPool>(s->source_db.get(),
                                                 s->source_db->GetValidationErrorCollector());
  for (const auto& name : names) {
    const auto* file = s->pool->FindFileByName(name);
    if (file == nullptr)
      return failure{s->errors->first().empty() ? "cannot load '" + name + "'"
                                                : s->errors->first()};
    s->roots.push_back(file);
    s->origin += (s->origin.empty() ? "" : ", ") + name;
  }
  return proto_catalog{std::move(s)};
}

result<proto_catalog> proto_catalog::from_descriptors(
    const std::vector<pb::FileDescriptorProto>& files, std::string origin) {
  auto s = std::make_unique<state>();
  s->origin = std::move(origin);
  s->pool = std::make_unique<pb::DescriptorPool>();
  const auto bad = [&](const std::string& why) {
    return failure{"invalid descriptor from " + s->origin + ": " + why};
  };

  std::map<std::string, const pb::FileDescriptorProto*> by_name;
  std::vector<std::string> order;  // first appearance of each name
  for (const auto& f : files)
    if (by_name.emplace(f.name(), &f).second)
      order.push_back(f.name());

  // Builds `name` after its dependencies (depth first); `visiting` catches cycles.
  first_build_error errors;
  std::set<std::string> visiting;
  std::function<result<const pb::FileDescriptor*>(const std::string&, const std::string&)> build;
  build = [&](const std::string& name,
              const std::string& importer) -> result<const pb::FileDescriptor*> {
    if (const auto* done = s->pool->FindFileByName(name))
      return done;
    auto it = by_name.find(name);
    pb::FileDescriptorProto well_known_copy;
    const pb::FileDescriptorProto* proto = nullptr;
    if (it != by_name.end())
      proto = it->second;
    else if (s->well_known.FindFileByName(name, &well_known_copy))
      proto = &well_known_copy;
    else
      return bad("'" + importer + "' imports '" + name + "', which is missing");
    if (!visiting.insert(name).second)
      return bad("import cycle through '" + name + "'");
    for (const auto& dep : proto->dependency())
      if (auto d = build(dep, name); !d)
        return d;
    visiting.erase(name);
    const auto* file = s->pool->BuildFileCollectingErrors(*proto, &errors);
    if (file == nullptr)
      return bad(errors.first().empty() ? "cannot build '" + name + "'" : errors.first());
    return file;
  };
  for (const auto& name : order) {
    auto file = build(name, "");
    if (!file)
      return failure{file.error()};
    s->roots.push_back(*file);
  }
  return proto_catalog{std::move(s)};
}

result<method_name> split_method_name(std::string_view name) {
  const auto invalid = [&] {
    return failure{"invalid method name '" + std::string(name) +
                   "': expected /package.Service/Method"};
  };
  std::string_view n = name;
  if (n.starts_with('/'))
    n.remove_prefix(1);
  auto cut = n.rfind('/');
  if (cut == std::string_view::npos)
    cut = n.rfind('.');
  if (cut == std::string_view::npos || cut == 0 || cut + 1 == n.size())
    return invalid();
  method_name out{std::string(n.substr(0, cut)), std::string(n.substr(cut + 1))};
  if (out.method.find_first_of("./") != std::string::npos ||
      out.service.find('/') != std::string::npos || out.service.starts_with('.') ||
      out.service.ends_with('.'))
    return invalid();
  return out;
}

result<method_info> proto_catalog::find_method(std::string_view name) const {
  auto parts = split_method_name(name);
  if (!parts)
    return failure{parts.error()};
  const std::string& service_name = parts->service;
  const auto* service = s_->pool->FindServiceByName(service_name);
  if (service == nullptr) {
    auto known = services();
    return failure{
        "service '" + service_name + "' not found in " + s_->origin +
        (known.empty() ? " (it declares no services)" : " (it has: " + join_some(known) + ")")};
  }
  const auto* method = service->FindMethodByName(parts->method);
  if (method == nullptr) {
    std::vector<std::string> known;
    for (int i = 0; i < service->method_count(); ++i)
      known.push_back(service->method(i)->name());
    return failure{
        "method '" + parts->method + "' not found in service " + service->full_name() +
        (known.empty() ? " (it has no methods)" : " (it has: " + join_some(known) + ")")};
  }
  method_info m;
  m.path = "/" + service->full_name() + "/" + method->name();
  m.method = method;
  m.input = method->input_type();
  m.output = method->output_type();
  m.client_streaming = method->client_streaming();
  m.server_streaming = method->server_streaming();
  return m;
}

const pb::Descriptor* proto_catalog::find_message(std::string_view full_name) const {
  return s_->pool->FindMessageTypeByName(std::string(full_name));
}

std::vector<std::string> proto_catalog::services() const {
  std::vector<std::string> out;
  for (const auto* file : s_->roots)
    for (int i = 0; i < file->service_count(); ++i)
      out.push_back(file->service(i)->full_name());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const std::string& proto_catalog::origin() const noexcept {
  return s_->origin;
}

const pb::DescriptorPool& proto_catalog::pool() const noexcept {
  return *s_->pool;
}

}  // namespace achan::cli
