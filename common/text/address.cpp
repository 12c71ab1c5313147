// address.cpp: see address.h. RFC 5321 4.1.2, 4.1.3, 4.5.3.1; RFC 6531 3.3; RFC 3629 4.
#include "common/text/address.h"

#include "common/text/ascii.h"
#include "common/text/utf8.h"

namespace hikyaku::text {

namespace {

bool is_8bit(unsigned char c) { return c >= 0x80; }

// RFC 5321 4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126.
bool is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

bool is_dot_string(std::string_view s, bool allow_utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (unsigned char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!is_atext(c) && !(allow_utf8 && is_8bit(c))) {
            return false;
        }
        prev = static_cast<char>(c);
    }
    return true;
}

bool valid_label(std::string_view label, bool allow_utf8) {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label) {
        if (is_ascii_alpha(c) || is_ascii_digit(c) || c == '-') continue;
        if (allow_utf8 && is_8bit(c)) continue;
        return false;
    }
    return true;
}

// Snum = 1*3DIGIT, value 0..255.
bool parse_ipv4(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t start = i;
        int value = 0;
        while (i < s.size() && is_ascii_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
        if (i == start || value > 255) return false;
        if (i < s.size() && is_ascii_digit(s[i])) return false;  // a fourth digit
        ++parts;
        if (i == s.size()) break;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
    return parts == 4;
}

// RFC 5321 4.1.3 IPv6-addr: IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp.
bool parse_ipv6(std::string_view s) {
    // An IPv4 tail, if any, follows the last ':'.
    bool v4_tail = false;
    const auto last_colon = s.rfind(':');
    if (last_colon == std::string_view::npos) return false;
    if (s.substr(last_colon + 1).find('.') != std::string_view::npos) {
        if (!parse_ipv4(s.substr(last_colon + 1))) return false;
        v4_tail = true;
        // Keep the colon when it is part of "::" so the split below sees the "::".
        s = (last_colon > 0 && s[last_colon - 1] == ':') ? s.substr(0, last_colon + 1) : s.substr(0, last_colon);
    }
    auto count_groups = [](std::string_view part, int& groups) {
        if (part.empty()) return true;
        std::size_t i = 0;
        while (true) {
            std::size_t start = i;
            while (i < part.size() && is_ascii_hex(part[i])) ++i;
            if (i == start || i - start > 4) return false;
            ++groups;
            if (i == part.size()) return true;
            if (part[i] != ':') return false;
            ++i;
            if (i == part.size()) return false;  // trailing single ':'
        }
    };
    const auto dc = s.find("::");
    int groups = 0;
    if (dc == std::string_view::npos) {
        if (!count_groups(s, groups)) return false;
        return groups == (v4_tail ? 6 : 8);
    }
    if (s.find("::", dc + 1) != std::string_view::npos) return false;
    if (!count_groups(s.substr(0, dc), groups) || !count_groups(s.substr(dc + 2), groups)) return false;
    // "::" stands for at least two groups of zeros (RFC 5321 4.1.3).
    return groups <= (v4_tail ? 4 : 6);
}

bool needs_quoting(std::string_view local) { return !is_dot_string(local, true); }

struct Cursor {
    std::string_view in;
    std::size_t pos = 0;
    bool at_end() const { return pos >= in.size(); }
    unsigned char peek() const { return at_end() ? 0 : static_cast<unsigned char>(in[pos]); }
};

// Domain of an At-domain in a source route: a domain name (route hops are never literals).
bool skip_route_domain(Cursor& c, const PathOptions& o, bool& saw_8bit) {
    const std::size_t start = c.pos;
    while (!c.at_end() && c.peek() != ',' && c.peek() != ':' && c.peek() != '>') {
        if (is_8bit(c.peek())) saw_8bit = true;
        ++c.pos;
    }
    auto d = c.in.substr(start, c.pos - start);
    return is_valid_domain(d, o.smtputf8) && d.size() <= kMaxDomainLength;
}

std::variant<Mailbox, PathError> parse_mailbox_at(Cursor& c, const PathOptions& o, std::string_view terminators) {
    Mailbox mb;
    bool saw_8bit = false;
    const std::size_t local_start = c.pos;
    if (c.peek() == '"') {
        mb.local_part_quoted = true;
        ++c.pos;
        bool closed = false;
        while (!c.at_end()) {
            unsigned char ch = c.peek();
            if (ch == '"') {
                ++c.pos;
                closed = true;
                break;
            }
            if (ch == '\\') {
                ++c.pos;
                unsigned char q = c.peek();
                if (c.at_end() || q < 32 || q > 126) return PathError::syntax;
                mb.local_part += static_cast<char>(q);
                ++c.pos;
                continue;
            }
            if (is_8bit(ch)) {
                if (!o.smtputf8) return PathError::non_ascii_not_permitted;
                saw_8bit = true;
            } else if (!is_qtext(ch)) {
                return PathError::syntax;
            }
            mb.local_part += static_cast<char>(ch);
            ++c.pos;
        }
        if (!closed) return PathError::syntax;
    } else {
        while (!c.at_end() && c.peek() != '@' &&
               terminators.find(static_cast<char>(c.peek())) == std::string_view::npos) {
            if (is_8bit(c.peek())) {
                if (!o.smtputf8) return PathError::non_ascii_not_permitted;
                saw_8bit = true;
            }
            ++c.pos;
        }
        mb.local_part = std::string(c.in.substr(local_start, c.pos - local_start));
        if (!is_dot_string(mb.local_part, o.smtputf8)) return PathError::syntax;
    }
    // RFC 5321 4.5.3.1.1 counts the local part as sent, quotes included.
    if (c.pos - local_start > kMaxLocalPartLength) return PathError::local_part_too_long;
    if (mb.local_part.empty()) return PathError::syntax;  // "" is legal but never a mailbox here

    if (c.peek() != '@') {
        // RFC 5321 4.1.1.3: "<Postmaster>" without a domain, for RCPT only.
        if (o.allow_bare_postmaster && !mb.local_part_quoted && iequals(mb.local_part, "postmaster")) {
            if (saw_8bit && !is_valid_utf8(mb.local_part)) return PathError::invalid_utf8;
            return mb;
        }
        return PathError::syntax;
    }
    ++c.pos;
    const std::size_t domain_start = c.pos;
    if (c.peek() == '[') {
        while (!c.at_end() && c.peek() != ']') {
            if (is_8bit(c.peek()) && !o.smtputf8) return PathError::non_ascii_not_permitted;
            ++c.pos;
        }
        if (c.at_end()) return PathError::syntax;
        ++c.pos;  // ']'
        mb.domain = std::string(c.in.substr(domain_start, c.pos - domain_start));
        auto kind = parse_address_literal(mb.domain);
        if (!kind) return PathError::syntax;
        mb.domain_kind = *kind;
    } else {
        while (!c.at_end() && terminators.find(static_cast<char>(c.peek())) == std::string_view::npos) {
            if (is_8bit(c.peek())) {
                if (!o.smtputf8) return PathError::non_ascii_not_permitted;
                saw_8bit = true;
            }
            ++c.pos;
        }
        mb.domain = std::string(c.in.substr(domain_start, c.pos - domain_start));
        if (mb.domain.size() > kMaxDomainLength) return PathError::domain_too_long;
        if (saw_8bit && !is_valid_utf8(mb.domain)) return PathError::invalid_utf8;
        if (!is_valid_domain(mb.domain, o.smtputf8)) return PathError::syntax;
    }
    if (mb.domain.size() > kMaxDomainLength) return PathError::domain_too_long;
    if (saw_8bit) {
        if (!is_valid_utf8(mb.local_part) || !is_valid_utf8(mb.domain)) return PathError::invalid_utf8;
        mb.non_ascii = true;
    }
    return mb;
}

}  // namespace

