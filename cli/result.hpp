#pragma once
/// The `achan` command's building blocks (.proto loading, JSON mapping, reflection)
/// return the library's achan::result: a value, or a status whose message is ONE line of
/// text the command prints as is ("echo.proto:12:3: Expected ';'"). No exceptions leave
/// these pieces.
#include <string>
#include <utility>

#include <achan/result.hpp>

namespace achan::cli {

/// The error side of a result: one line for the user, without a trailing newline
/// (INVALID_ARGUMENT: what the user gave cannot be used). Functions `return
/// failure{"..."};`; passing another result's error on keeps its code.
struct failure : status {
  failure(std::string message) : status{status_code::invalid_argument, std::move(message)} {}
  failure(status st) : status{std::move(st)} {}
};

/// A `T`, or a failure.
template <class T>
using result = achan::result<T>;

}  // namespace achan::cli
