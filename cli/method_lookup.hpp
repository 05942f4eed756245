#pragma once
/// Shared by `achan call` and `achan bench`: the --proto / -I / -d flags, finding the
/// method's message types (from .proto files, or from the server's reflection service
/// when no --proto is given), and reading the request messages from -d.
#include <string>
#include <vector>

#include <achan/channel.hpp>
#include "cli/flags.hpp"
#include "cli/json_codec.hpp"
#include "cli/proto_catalog.hpp"
#include "cli/result.hpp"

namespace achan::cli {

/// Appends --proto, --import-path/-I and --data/-d to `flags`.
void add_method_flags(std::vector<flag_spec>& flags);

/// A method with the types to encode its requests and decode its responses.
struct resolved_method {
  proto_catalog catalog;
  method_info info;
};

/// With --proto: loads the files (an unreadable or malformed file, or a method they do
/// not declare, is a usage_error). Without: asks `ch`'s server through reflection
/// (grpc.reflection.v1alpha) within `timeout`, sending the call's metadata `md` (servers
/// may want credentials there too); that failing is a failure (the caller prints it and
/// exits 1).
result<resolved_method> find_method(const parsed_args& args, channel& ch, const std::string& method,
                                    clock_duration timeout, const metadata& md);

/// The request messages from -d: inline JSON, @FILE, or @- (stdin); one JSON object per
/// message (any whitespace between). Absent -d: one empty message `{}` for methods
/// taking one request, none for client- and bidi-streaming ones. Throws usage_error for
/// unreadable input, malformed JSON or a JSON value that does not fit the request type,
/// and for more than one message to a method that takes one.
std::vector<std::string> read_requests(const parsed_args& args, const resolved_method& m);

}  // namespace achan::cli
