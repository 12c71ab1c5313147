// body_text.h: what mailcli shows of a part: its body with the Content-Transfer-Encoding
// undone, text converted to UTF-8 from its charset, and parameter values (file names)
// decoded from RFC 2231 or, as many senders do, RFC 2047.
//
// Implements RFC 2045 6 (7bit/8bit/binary as they are, quoted-printable, base64; unknown
// encodings left as they are, RFC 2045 6.4), RFC 2046 4.1.2 (charset, default us-ascii),
// RFC 2231 3-4 (parameter continuations name*0, name*1..., extended values
// charset'language'%XX), RFC 2047 5 (encoded words in quoted parameter values are not
// allowed by the RFC but common; decoded when no RFC 2231 form is present).
// Must never: read outside the message, return invalid UTF-8 from the *_utf8 functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/message.h"

namespace hikyaku::mime {

// The body of `part` (in `raw`) with its transfer encoding removed.
std::string decode_body(std::string_view raw, const Part& part);

// decode_body() converted from the part's charset to UTF-8 (invalid bytes as U+FFFD; an
// unknown charset gives Errc::unsupported).
Result<std::string> body_text_utf8(std::string_view raw, const Part& part);

// The value of parameter `name` (RFC 2231 or plain, case-insensitive name), as UTF-8.
std::optional<std::string> param_value_utf8(const std::vector<Param>& params, std::string_view name);

}  // namespace hikyaku::mime
