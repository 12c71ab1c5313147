// rfc2047.h: decoding of RFC 2047 encoded words ("=?charset?B|Q?text?=") in header text, to
// UTF-8, for readers (mailcli, SEARCH, display names). ENVELOPE and BODYSTRUCTURE carry the
// raw text and never use this.
//
// Implements RFC 2047 2 (syntax), 4.1 (B), 4.2 (Q), 5 (where encoded words occur; like
// Dovecot and most readers, also inside words and in quoted strings), 6.2 (linear whitespace
// between two adjacent encoded words is ignored, so a text split over several words joins
// up, including multi-byte characters split between words of the same charset), and
// RFC 2231 5 (a language suffix "charset*lang"). Folding is removed first (RFC 5322 2.2.3).
// Raw 8-bit text outside encoded words is taken as UTF-8 (RFC 6532); anything that is not
// valid UTF-8, and words in unknown charsets, give U+FFFD per bad byte.
// Must never: return invalid UTF-8, read past the input, grow the output beyond a fixed
// multiple of the input.
#pragma once

#include <string>
#include <string_view>

namespace hikyaku::text {

std::string rfc2047_decode(std::string_view header_value);

}  // namespace hikyaku::text
