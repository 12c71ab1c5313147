// qp.h: quoted-printable (RFC 2045 6.7) decoding and encoding, and the "Q" encoding of
// RFC 2047 4.2 used inside encoded words.
//
// Decoding is lenient as mail readers must be (RFC 2045 6.7 note 4 allows it): "=" followed
// by something other than two hex digits or a line end is kept as it is; whitespace at the
// end of an encoded line is dropped (rule 3); "=" at the end of a line is a soft line break
// (rule 5), also with trailing whitespace after it. Line ends are kept as written.
// Encoding produces lines of at most 76 characters (rule 5), encodes trailing whitespace,
// "=", controls and 8-bit bytes, and keeps CRLF (or bare LF) line breaks as hard breaks.
// Must never: read past the input or produce more than 3 output bytes per input byte
// plus soft breaks.
#pragma once

#include <string>
#include <string_view>

namespace hikyaku::text {

inline constexpr std::size_t kQpMaxLineLength = 76;  // RFC 2045 6.7 rule 5

std::string qp_decode(std::string_view in);
std::string qp_encode(std::string_view in);

// RFC 2047 4.2: like quoted-printable, and "_" stands for 0x20. No line structure.
std::string q_decode(std::string_view in);

}  // namespace hikyaku::text
