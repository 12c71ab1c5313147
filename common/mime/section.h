// section.h: the bytes an IMAP FETCH BODY[section] names (RFC 3501 6.4.5), as a range of the
// raw message, from the parsed structure alone (imapd reads the range from the store and
// applies <partial> and HEADER.FIELDS filtering itself).
//
// parts = the numeric part specifier ("1.2" -> {1, 2}, empty for the whole message), text =
// what follows it: nothing (the part's body; for message/rfc822 the whole encapsulated
// message), HEADER or TEXT (only at the top level or on a message/rfc822 part: that
// message's header / body), MIME (only with a part number: the part's own MIME header).
// Must never: return a range outside the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/mime/message.h"

namespace hikyaku::mime {

enum class SectionText { none, header, text, mime };

struct ByteRange {
    std::size_t offset = 0;
    std::size_t size = 0;
    bool operator==(const ByteRange&) const = default;
};

// nullopt when the section does not exist (RFC 3501 leaves the reply to the server; Dovecot
// answers with an empty string).
std::optional<ByteRange> section_range(const ParsedMessage& message, const std::vector<std::uint32_t>& parts,
                                       SectionText text);

}  // namespace hikyaku::mime
