#pragma once
/// Text encodings gRPC uses in HTTP/2 headers (PROTOCOL-HTTP2.md): percent-encoded
/// grpc-message, base64 values of "-bin" metadata, and the rules for which custom metadata
/// keys and values may be sent. Used by the transport when it builds request headers and
/// parses response headers/trailers; all functions are pure and thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace achan::grpc {

/// Percent-encodes a grpc-message value: bytes outside 0x20-0x7E and '%' itself become "%XX"
/// (upper-case hex); everything else is copied. UTF-8 text is thus sent byte by byte.
std::string percent_encode_message(std::string_view text);

/// Decodes a received grpc-message. Lenient, as the spec asks of receivers: a '%' not followed
/// by two hex digits (either case) is kept literally instead of failing the call.
std::string percent_decode_message(std::string_view text);

/// Standard base64 (RFC 4648 alphabet) without padding, as gRPC sends "-bin" header values.
std::string base64_encode(std::string_view bytes);

/// Decodes a "-bin" header value; accepts padded and unpadded input. nullopt for characters
/// outside the alphabet, misplaced or excess '=', or a length no encoding can produce
/// (4k+1 characters, or a padded value whose length is not a multiple of 4).
std::optional<std::string> base64_decode(std::string_view text);

/// True if `key` names binary metadata (ends in "-bin"): its value travels base64-encoded.
bool is_binary_header(std::string_view key) noexcept;

/// True if `key` is a syntactically valid custom metadata key: non-empty, only lower-case
/// a-z, 0-9, '-', '_', '.'. (So pseudo-headers starting with ':' are invalid.) Whether the user
/// may set it is a separate question: see reserved_header().
bool valid_header_key(std::string_view key) noexcept;

/// True if `key` is a header the transport itself writes, so user metadata must not carry it:
/// te, content-type, grpc-timeout, grpc-encoding, grpc-accept-encoding, grpc-status,
/// grpc-message, and any pseudo-header (":..."). grpc-status-details-bin is not reserved.
bool reserved_header(std::string_view key) noexcept;

/// True if `value` may be sent as an ASCII (non "-bin") metadata value: printable 0x20-0x7E.
bool valid_ascii_header_value(std::string_view value) noexcept;

/// Checks request metadata a user supplied: "" if it can be sent, else a one-line reason
/// naming the first bad entry (invalid key, reserved key, or a non-ASCII value under a key
/// that does not end in "-bin").
std::string metadata_error(const std::vector<std::pair<std::string, std::string>>& md);

}  // namespace achan::grpc
