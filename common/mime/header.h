// header.h: RFC 5322 header blocks as byte ranges of the raw message, and the helpers readers
// use on field values (unfolding, lookup by name).
//
// Implements RFC 5322 2.2 (fields: name ":" value), 2.2.3 (folding: a line starting with SP or
// HT continues the field), and the end of the header block at the first empty line
// (RFC 5322 2.1; bare LF accepted as a line end, as real servers do).
// Lenient as Dovecot: a line without ':' is kept as a field with that name and an empty value;
// a block without an empty line runs to the end of its entity (no body).
// Must never: read outside [begin, end), keep more fields or bytes than ParseLimits allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/limits.h"
#include "common/text/ascii.h"

namespace hikyaku::mime {

struct HeaderField {
    std::string name;        // as written, whitespace before ':' removed
    std::string value;       // raw: after ':' and the following SP/HT; folds kept with their line
                             // ends; the final line end removed. Capped at max_header_field_size.
    std::size_t offset = 0;  // first byte of the field in the raw message
    std::size_t size = 0;    // bytes of the field, continuation lines and final line end included
    bool operator==(const HeaderField&) const = default;
};

struct HeaderBlock {
    std::vector<HeaderField> fields;
    std::size_t size = 0;        // bytes from begin up to and including the empty line, if any
    std::uint32_t degraded = 0;  // Degradation bits
};

// Parses the header block at raw[begin, end).
HeaderBlock parse_header_block(std::string_view raw, std::size_t begin, std::size_t end, const ParseLimits& limits);

// RFC 5322 2.2.3: removes every CRLF (or bare LF / CR) of a folded value, keeping the WSP.
std::string unfold(std::string_view value);

// The first field named `name` (ASCII case-insensitive), or nullptr.
const HeaderField* find_header(const std::vector<HeaderField>& fields, std::string_view name);
// The last such field (RFC 3501 ENVELOPE uses the last one, as Dovecot does), or nullptr.
const HeaderField* find_last_header(const std::vector<HeaderField>& fields, std::string_view name);

// ASCII case-insensitive equality (header names, MIME types, parameter names).
using text::iequals;

}  // namespace hikyaku::mime
