// base64.h: Base64 encoding and decoding (RFC 4648 section 4, the standard alphabet).
//
// Two decoders for two kinds of input:
//   - strict (SASL, RFC 4954 / RFC 5034): every character must be in the alphabet, padding
//     must be exact (length a multiple of 4, at most two '=', only at the end, and the unused
//     bits of the last symbol must be zero, RFC 4648 3.5). No whitespace.
//   - lenient (MIME bodies, RFC 2045 6.8): characters outside the alphabet are ignored, decoding
//     stops at the first '=', a trailing partial group is decoded as far as it goes.
// Never reads past the input, never allocates more than the input size (plus wrapping).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace hikyaku::text {

// RFC 2045 6.8: encoded lines are at most 76 characters.
inline constexpr std::size_t kBase64MimeLineLength = 76;

// Encodes `in`. With wrap_at > 0, inserts CRLF after every wrap_at output characters (no CRLF
// after the last line). wrap_at = 0 gives one line (the SASL form).
std::string base64_encode(std::string_view in, std::size_t wrap_at = 0);

enum class Base64Error {
    bad_character,  // a character outside the alphabet (including whitespace)
    bad_length,     // length not a multiple of 4
    bad_padding,    // '=' in the wrong place, too many '=', or non-zero pad bits
};
const char* to_string(Base64Error e);

// Strict decoding (see above). The empty string decodes to the empty string.
std::variant<std::string, Base64Error> base64_decode_strict(std::string_view in);

// Lenient decoding (see above); never fails.
std::string base64_decode_lenient(std::string_view in);

}  // namespace hikyaku::text
