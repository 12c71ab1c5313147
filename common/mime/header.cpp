// header.cpp: RFC 5322 header block parsing over byte ranges (see header.h).
// Must never: read outside [begin, end) or store more than the limits allow.
// RFC 5322 2.1, 2.2, 2.2.3.
#include "common/mime/header.h"

#include <cstring>

namespace hikyaku::mime {
namespace {

// End of the line starting at pos: the index after its '\n', or end.
std::size_t line_end(std::string_view raw, std::size_t pos, std::size_t end) {
    const void* nl = std::memchr(raw.data() + pos, '\n', end - pos);
    if (nl == nullptr) return end;
    return static_cast<std::size_t>(static_cast<const char*>(nl) - raw.data()) + 1;
}

// Length of the line content without its CRLF / LF.
std::size_t content_length(std::string_view raw, std::size_t pos, std::size_t next) {
    std::size_t n = next - pos;
    if (n > 0 && raw[pos + n - 1] == '\n') {
        --n;
        if (n > 0 && raw[pos + n - 1] == '\r') --n;
    }
    return n;
}

}  // namespace

HeaderBlock parse_header_block(std::string_view raw, std::size_t begin, std::size_t end, const ParseLimits& limits) {
    HeaderBlock block;
    if (end > raw.size()) end = raw.size();
    if (begin > end) begin = end;
    std::size_t pos = begin;
    bool current_open = false;  // the last field may take continuation lines
    bool skipping = false;      // the last field was dropped by a limit
    while (pos < end) {
        std::size_t next = line_end(raw, pos, end);
        std::size_t len = content_length(raw, pos, next);
        if (len == 0 && next > pos && raw[next - 1] == '\n') {
            // The empty line ends the block (RFC 5322 2.1) and belongs to it.
            pos = next;
            break;
        }
        if (len == 0) {  // a lone CR at the very end: nothing more
            pos = next;
            break;
        }
        std::string_view line = raw.substr(pos, len);
        bool continuation = line[0] == ' ' || line[0] == '\t';
        if (continuation && skipping) {  // continues a field the limits made us skip
            pos = next;
            continue;
        }
        if (continuation && current_open) {
            HeaderField& f = block.fields.back();
            // The previous line's end and this line join the value (RFC 5322 2.2.3).
            std::size_t eol = 0;
            if (pos >= 1 && raw[pos - 1] == '\n') {
                eol = 1;
                if (pos >= 2 && raw[pos - 2] == '\r') eol = 2;
            }
            std::string_view piece = raw.substr(pos - eol, eol + len);
            std::size_t used = f.name.size() + f.value.size();
            std::size_t room = limits.max_header_field_size > used ? limits.max_header_field_size - used : 0;
            if (piece.size() > room) {
                f.value.append(piece.substr(0, room));
                block.degraded |= degraded_field_truncated;
            } else {
                f.value.append(piece);
            }
            f.size = next - f.offset;
            pos = next;
            continue;
        }
        // A new field (or a stray continuation with nothing to continue: kept as a field).
        current_open = false;
        skipping = false;
        bool record = true;
        if (pos - begin >= limits.max_header_block_size) {
            block.degraded |= degraded_header_block;
            record = false;
        } else if (block.fields.size() >= limits.max_header_fields) {
            block.degraded |= degraded_header_fields;
            record = false;
        }
        skipping = !record;
        if (record) {
            HeaderField f;
            f.offset = pos;
            f.size = next - pos;
            std::size_t colon = line.find(':');
            std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
            std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
            // Leading whitespace is skipped, except that a value of whitespace only loses
            // just its first character (Dovecot's SKIP_INITIAL_LWSP; ENVELOPE shows it).
            std::size_t skip = 0;
            while (skip < value.size() && (value[skip] == ' ' || value[skip] == '\t')) ++skip;
            if (skip == value.size() && skip > 0) skip = 1;
            value.remove_prefix(skip);
            if (name.size() > limits.max_header_field_size) {
                name = name.substr(0, limits.max_header_field_size);
                block.degraded |= degraded_field_truncated;
            }
            std::size_t room = limits.max_header_field_size - name.size();
            if (value.size() > room) {
                value = value.substr(0, room);
                block.degraded |= degraded_field_truncated;
            }
            f.name.assign(name);
            f.value.assign(value);
            block.fields.push_back(std::move(f));
            current_open = true;
        }
        pos = next;
    }
    block.size = pos - begin;
    return block;
}

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value)
        if (c != '\r' && c != '\n') out.push_back(c);
    return out;
}

const HeaderField* find_header(const std::vector<HeaderField>& fields, std::string_view name) {
    for (const auto& f : fields)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

const HeaderField* find_last_header(const std::vector<HeaderField>& fields, std::string_view name) {
    for (auto it = fields.rbegin(); it != fields.rend(); ++it)
        if (iequals(it->name, name)) return &*it;
    return nullptr;
}

}  // namespace hikyaku::mime
