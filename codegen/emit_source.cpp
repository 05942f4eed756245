// The generated source: one-line bodies forwarding to achan::glue (include/achan/typed.hpp).
// Parameters a default implementation does not use are left unnamed, so the file
// compiles without warnings under -Wall -Wextra -Wunused-parameter.
#include "codegen/emit.hpp"

namespace achan::codegen {

namespace {

constexpr const char* client_unary = R"(
::std::future<::achan::typed_result<$resp$>> Client::$name$(
    const $req$& request, ::achan::call_options options) {
  return ::achan::glue::unary<$resp$>(
      channel_, $svc$::Methods::$name$, request, ::std::move(options));
}

::achan::call_handle Client::$name$(
    const $req$& request, ::achan::call_options options,
    ::std::function<void(::achan::typed_result<$resp$>&&)> done) {
  return ::achan::glue::unary<$resp$>(
      channel_, $svc$::Methods::$name$, request, ::std::move(options), ::std::move(done));
}
)";

constexpr const char* client_server_stream = R"(
::achan::call_handle Client::$name$(
    const $req$& request, ::achan::call_options options,
    ::std::function<void($resp$&&)> on_message,
    ::std::function<void(::achan::stream_result&&)> done) {
  return ::achan::glue::server_stream<$resp$>(
      channel_, $svc$::Methods::$name$, request, ::std::move(options), ::std::move(on_message),
      ::std::move(done));
}
)";

constexpr const char* client_client_stream = R"(
::achan::request_writer<$req$> Client::$name$(
    ::achan::call_options options,
    ::std::function<void(::achan::typed_result<$resp$>&&)> done) {
  return ::achan::glue::client_stream<$req$, $resp$>(
      channel_, $svc$::Methods::$name$, ::std::move(options), ::std::move(done));
}
)";

constexpr const char* client_bidi_stream = R"(
::achan::request_writer<$req$> Client::$name$(
    ::achan::call_options options,
    ::std::function<void($resp$&&)> on_message,
    ::std::function<void(::achan::stream_result&&)> done) {
  return ::achan::glue::bidi_stream<$req$, $resp$>(
      channel_, $svc$::Methods::$name$, ::std::move(options), ::std::move(on_message),
      ::std::move(done));
}
)";

constexpr const char* service_unary = R"(
void Service::$name$(::achan::transport::server_call_info, $req$,
    ::achan::typed_responder<$resp$> respond) {
  respond.fail(::achan::glue::unimplemented($svc$::Methods::$name$));
}
)";

constexpr const char* service_server_stream = R"(
void Service::$name$(::achan::transport::server_call_info, $req$,
    ::achan::response_writer<$resp$> out) {
  out.finish(::achan::glue::unimplemented($svc$::Methods::$name$));
}
)";

constexpr const char* service_client_stream = R"(
::achan::request_reader<$req$> Service::$name$(
    ::achan::transport::server_call_info, ::achan::typed_responder<$resp$> respond) {
  respond.fail(::achan::glue::unimplemented($svc$::Methods::$name$));
  return {};
}
)";

constexpr const char* service_bidi_stream = R"(
::achan::request_reader<$req$> Service::$name$(
    ::achan::transport::server_call_info, ::achan::response_writer<$resp$> out) {
  out.finish(::achan::glue::unimplemented($svc$::Methods::$name$));
  return {};
}
)";

constexpr const char* stub_head = R"(
StubActor::behavior_type stub_behavior(StubActor::pointer self, ::achan::channel channel) {
  return {
)";

constexpr const char* stub_handler = R"(      [self, channel](const $svc$::$name$Call& call) {
        return ::achan::glue::forward_unary<$resp$>(
            self, channel.actor(), $svc$::Methods::$name$, call.request, call.options);
      },
)";

constexpr const char* stub_tail = R"(  };
}

StubActor spawn_stub(::caf::actor_system& sys, ::achan::channel channel) {
  return sys.spawn(&stub_behavior, ::std::move(channel));
}
)";

const char* client_template(method_kind k) {
  switch (k) {
    case method_kind::unary:
      return client_unary;
    case method_kind::server_stream:
      return client_server_stream;
    case method_kind::client_stream:
      return client_client_stream;
    case method_kind::bidi_stream:
      return client_bidi_stream;
  }
  return "";
}

const char* service_template(method_kind k) {
  switch (k) {
    case method_kind::unary:
      return service_unary;
    case method_kind::server_stream:
      return service_server_stream;
    case method_kind::client_stream:
      return service_client_stream;
    case method_kind::bidi_stream:
      return service_bidi_stream;
  }
  return "";
}

const char* registrar(method_kind k) {
  switch (k) {
    case method_kind::unary:
      return "add_unary";
    case method_kind::server_stream:
      return "add_server_stream";
    case method_kind::client_stream:
      return "add_client_stream";
    case method_kind::bidi_stream:
      return "add_bidi_stream";
  }
  return "";
}

std::string method_text(const char* tmpl, const service_model& s, const method_model& m) {
  return fill(tmpl,
              {{"name", m.name}, {"req", m.request}, {"resp", m.response}, {"svc", s.qualified}});
}

/// One add_to overload: `head` (its signature and opening brace), then each method
/// registered with `holder` ("this" or the shared_ptr "service").
std::string registration(const service_model& s, const char* holder, const char* head) {
  std::string out = "\n";
  out += head;
  for (const auto& m : s.methods)
    out += fill(
        "  ::achan::glue::$fn$(\n"
        "      server, $svc$::Methods::$name$, $holder$, &$svc$::Service::$name$);\n",
        {{"fn", registrar(m.kind)}, {"svc", s.qualified}, {"name", m.name}, {"holder", holder}});
  return out + "}\n";
}

std::string service_text(const service_model& s, const generator_options& options) {
  std::string out = "\nnamespace " + s.ns + " {\n";
  for (const auto& m : s.methods)
    out += method_text(client_template(m.kind), s, m);
  for (const auto& m : s.methods)
    out += method_text(service_template(m.kind), s, m);

  if (s.methods.empty()) {
    out +=
        "\nvoid Service::add_to(::achan::transport::h2_server&) {}\n"
        "\nvoid Service::add_to(::achan::transport::h2_server&, ::std::shared_ptr<Service>) {}\n";
  } else {
    out +=
        registration(s, "this", "void Service::add_to(::achan::transport::h2_server& server) {\n");
    out += registration(s, "service",
                        "void Service::add_to(::achan::transport::h2_server& server,\n"
                        "                     ::std::shared_ptr<Service> service) {\n"
                        "  if (!service)\n"
                        "    return;\n");
  }

  if (options.actor && s.has_unary()) {
    out += stub_head;
    for (const auto& m : s.methods)
      if (m.kind == method_kind::unary)
        out += method_text(stub_handler, s, m);
    out += stub_tail;
  }
  return out + "\n}  // namespace " + s.ns + "\n";
}

}  // namespace

std::string source_text(const file_model& file, const generator_options& options) {
  std::string out = "// Generated by protoc-gen-achan from " + file.proto + ". DO NOT EDIT.\n";
  out += "#include \"" + file.header + "\"\n";
  for (const auto& s : file.services)
    out += service_text(s, options);
  return out;
}

}  // namespace achan::codegen
