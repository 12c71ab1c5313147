// message_preview.cpp: see message_preview.h. RFC 8970 3; RFC 2045 6, RFC 2046 4.1.2 and 5.1.4
// (through common/mime); HTML character references (the few a preview meets).
#include "imapd/message_preview.h"

#include <algorithm>

#include "common/mime/body_text.h"
#include "common/text/ascii.h"
#include "common/text/utf8.h"

namespace hikyaku::imap {
namespace {

bool is_subtype(const mime::Part& part, std::string_view subtype) {
    return part.is_text() && text::iequals(part.subtype, subtype);
}

// The first text/plain or text/html leaf, depth-first; in multipart/alternative the plain one.
const mime::Part* first_text_part(const mime::Part& part) {
    if (part.kind == mime::PartKind::leaf)
        return (is_subtype(part, "plain") || is_subtype(part, "html")) ? &part : nullptr;
    if (part.kind != mime::PartKind::multipart) return nullptr;  // an attached message
    if (text::iequals(part.subtype, "alternative")) {
        for (const mime::Part& child : part.children)
            if (child.kind == mime::PartKind::leaf && is_subtype(child, "plain")) return &child;
    }
    for (const mime::Part& child : part.children)
        if (const mime::Part* found = first_text_part(child)) return found;
    return nullptr;
}

// The text of an HTML fragment: tags and comments dropped (a tag ends a word), script and
// style elements dropped whole, &amp; &lt; &gt; &quot; &apos; &nbsp; and &#n; / &#xn; decoded.
std::string html_text(std::string_view html) {
    std::string out;
    std::size_t i = 0;
    auto skip_past = [&](std::string_view end) {
        std::size_t at = i;
        while (at < html.size() && !text::iequals(html.substr(at, end.size()), end)) ++at;
        i = std::min(html.size(), at + end.size());
    };
    while (i < html.size()) {
        const char c = html[i];
        if (c == '<') {
            if (html.substr(i, 4) == "<!--") {
                skip_past("-->");
            } else if (text::iequals(html.substr(i, 7), "<script")) {
                skip_past("</script>");
            } else if (text::iequals(html.substr(i, 6), "<style")) {
                skip_past("</style>");
            } else {
                skip_past(">");
            }
            out += ' ';
            continue;
        }
        if (c == '&') {
            const std::size_t semicolon = html.find(';', i);
            if (semicolon != std::string_view::npos && semicolon - i <= 10) {
                const std::string_view name = html.substr(i + 1, semicolon - i - 1);
                static constexpr std::pair<std::string_view, char32_t> kNamed[] = {
                    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
                };
                std::optional<char32_t> decoded;
                for (auto [n, cp] : kNamed)
                    if (text::iequals(name, n)) decoded = cp;
                if (!decoded && name.size() > 1 && name[0] == '#') {
                    const bool hex = name[1] == 'x' || name[1] == 'X';
                    std::uint32_t value = 0;
                    bool digits = name.size() > (hex ? 2u : 1u);
                    for (char d : name.substr(hex ? 2 : 1)) {
                        int v = -1;
                        if (d >= '0' && d <= '9') v = d - '0';
                        else if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
                        else if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
                        if (v < 0 || value > 0x10FFFF) {
                            digits = false;
                            break;
                        }
                        value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
                    }
                    if (digits && value > 0 && value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF))
                        decoded = static_cast<char32_t>(value);
                }
                if (decoded) {
                    text::append_code_point(out, *decoded);
                    i = semicolon + 1;
                    continue;
                }
            }
        }
        out += c;
        ++i;
    }
    return out;
}

bool is_space(char32_t c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || c == 0xA0;
}

// Whitespace runs as one space, trimmed, at most `max` code points.
std::string collapse(std::string_view utf8, std::size_t max) {
    std::string out;
    std::size_t count = 0;
    bool pending_space = false;
    std::size_t i = 0;
    while (i < utf8.size() && count < max) {
        auto c = text::next_code_point(utf8, i);
        if (!c) continue;  // next_code_point moved past an invalid octet
        if (is_space(*c) || *c < 0x20 || *c == 0x7F) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            if (count + 1 >= max) break;
            out += ' ';
            ++count;
            pending_space = false;
        }
        text::append_code_point(out, *c);
        ++count;
    }
    return out;
}

}  // namespace

const mime::Part* preview_part(const mime::ParsedMessage& message) { return first_text_part(message.root); }

std::string part_preview(std::string_view body, const mime::Part& part_in, const PreviewLimits& limits) {
    mime::Part part = part_in;  // its body, as the only octets there are
    part.body_offset = 0;
    part.body_size = std::min(body.size(), limits.max_encoded_bytes);
    auto decoded = mime::body_text_utf8(body, part);
    const std::string text = decoded ? std::move(*decoded) : text::utf8_sanitize(mime::decode_body(body, part));
    if (is_subtype(part, "html")) return collapse(text::utf8_sanitize(html_text(text)), limits.max_characters);
    return collapse(text, limits.max_characters);
}

std::string message_preview(std::string_view raw, const mime::ParsedMessage& message, const PreviewLimits& limits) {
    const mime::Part* part = preview_part(message);
    if (!part || part->body_offset > raw.size()) return {};
    return part_preview(raw.substr(part->body_offset, part->body_size), *part, limits);
}

}  // namespace hikyaku::imap
