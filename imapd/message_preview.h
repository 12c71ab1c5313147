// message_preview.h: the PREVIEW of a message (RFC 8970 3): a short plain-text abstract from
// its first text part, for FETCH PREVIEW.
//
// The part is the first text/plain or text/html leaf met depth-first (within a
// multipart/alternative, its text/plain when there is one; attached messages are not entered,
// RFC 8970 3: "the first text body part"). Its transfer encoding and charset are undone
// (common/mime/body_text.h); text/html loses its tags, comments and <script>/<style> content,
// and the common character references are decoded; runs of whitespace become one space; the
// result is trimmed and cut to at most PreviewLimits::max_characters Unicode characters
// (RFC 8970 3: at most 256), never inside a UTF-8 sequence. No text part gives "".
// Pure: no I/O. Must never: read past PreviewLimits::max_encoded_bytes of the part's body (a
// huge part costs no more than a small one), return invalid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/mime/message.h"

namespace hikyaku::imap {

// RFC 8970 3: "the server MUST NOT return more than 256 characters".
inline constexpr std::size_t kMaxPreviewCharacters = 256;
// Octets of the part's encoded body looked at: enough for 256 characters after markup.
inline constexpr std::size_t kMaxPreviewEncodedBytes = 16 * 1024;

struct PreviewLimits {
    std::size_t max_characters = kMaxPreviewCharacters;
    std::size_t max_encoded_bytes = kMaxPreviewEncodedBytes;
};

// The part a preview is made from, or nullptr when there is none.
const mime::Part* preview_part(const mime::ParsedMessage& message);
// The preview of `part` given its encoded body alone (`body`, of which at most
// max_encoded_bytes are used): what a caller that reads only those octets passes.
std::string part_preview(std::string_view body, const mime::Part& part, const PreviewLimits& limits = {});
// Both over the whole message.
std::string message_preview(std::string_view raw, const mime::ParsedMessage& message, const PreviewLimits& limits = {});

}  // namespace hikyaku::imap
