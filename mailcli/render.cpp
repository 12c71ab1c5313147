// render.cpp: message rendering for mailcli (see render.h).
// Must never: throw on broken input, emit control characters or invalid UTF-8.
#include "mailcli/render.h"

#include <cctype>
#include <cstdint>

#include "common/mime/body_text.h"
#include "common/mime/header.h"
#include "common/mime/message.h"
#include "common/text/charset.h"
#include "common/text/rfc2047.h"
#include "common/text/ascii.h"

namespace hikyaku::mailcli {

namespace {

using mime::Part;
using mime::PartKind;

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

std::string lower(std::string_view s) { return text::ascii_lowercase(s); }

bool is_attachment(const Part& p) {
    if (p.kind == PartKind::message) return true;
    if (p.disposition && mime::iequals(*p.disposition, "attachment")) return true;
    if (mime::find_param(p.disposition_params, "filename") || mime::find_param(p.disposition_params, "filename*") ||
        mime::find_param(p.disposition_params, "filename*0") || mime::find_param(p.disposition_params, "filename*0*")) {
        return true;
    }
    if (!mime::iequals(p.type, "text")) return true;
    return !(mime::iequals(p.subtype, "plain") || mime::iequals(p.subtype, "html"));
}

std::string part_filename(const Part& p) {
    if (auto f = mime::param_value_utf8(p.disposition_params, "filename")) return *f;
    if (auto n = mime::param_value_utf8(p.params, "name")) return *n;
    return {};
}

std::string text_of(std::string_view raw, const Part& p) {
    auto r = mime::body_text_utf8(raw, p);
    if (r.ok()) return std::move(r).value();
    return text::utf8_sanitize(mime::decode_body(raw, p));
}

struct Walk {
    std::string_view raw;
    const Part* plain = nullptr;
    const Part* html = nullptr;
    std::vector<const Part*> attachments;
};

constexpr std::size_t kMaxWalkDepth = 64;

void walk(Walk& w, const Part& p, std::size_t depth) {
    if (depth > kMaxWalkDepth) return;
    if (p.kind == PartKind::multipart) {
        if (mime::iequals(p.subtype, "alternative")) {
            const Part* best = nullptr;
            for (const Part& c : p.children) {
                if (c.kind == PartKind::leaf && mime::iequals(c.type, "text") && mime::iequals(c.subtype, "plain") &&
                    !is_attachment(c)) {
                    best = &c;
                }
            }
            if (!best && !p.children.empty()) best = &p.children.back();
            if (best) walk(w, *best, depth + 1);
            return;
        }
        for (const Part& c : p.children) walk(w, c, depth + 1);
        return;
    }
    if (is_attachment(p)) {
        w.attachments.push_back(&p);
        return;
    }
    if (mime::iequals(p.subtype, "plain")) {
        if (!w.plain) w.plain = &p;
        else w.attachments.push_back(&p);
    } else {
        if (!w.html) w.html = &p;
        else w.attachments.push_back(&p);
    }
}

AttachmentInfo info_of(std::string_view raw, const Part& p, std::size_t* decoded_size) {
    AttachmentInfo info;
    info.filename = terminal_safe(part_filename(p));
    info.content_type = terminal_safe(lower(p.type + "/" + p.subtype));
    std::string data = mime::decode_body(raw, p);
    info.size = data.size();
    if (decoded_size) *decoded_size = data.size();
    return info;
}

}  // namespace

std::string terminal_safe(std::string_view text_in) {
    const std::string text = text::utf8_sanitize(text_in);
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n') continue;
            out += '\n';
        } else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            out += "\xEF\xBF\xBD";
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            out += "\xEF\xBF\xBD";  // a C1 control (U+0080..U+009F), e.g. CSI
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string html_to_text(std::string_view html) {
    std::string out;
    bool space_pending = false;
    std::size_t i = 0;
    auto newline = [&](int max_newlines) {
        space_pending = false;
        std::size_t trailing = 0;
        while (trailing < out.size() && out[out.size() - 1 - trailing] == '\n') ++trailing;
        if (out.empty()) return;
        if (static_cast<int>(trailing) < max_newlines) out += '\n';
    };
    while (i < html.size()) {
        char c = html[i];
        if (html.substr(i, 4) == "<!--") {
            std::size_t close = html.find("-->", i + 4);
            i = close == std::string_view::npos ? html.size() : close + 3;
            continue;
        }
        if (c == '<') {
            std::size_t end = html.find('>', i);
            if (end == std::string_view::npos) break;
            std::string_view tag = html.substr(i + 1, end - i - 1);
            bool closing = !tag.empty() && tag[0] == '/';
            if (closing) tag.remove_prefix(1);
            std::size_t n = 0;
            while (n < tag.size() && std::isalnum(static_cast<unsigned char>(tag[n]))) ++n;
            const std::string name = lower(tag.substr(0, n));
            i = end + 1;
            if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
                const std::string close = "</" + name;
                std::size_t pos = i;
                for (;;) {
                    pos = html.find("</", pos);
                    if (pos == std::string_view::npos) break;
                    if (lower(html.substr(pos, close.size())) == close) break;
                    pos += 2;
                }
                i = pos == std::string_view::npos ? html.size() : pos;
                continue;
            }
            if (name == "br") {
                newline(3);
            } else if (name == "p" || name == "div" || name == "tr" || name == "table" || name == "ul" ||
                       name == "ol" || name == "blockquote" || name == "pre" ||
                       (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6')) {
                newline(1);
                if (name == "p" || name[0] == 'h') newline(2);
            } else if (name == "li" && !closing) {
                newline(1);
                out += "* ";
            } else if (name == "td" || name == "th") {
                space_pending = true;
            }
            continue;
        }
        if (c == '&') {
            std::size_t semi = html.find(';', i);
            if (semi != std::string_view::npos && semi - i <= 10) {
                std::string_view ent = html.substr(i + 1, semi - i - 1);
                std::string decoded;
                if (ent == "amp") decoded = "&";
                else if (ent == "lt") decoded = "<";
                else if (ent == "gt") decoded = ">";
                else if (ent == "quot") decoded = "\"";
                else if (ent == "apos") decoded = "'";
                else if (ent == "nbsp") decoded = " ";
                else if (ent.size() > 1 && ent[0] == '#') {
                    std::uint32_t cp = 0;
                    bool hex = ent[1] == 'x' || ent[1] == 'X';
                    bool ok = ent.size() > (hex ? 2u : 1u);
                    for (std::size_t k = hex ? 2 : 1; k < ent.size() && ok; ++k) {
                        int d = std::isdigit(static_cast<unsigned char>(ent[k])) ? ent[k] - '0'
                                : hex && std::isxdigit(static_cast<unsigned char>(ent[k]))
                                    ? (std::tolower(static_cast<unsigned char>(ent[k])) - 'a' + 10)
                                    : -1;
                        if (d < 0) ok = false;
                        else
                            cp =
                                std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d), 0x110000);
                    }
                    if (ok) append_utf8(decoded, cp);
                }
                if (!decoded.empty()) {
                    if (space_pending && !out.empty() && out.back() != '\n') out += ' ';
                    space_pending = false;
                    out += decoded;
                    i = semi + 1;
                    continue;
                }
            }
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space_pending = true;
            ++i;
            continue;
        }
        if (space_pending && !out.empty() && out.back() != '\n') out += ' ';
        space_pending = false;
        out += c;
        ++i;
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (!out.empty()) out += '\n';
    return out;
}

