// charset.h: conversion of text in a MIME charset to UTF-8 (for RFC 2047 encoded words and
// for rendering text parts), through iconv.
//
// Charset names are MIME names (RFC 2045 5.1, IANA registry), matched case-insensitively;
// an RFC 2231 5 language suffix ("utf-8*en") is ignored. Bytes that are invalid in the
// charset become U+FFFD, so the output is always valid UTF-8.
// Must never: return invalid UTF-8, produce more than max_output bytes, keep iconv state
// between calls (no global state, STYLE 16).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/text/utf8.h"  // utf8_sanitize, which charset_to_utf8 applies to UTF-8 input

namespace hikyaku::text {

// Upper bound on converted output: 4 UTF-8 bytes per input byte, and a sanity cap.
inline constexpr std::size_t kMaxCharsetOutput = 64 * 1024 * 1024;

// Converts `bytes` from `charset` to UTF-8. Errc::unsupported for an unknown charset,
// Errc::limit_exceeded if the output would exceed max_output.
Result<std::string> charset_to_utf8(std::string_view charset, std::string_view bytes,
                                    std::size_t max_output = kMaxCharsetOutput);

// True if charset names US-ASCII or UTF-8 (under any common alias).
bool charset_is_utf8_compatible(std::string_view charset);

}  // namespace hikyaku::text