const char* to_string(PathError e) {
    switch (e) {
        case PathError::syntax: return "bad address syntax";
        case PathError::local_part_too_long: return "local part too long";
        case PathError::domain_too_long: return "domain too long";
        case PathError::path_too_long: return "path too long";
        case PathError::non_ascii_not_permitted: return "non-ASCII address without SMTPUTF8";
        case PathError::invalid_utf8: return "invalid UTF-8 in address";
        case PathError::null_not_allowed: return "null path not allowed here";
    }
    return "bad address";
}

const char* to_string(ParamError e) {
    switch (e) {
        case ParamError::syntax: return "bad parameter syntax";
        case ParamError::duplicate: return "duplicate parameter";
        case ParamError::non_ascii: return "non-ASCII parameter value without SMTPUTF8";
    }
    return "bad parameter";
}

std::string Mailbox::canonical() const {
    std::string out;
    if (needs_quoting(local_part)) {
        out += '"';
        for (char c : local_part) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    } else {
        out += local_part;
    }
    if (!domain.empty()) {
        out += '@';
        // Address literals: lower-case too ("[IPv6:..." tag and hex digits are case-insensitive).
        out += ascii_lowercase(domain);
    }
    return out;
}

bool is_valid_domain(std::string_view domain, bool allow_utf8) {
    if (domain.empty() || domain.size() > kMaxDomainLength) return false;
    std::size_t start = 0;
    while (true) {
        const auto dot = domain.find('.', start);
        const auto label = domain.substr(start, dot == std::string_view::npos ? domain.npos : dot - start);
        if (!valid_label(label, allow_utf8)) return false;  // also catches "a..b" and "a."
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return !allow_utf8 || is_valid_utf8(domain);
}

std::optional<DomainKind> parse_address_literal(std::string_view lit) {
    if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') return std::nullopt;
    auto inner = lit.substr(1, lit.size() - 2);
    if (inner.size() >= 5 && iequals(inner.substr(0, 5), "IPv6:")) {
        if (parse_ipv6(inner.substr(5))) return DomainKind::ipv6_literal;
        return std::nullopt;
    }
    if (parse_ipv4(inner)) return DomainKind::ipv4_literal;
    return std::nullopt;
}

std::variant<ParsedPath, PathError> parse_path(std::string_view input, const PathOptions& o) {
    Cursor c{input};
    if (c.peek() != '<') return PathError::syntax;
    ++c.pos;
    ParsedPath result;
    if (c.peek() == '>') {
        if (!o.allow_null) return PathError::null_not_allowed;
        result.consumed = 2;
        return result;
    }
    if (c.peek() == '@') {
        // A-d-l = At-domain *( "," At-domain ) ":"  (RFC 5321 4.1.2; accepted and dropped, C)
        bool saw_8bit = false;
        while (true) {
            if (c.peek() != '@') return PathError::syntax;
            ++c.pos;
            if (!skip_route_domain(c, o, saw_8bit)) {
                if (saw_8bit && !o.smtputf8) return PathError::non_ascii_not_permitted;
                return PathError::syntax;
            }
            if (c.peek() == ',') {
                ++c.pos;
                continue;
            }
            if (c.peek() == ':') {
                ++c.pos;
                break;
            }
            return PathError::syntax;
        }
        result.path.had_source_route = true;
    }
    auto mb = parse_mailbox_at(c, o, ">");
    if (auto* e = std::get_if<PathError>(&mb)) return *e;
    if (c.peek() != '>') return PathError::syntax;
    ++c.pos;
    if (c.pos > kMaxPathLength) return PathError::path_too_long;
    result.path.mailbox = std::move(std::get<Mailbox>(mb));
    result.consumed = c.pos;
    return result;
}

std::variant<Mailbox, PathError> parse_mailbox(std::string_view input, bool allow_utf8) {
    PathOptions o;
    o.smtputf8 = allow_utf8;
    Cursor c{input};
    // No terminator: the whole input is the mailbox.
    auto mb = parse_mailbox_at(c, o, std::string_view());
    if (auto* e = std::get_if<PathError>(&mb)) return *e;
    if (!c.at_end()) return PathError::syntax;
    if (std::get<Mailbox>(mb).domain.empty()) return PathError::syntax;
    return mb;
}

std::variant<std::vector<EsmtpParam>, ParamError> parse_esmtp_params(std::string_view in, bool allow_utf8) {
    std::vector<EsmtpParam> params;
    std::size_t i = 0;
    while (true) {
        while (i < in.size() && in[i] == ' ') ++i;
        if (i == in.size()) break;
        const std::size_t start = i;
        while (i < in.size() && in[i] != ' ') ++i;
        const auto token = in.substr(start, i - start);
        const auto eq = token.find('=');
        const auto keyword = token.substr(0, eq);
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        if (keyword.empty() || !(is_ascii_alpha(keyword[0]) || is_ascii_digit(keyword[0]))) return ParamError::syntax;
        for (unsigned char ch : keyword)
            if (!is_ascii_alpha(ch) && !is_ascii_digit(ch) && ch != '-') return ParamError::syntax;
        EsmtpParam p;
        p.keyword = std::string(keyword);
        for (char& ch : p.keyword)
            if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (eq != std::string_view::npos) {
            // esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 adds UTF8-non-ascii.
            const auto value = token.substr(eq + 1);
            if (value.empty()) return ParamError::syntax;
            bool saw_8bit = false;
            for (unsigned char ch : value) {
                if (is_8bit(ch)) {
                    saw_8bit = true;
                    continue;
                }
                if (ch < 33 || ch > 126 || ch == '=') return ParamError::syntax;
            }
            if (saw_8bit) {
                if (!allow_utf8) return ParamError::non_ascii;
                if (!is_valid_utf8(value)) return ParamError::syntax;
            }
            p.value = std::string(value);
        }
        for (const auto& q : params)
            if (q.keyword == p.keyword) return ParamError::duplicate;
        params.push_back(std::move(p));
    }
    return params;
}

}  // namespace hikyaku::text
