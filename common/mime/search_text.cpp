// search_text.cpp: the searched text of a message (see search_text.h). RFC 9051 6.4.4;
// RFC 5051 (folding, a subset); RFC 2045 6; RFC 2046 4.1.2; RFC 2047.
#include "common/mime/search_text.h"

#include "common/mime/body_text.h"
#include "common/text/rfc2047.h"
#include "common/text/utf8.h"

namespace hikyaku::mime {
namespace {

char32_t fold_code_point(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;  // Latin-1
    if (c >= 0x100 && c <= 0x17F) {                          // Latin Extended-A
        switch (c) {
            case 0x130: return 'i';
            case 0x131:
            case 0x138:
            case 0x149: return c;
            case 0x178: return 0xFF;
            case 0x17F: return 's';
            default: break;
        }
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 1) ? c + 1 : c;
        return (c % 2 == 0) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;  // Greek capitals
    switch (c) {
        case 0x386: return 0x3AC;
        case 0x388:
        case 0x389:
        case 0x38A: return c + 37;
        case 0x38C: return 0x3CC;
        case 0x38E:
        case 0x38F: return c + 63;
        case 0x3C2: return 0x3C3;  // final sigma
        default: break;
    }
    if (c >= 0x400 && c <= 0x40F) return c + 80;  // Cyrillic
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    return c;
}

void collect_text(std::string_view raw, const Part& part, std::string& out, std::size_t max_bytes) {
    if (out.size() >= max_bytes) return;
    switch (part.kind) {
        case PartKind::leaf:
            if (part.is_text()) {
                auto text = body_text_utf8(raw, part);
                out += text.ok() ? *text : text::utf8_sanitize(decode_body(raw, part));
                out += '\n';
            }
            break;
        case PartKind::multipart:
            for (const Part& child : part.children) collect_text(raw, child, out, max_bytes);
            break;
        case PartKind::message:
            if (part.children.empty()) break;
            {
                const Part& inner = part.children.front();
                const auto block = parse_header_block(raw, inner.header_offset, inner.header_offset + inner.header_size,
                                                      ParseLimits{});
                for (const HeaderField& f : block.fields) {
                    out += f.name;
                    out += ": ";
                    out += decoded_header_value(f);
                    out += '\n';
                }
                collect_text(raw, inner, out, max_bytes);
            }
            break;
    }
    if (out.size() > max_bytes) out.resize(max_bytes);
}

}  // namespace

std::string decoded_header_value(const HeaderField& field) { return text::rfc2047_decode(unfold(field.value)); }

std::string search_fold(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    std::size_t i = 0;
    while (i < utf8.size()) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {  // the common case, octet by octet
            out += static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
            ++i;
            continue;
        }
        text::append_code_point(out, fold_code_point(text::next_code_point(utf8, i).value_or(0xFFFD)));
    }
    return out;
}

std::string searchable_body_text(std::string_view raw, const ParsedMessage& message, std::size_t max_bytes) {
    std::string out;
    collect_text(raw, message.root, out, max_bytes);
    return out;
}

std::size_t searchable_source_octets(const Part& part) {
    switch (part.kind) {
        case PartKind::leaf: return part.is_text() ? part.body_size : 0;
        case PartKind::multipart: {
            std::size_t total = 0;
            for (const Part& child : part.children) total += searchable_source_octets(child);
            return total;
        }
        case PartKind::message:
            if (part.children.empty()) return 0;
            return part.children.front().header_size + searchable_source_octets(part.children.front());
    }
    return 0;
}

std::string searchable_header_text(const std::vector<HeaderField>& fields) {
    std::string text;
    for (const HeaderField& f : fields) {
        text += f.name;
        text += ": ";
        text += decoded_header_value(f);
        text += '\n';
    }
    return text;
}

}  // namespace hikyaku::mime
