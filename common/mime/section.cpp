// section.cpp: RFC 3501 6.4.5 section specifiers to byte ranges (see section.h).
// Must never: return a range outside the message.
#include "common/mime/section.h"

namespace hikyaku::mime {
namespace {

ByteRange header_range(const Part& p) { return {p.header_offset, p.header_size}; }
ByteRange body_range(const Part& p) { return {p.body_offset, p.body_size}; }

}  // namespace

std::optional<ByteRange> section_range(const ParsedMessage& message, const std::vector<std::uint32_t>& parts,
                                       SectionText text) {
    std::optional<ByteRange> r;
    if (parts.empty()) {
        switch (text) {
            case SectionText::none: r = ByteRange{0, message.size}; break;
            case SectionText::header: r = header_range(message.root); break;
            case SectionText::text: r = body_range(message.root); break;
            case SectionText::mime: return std::nullopt;  // MIME needs a part number
        }
    } else {
        const Part* p = find_part(message, parts);
        if (p == nullptr) return std::nullopt;
        switch (text) {
            case SectionText::none: r = body_range(*p); break;
            case SectionText::mime: r = header_range(*p); break;
            case SectionText::header:
            case SectionText::text:
                // RFC 3501 6.4.5: HEADER and TEXT after a part number need a message/rfc822 part.
                if (p->kind != PartKind::message || p->children.empty()) return std::nullopt;
                r = text == SectionText::header ? header_range(p->children.front()) : body_range(p->children.front());
                break;
        }
    }
    if (r && (r->offset > message.size || r->size > message.size - r->offset)) return std::nullopt;
    return r;
}

}  // namespace hikyaku::mime
