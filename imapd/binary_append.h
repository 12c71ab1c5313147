// binary_append.h: what APPEND does with a message sent as literal8 (RFC 3516 4.4): content
// in "binary" Content-Transfer-Encoding (NUL octets, lines of any length) is stored
// re-encoded in base64, as Dovecot does, so that every later FETCH BODY[...] is a valid IMAP
// string and BINARY[...] gives back exactly the octets the client appended. Pure.
//
// RFC 2045 6.1-6.2 (identity encodings, "binary" is not fit for transport), 6.8 (base64 in
// lines of at most 76 characters); RFC 3516 4.4 (APPEND data sent as literal8).
// Must never: change a part that needs no change; drop or reorder any octet of the rest of the
// message; leave a NUL octet in the result.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hikyaku::imap {

// The message with every leaf part whose body holds a NUL, or whose Content-Transfer-Encoding
// is "binary", base64-encoded (its header's encoding field replaced or added); nullopt when
// no part needed it. A NUL in a header block cannot be re-encoded: nullopt with
// `unfixable` set (the session refuses the APPEND).
std::optional<std::string> encode_binary_parts(std::string_view raw, bool& unfixable);

}  // namespace hikyaku::imap
