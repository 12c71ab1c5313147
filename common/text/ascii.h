// ascii.h: the ASCII rules every parser of protocol text shares: one lower-caser, one
// case-insensitive comparison, and the RFC 5322 3.2.3 atext table.
//
// Must never: depend on the C locale (std::tolower and std::isalpha do), or change or match a
// byte >= 0x80 as if it were a letter (UTF-8 text passes through untouched).
// RFC 5234 B.1 (ALPHA, DIGIT, HEXDIG), RFC 5322 3.2.3 (atext).
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace hikyaku::text {

constexpr bool is_ascii_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_ascii_digit(unsigned char c) { return c >= '0' && c <= '9'; }
constexpr bool is_ascii_alnum(unsigned char c) { return is_ascii_alpha(c) || is_ascii_digit(c); }
constexpr bool is_ascii_hex(unsigned char c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The value of a hex digit (either case), or -1.
constexpr int hex_digit_value(unsigned char c) {
    if (is_ascii_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// 'A'-'Z' to 'a'-'z'; every other byte as it is.
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// 'a'-'z' to 'A'-'Z'; every other byte as it is (verbs, IMAP atoms).
constexpr char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// ascii_lower over a string.
std::string ascii_lowercase(std::string_view s);
// ascii_upper over a string.
std::string ascii_uppercase(std::string_view s);

// Equal under ascii_lower (header names, verbs, keywords, MIME types, charset names).
bool iequals(std::string_view a, std::string_view b);

// RFC 5322 3.2.3: atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
// "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~". ASCII only: a protocol that allows
// UTF-8 there (RFC 6531 3.3, RFC 6532 3.2) adds bytes >= 0x80 itself.
inline constexpr std::array<bool, 256> kAtext = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) table[c] = is_ascii_alnum(static_cast<unsigned char>(c));
    for (unsigned char c : std::string_view("!#$%&'*+-/=?^_`{|}~")) table[c] = true;
    return table;
}();

constexpr bool is_atext(unsigned char c) { return kAtext[c]; }

}  // namespace hikyaku::text
