// utf8.h: the one UTF-8 codec (RFC 3629 3-4): code points one at a time, for code that works
// on characters rather than octets (IMAP modified UTF-7 mailbox names, SEARCH case folding),
// the validator every protocol uses, and the repair of text that is not UTF-8.
//
// Strict, as RFC 3629 4's table: overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates
// (ED A0-BF), values above U+10FFFF (F4 90-BF, F5-FF), stray continuation octets and sequences
// cut short by the end of the input are invalid.
// Must never: read outside the input, or call a sequence valid that the table refuses.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hikyaku::text {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// The code point at s[i], advancing i past it; nullopt for an invalid sequence (i then
// advances by one octet, so a caller can substitute U+FFFD and go on). i < s.size().
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i);

// Appends c (at most U+10FFFF) in UTF-8.
void append_code_point(std::string& out, char32_t c);

// Length (1 to 4) of the valid sequence that starts at s[i], or 0 if the octets there do not
// start one. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// True if all of s is valid UTF-8 (the empty string is).
bool is_valid_utf8(std::string_view s);

// s with every octet that does not start a valid sequence replaced by U+FFFD; the result is
// always valid UTF-8 and equals s when s is valid.
std::string utf8_sanitize(std::string_view s);

}  // namespace hikyaku::text
