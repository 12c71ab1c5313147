// imap_structure.cpp: RFC 3501 7.4.2 ENVELOPE / BODY / BODYSTRUCTURE writers (see the header).
// Must never: emit a quoted string containing CR, LF, NUL or 8-bit bytes, or a multipart
// with no body parts (RFC 3501 9: body-type-mpart = 1*body SP media-subtype).
// RFC 3501 4.3 (strings), 7.4.2, 9 (formal syntax).
#include "common/mime/imap_structure.h"

#include <cstdio>

#include "common/text/utf8.h"

namespace hikyaku::mime {
namespace {

constexpr std::string_view kDefaultCharset = "us-ascii";  // RFC 2045 5.2

void append_literal(std::string& out, std::string_view s) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "{%zu}\r\n", s.size());
    out += prefix;
    out += s;
}

void append_number(std::string& out, std::size_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zu", n);
    out += buf;
}

// Dovecot's remove_newlines_and_append: CR and LF dropped; a space inserted where a line
// break is not followed by whitespace (so folded words do not run together).
std::string without_newlines(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c != '\r' && c != '\n') {
            out.push_back(c);
            continue;
        }
        char next = i + 1 < s.size() ? s[i + 1] : '\0';
        if (next != ' ' && next != '\t' && next != '\r' && next != '\n' && next != '\0') out.push_back(' ');
    }
    return out;
}

// Dovecot's message_header_strdup(): a NUL in a header value becomes U+FFFD.
std::string without_nul(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (char c : s) {
        if (c == '\0') out += text::kReplacementCharacter;
        else out += c;
    }
    return out;
}

void append_address_list(std::string& out, const std::vector<Address>& list) {
    if (list.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (const Address& a : list) {
        out += '(';
        if (a.name) append_imap_string_for_humans(out, *a.name);
        else out += "NIL";
        out += ' ';
        append_imap_nstring_nolf(out, a.route);
        out += ' ';
        append_imap_nstring_nolf(out, a.mailbox);
        out += ' ';
        append_imap_nstring_nolf(out, a.host);
        out += ')';
    }
    out += ')';
}

void append_params(std::string& out, const std::vector<Param>& params, bool default_charset) {
    if (params.empty() && !default_charset) {
        out += "NIL";
        return;
    }
    out += '(';
    bool seen_charset = false;
    bool first = true;
    for (const Param& p : params) {
        if (!first) out += ' ';
        first = false;
        if (iequals(p.name, "charset")) seen_charset = true;
        append_imap_string(out, p.name);
        out += ' ';
        append_imap_string(out, p.value);
    }
    if (default_charset && !seen_charset) {
        if (!first) out += ' ';
        out += "\"charset\" \"";
        out += kDefaultCharset;
        out += '"';
    }
    out += ')';
}

// body-ext-1part / body-ext-mpart after md5 or parameters: disposition, language, location.
void append_common_extension(std::string& out, const Part& part) {
    out += ' ';
    if (!part.disposition) {
        out += "NIL";
    } else {
        out += '(';
        append_imap_string(out, *part.disposition);
        out += ' ';
        append_params(out, part.disposition_params, false);
        out += ')';
    }
    out += ' ';
    if (part.language.empty()) {
        out += "NIL";
    } else {
        out += '(';
        for (std::size_t i = 0; i < part.language.size(); ++i) {
            if (i > 0) out += ' ';
            append_imap_string(out, part.language[i]);
        }
        out += ')';
    }
    out += ' ';
    append_imap_nstring_nolf(out, part.location);
}

constexpr std::string_view kEmptyBody = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
constexpr std::string_view kEmptyBodyStructure =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

void append_part(std::string& out, const Part& part, bool extended) {
    out += '(';
    if (part.kind == PartKind::multipart) {
        if (part.children.empty()) {
            out += extended ? kEmptyBodyStructure : kEmptyBody;
        } else {
            for (const Part& child : part.children) append_part(out, child, extended);
        }
        out += ' ';
        append_imap_string(out, part.subtype);
        if (extended) {
            out += ' ';
            append_params(out, part.params, false);
            append_common_extension(out, part);
        }
        out += ')';
        return;
    }
    bool text = false;
    if (part.kind == PartKind::message) {
        out += "\"message\" \"rfc822\"";
    } else {
        text = part.is_text();
        append_imap_string(out, part.type);
        out += ' ';
        append_imap_string(out, part.subtype);
    }
    out += ' ';
    append_params(out, part.params, text);
    out += ' ';
    append_imap_nstring_nolf(out, part.id);
    out += ' ';
    append_imap_nstring_nolf(out, part.description);
    out += ' ';
    if (part.encoding) append_imap_string(out, *part.encoding);
    else out += "\"7bit\"";
    out += ' ';
    append_number(out, part.body_size);
    if (text) {
        out += ' ';
        append_number(out, part.body_lines);
    } else if (part.kind == PartKind::message && !part.children.empty()) {
        out += ' ';
        out += imap_envelope(part.envelope ? *part.envelope : Envelope{});
        out += ' ';
        append_part(out, part.children.front(), extended);
        out += ' ';
        append_number(out, part.body_lines);
    }
    if (extended) {
        out += ' ';
        append_imap_nstring_nolf(out, part.md5);
        append_common_extension(out, part);
    }
    out += ')';
}

}  // namespace