std::string header_text(std::string_view raw, std::string_view name) {
    mime::ParseLimits limits;
    auto block = mime::parse_header_block(raw, 0, raw.size(), limits);
    const mime::HeaderField* f = mime::find_header(block.fields, name);
    if (!f) return {};
    return terminal_safe(text::rfc2047_decode(mime::unfold(f->value)));
}

RenderedMessage render_message(std::string_view raw) {
    RenderedMessage out;
    auto parsed = mime::parse_message(raw);
    if (!parsed.ok()) {
        out.body = "(message too large to render)\n";
        return out;
    }
    const mime::ParsedMessage& m = parsed.value();
    for (const char* name : {"Date", "From", "To", "Cc", "Subject"}) {
        const mime::HeaderField* f = mime::find_header(m.headers, name);
        if (!f) continue;
        out.headers.emplace_back(name, terminal_safe(text::rfc2047_decode(mime::unfold(f->value))));
    }
    Walk w;
    w.raw = raw;
    walk(w, m.root, 0);
    if (w.plain) {
        out.body = terminal_safe(text_of(raw, *w.plain));
    } else if (w.html) {
        out.body = terminal_safe(html_to_text(text_of(raw, *w.html)));
        out.body_from_html = true;
    }
    for (const Part* p : w.attachments) out.attachments.push_back(info_of(raw, *p, nullptr));
    return out;
}

std::string format_rendered(const RenderedMessage& message) {
    std::string out;
    for (const auto& [name, value] : message.headers) out += name + ": " + value + "\n";
    out += "\n";
    out += message.body;
    if (!out.ends_with('\n')) out += '\n';
    if (!message.attachments.empty()) {
        out += "\nAttachments:\n";
        std::size_t n = 0;
        for (const auto& a : message.attachments) {
            out += "  [" + std::to_string(++n) + "] " + (a.filename.empty() ? "(no name)" : a.filename) + "  " +
                   a.content_type + "  " + std::to_string(a.size) + " bytes\n";
        }
    }
    return out;
}

std::vector<AttachmentData> extract_attachments(std::string_view raw) {
    std::vector<AttachmentData> out;
    auto parsed = mime::parse_message(raw);
    if (!parsed.ok()) return out;
    Walk w;
    w.raw = raw;
    walk(w, parsed.value().root, 0);
    for (const Part* p : w.attachments) {
        AttachmentData a;
        a.info = info_of(raw, *p, nullptr);
        a.data = mime::decode_body(raw, *p);
        if (p->kind == PartKind::message) {
            a.data = std::string(raw.substr(p->body_offset, p->body_size));
            a.info.size = a.data.size();
        }
        out.push_back(std::move(a));
    }
    return out;
}

std::string safe_filename(std::string_view name_in, std::string_view fallback) {
    const std::string name = text::utf8_sanitize(name_in);
    std::string out;
    for (unsigned char c : name) {
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) out += '_';
        else out += static_cast<char>(c);
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() > 200) {
        std::size_t cut = 200;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
        out.resize(cut);
    }
    if (out.empty()) out = std::string(fallback);
    return out;
}

}  // namespace hikyaku::mailcli
