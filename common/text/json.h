// json.h: JSON string literals for the --json output of the command-line tools (RFC 8259 7).
//
// Must never: emit invalid JSON or invalid UTF-8 (invalid sequences become U+FFFD first).
#pragma once

#include <string>
#include <string_view>

namespace hikyaku::text {

// `text` as a quoted JSON string: ", \ and control characters escaped.
std::string json_string(std::string_view text);

}  // namespace hikyaku::text
