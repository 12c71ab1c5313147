// fetch_section.h: what FETCH BODY[section]<partial>, BINARY[part]<partial> and BINARY.SIZE
// send for one message, from its parsed structure (common/mime) and the bytes the session
// reads from the store. Pure helpers: the session reads a range, these filter and decode it.
//
// RFC 9051 6.4.5 (sections: HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME, part
// numbers; partial: an origin past the end gives an empty string; RFC822, RFC822.HEADER and
// RFC822.TEXT as BODY[], BODY.PEEK[HEADER], BODY[TEXT]); RFC 3516 4.2 (BINARY: the part's
// content with its Content-Transfer-Encoding removed; an encoding the server cannot decode
// gives NO [UNKNOWN-CTE]) and 4.2.2 (BINARY.SIZE: the decoded size); RFC 2045 6 (encodings).
//
// HEADER.FIELDS output follows Dovecot: the matching fields in message order, folded lines
// kept with their line ends, then the blank line (always, even when nothing matched).
// Must never: return a range outside the message, or decode more than the part it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/mime/message.h"
#include "common/mime/section.h"
#include "imapd/imap_command.h"

namespace hikyaku::imap {

// The section an item fetches: BODY[...] and BINARY[...] their own; RFC822 is BODY[],
// RFC822.HEADER is BODY[HEADER], RFC822.TEXT is BODY[TEXT]. nullopt for items without one.
std::optional<Section> fetched_section(const FetchItem& item);

// The bytes of `section` in the raw message (HEADER.FIELDS (.NOT) name the header block they
// filter). nullopt when the section does not exist (Dovecot then sends an empty string).
std::optional<mime::ByteRange> section_range(const mime::ParsedMessage& message, const Section& section);

// HEADER.FIELDS (exclude = false) or HEADER.FIELDS.NOT (exclude = true) applied to a header
// block (names compared ASCII case-insensitively).
std::string filter_header_fields(std::string_view header, std::span<const std::string> fields, bool exclude);

// <offset.length> applied to a range of `size` octets: the sub-range, relative to its start.
mime::ByteRange partial_range(std::uint64_t size, const std::optional<Partial>& partial);
std::string_view apply_partial(std::string_view data, const std::optional<Partial>& partial);

enum class TransferEncoding : std::uint8_t { identity, base64, quoted_printable, unknown };
// RFC 2045 6.1: absent, 7bit, 8bit, binary are identity; case-insensitive.
TransferEncoding classify_encoding(const std::optional<std::string>& encoding);

// Where the content of BINARY[part] is and how to decode it. Multiparts and message/rfc822
// parts are sent as they are (RFC 2045 6.4: their encoding is an identity).
struct BinarySection {
    mime::ByteRange range;
    TransferEncoding encoding = TransferEncoding::identity;
};
enum class BinaryError : std::uint8_t {
    no_such_part,  // the session sends an empty string, as for BODY
    unknown_cte,   // NO [UNKNOWN-CTE] (RFC 3516 4.2)
};
std::variant<BinarySection, BinaryError> binary_section(const mime::ParsedMessage& message, const Section& section);

// The decoded content (never fails for identity, base64 and quoted-printable; unknown gives
// BinaryError::unknown_cte).
std::variant<std::string, BinaryError> decode_binary(std::string_view content, TransferEncoding encoding);
// BINARY.SIZE (RFC 3516 4.2.2): the size decode_binary() would give.
std::variant<std::uint64_t, BinaryError> binary_size(std::string_view content, TransferEncoding encoding);

}  // namespace hikyaku::imap