void append_imap_string(std::string& out, std::string_view s) {
    if (s.find('\0') != std::string_view::npos) {  // never a NUL on the wire (RFC 3501 9 CHAR8)
        append_imap_string(out, without_nul(s));
        return;
    }
    // Dovecot imap_append_nstring(): up to four quoted-specials are escaped, more (or any
    // CR, LF, NUL or 8-bit byte) make a literal.
    unsigned escapes = 0;
    bool literal = false;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            if (++escapes > 4) literal = true;
        } else if (c == '\r' || c == '\n' || c == 0 || c >= 0x80) {
            literal = true;
        }
    }
    if (literal) {
        append_literal(out, s);
        return;
    }
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void append_imap_nstring_nolf(std::string& out, const std::optional<std::string>& s) {
    if (!s) {
        out += "NIL";
        return;
    }
    if (s->find_first_of("\r\n") == std::string::npos) append_imap_string(out, *s);
    else append_imap_string(out, without_newlines(*s));
}

void append_imap_string_for_humans(std::string& out, std::string_view s) {
    if (s.find('\0') != std::string_view::npos) {
        append_imap_string_for_humans(out, without_nul(s));
        return;
    }
    // Dovecot imap_append_string_for_humans(): whitespace runs (CR, LF, TAB, SP) become one
    // space, leading and trailing whitespace is dropped; if anything had
    // to change, or there is a quote, backslash or 8-bit byte, the result is a literal.
    bool modify = false;
    bool last_lwsp = true;
    std::string text;
    text.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '\r':
            case '\n':
            case '\t':
            case ' ':
                if (c != ' ' || last_lwsp) modify = true;
                if (!last_lwsp) text.push_back(' ');
                last_lwsp = true;
                break;
            case '"':
            case '\\':
                modify = true;
                last_lwsp = false;
                text.push_back(ch);
                break;
            default:
                if (c >= 0x80) modify = true;
                last_lwsp = false;
                text.push_back(ch);
                break;
        }
    }
    if (last_lwsp && !text.empty()) {
        text.pop_back();
        modify = true;
    }
    if (last_lwsp && !s.empty()) modify = true;
    if (!modify) {
        out += '"';
        out += s;
        out += '"';
        return;
    }
    if (text.empty()) {
        out += "\"\"";
        return;
    }
    append_literal(out, text);
}

std::string imap_envelope(const Envelope& e) {
    std::string out;
    out += '(';
    append_imap_nstring_nolf(out, e.date);
    out += ' ';
    if (e.subject) append_imap_string_for_humans(out, *e.subject);
    else out += "NIL";
    out += ' ';
    append_address_list(out, e.from);
    out += ' ';
    append_address_list(out, e.sender);
    out += ' ';
    append_address_list(out, e.reply_to);
    out += ' ';
    append_address_list(out, e.to);
    out += ' ';
    append_address_list(out, e.cc);
    out += ' ';
    append_address_list(out, e.bcc);
    out += ' ';
    append_imap_nstring_nolf(out, e.in_reply_to);
    out += ' ';
    append_imap_nstring_nolf(out, e.message_id);
    out += ')';
    return out;
}

std::string imap_part_structure(const Part& part, bool extended) {
    std::string out;
    append_part(out, part, extended);
    return out;
}

std::string imap_body(const ParsedMessage& message) { return imap_part_structure(message.root, false); }

std::string imap_bodystructure(const ParsedMessage& message) { return imap_part_structure(message.root, true); }

}  // namespace hikyaku::mime
