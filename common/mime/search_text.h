// search_text.h: the text a message is searched in, as IMAP SEARCH sees it (RFC 9051 6.4.4),
// shared by the search evaluator (imapd/search_eval.h) and the store's full-text index
// (storage/message.h prepares it at delivery and APPEND), so both see the very same text.
//
// search_fold() is the case folding the matcher uses: ASCII, Latin-1, Latin Extended-A, Greek
// and Cyrillic folded one code point to one (a subset of i;unicode-casemap, RFC 5051).
// searchable_body_text() is what BODY searches: every text/* leaf with its transfer encoding
// and charset undone (RFC 2045 6, RFC 2046 4.1.2), and for attached message/rfc822 parts
// their header fields (RFC 2047 decoded) and text, each followed by a newline.
// searchable_header_text() is what TEXT adds: the top-level fields as "Name: value\n",
// unfolded and RFC 2047 decoded.
// Must never: read outside `raw`, return more than max_bytes from searchable_body_text, or
// return invalid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/header.h"
#include "common/mime/message.h"

namespace hikyaku::mime {

// Octets of decoded body text kept for one message.
inline constexpr std::size_t kMaxSearchableText = 64u << 20;

std::string search_fold(std::string_view utf8);

// A header field's value as searched: unfolded, encoded words decoded.
std::string decoded_header_value(const HeaderField& field);

std::string searchable_body_text(std::string_view raw, const ParsedMessage& message,
                                 std::size_t max_bytes = kMaxSearchableText);

std::string searchable_header_text(const std::vector<HeaderField>& fields);

// The octets, as stored (transfer-encoded), that searchable_body_text() decodes: the bodies of
// the text leaves and the headers of attached messages. Decoding makes at most three times as
// many (a single-octet charset to UTF-8), so a caller can bound its memory before decoding.
std::size_t searchable_source_octets(const Part& part);

}  // namespace hikyaku::mime
