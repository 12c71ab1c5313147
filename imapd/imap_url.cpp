// imap_url.cpp: see imap_url.h. RFC 5092 (IMAP URL scheme: imapurl, iserver, iuserinfo, iauth,
// imessagepart, imailbox-ref, uidvalidity, iuid, isection, ipartial, partial-range, bchar, achar,
// pct-encoded), RFC 4469 3 and 5 (CATENATE URLs, url-resp-text).
#include "imapd/imap_url.h"

#include <string_view>

namespace hikyaku::imap {
namespace {

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 5092: achar = uchar / "&" / "=" / "~"; uchar = unreserved / pct-encoded / sub-delims-sh;
// sub-delims-sh = "!" / "$" / "'" / "(" / ")" / "*" / "+" / ","; "%" starts a pct-encoded.
bool is_achar(char c) {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
        case '-':
        case '.':
        case '_':
        case '~':  // unreserved
        case '!':
        case '$':
        case '\'':
        case '(':
        case ')':
        case '*':  // sub-delims-sh
        case '+':
        case ',':
        case '&':
        case '=':
        case '%': return true;
        default: return false;
    }
}
// bchar = achar / ":" / "@" / "/"
bool is_bchar(char c) { return is_achar(c) || c == ':' || c == '@' || c == '/'; }

// Percent-decodes `in` (every octet already checked against `allowed`); false on a bad escape
// or a NUL.
bool decode(std::string_view in, bool (*allowed)(char), std::string& out, std::string& reason) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (!allowed(c)) {
            reason = "character not allowed in an IMAP URL";
            return false;
        }
        if (c != '%') {
            out += c;
            continue;
        }
        const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            reason = "invalid percent escape";
            return false;
        }
        const char decoded = static_cast<char>(hi * 16 + lo);
        if (decoded == '\0') {
            reason = "NUL in an IMAP URL";
            return false;
        }
        out += decoded;
        i += 2;
    }
    return true;
}

// Takes `word` (ASCII case-insensitive) from the front of `rest`.
bool take(std::string_view& rest, std::string_view word) {
    if (rest.size() < word.size() || !iequals(rest.substr(0, word.size()), word)) return false;
    rest.remove_prefix(word.size());
    return true;
}

// number (RFC 9051: 32-bit); nz: nz-number (no leading zero, not 0).
std::optional<std::uint32_t> take_number(std::string_view& rest, bool nz) {
    std::size_t n = 0;
    std::uint64_t value = 0;
    while (n < rest.size() && is_digit(rest[n])) {
        value = value * 10 + static_cast<unsigned>(rest[n] - '0');
        if (value > 0xFFFFFFFFu) return std::nullopt;
        ++n;
    }
    if (n == 0) return std::nullopt;
    if (nz && (rest[0] == '0')) return std::nullopt;
    rest.remove_prefix(n);
    return static_cast<std::uint32_t>(value);
}

UrlError error(std::string reason) { return UrlError{std::move(reason)}; }

// iserver = [iuserinfo "@"] host [":" port]; iuserinfo = enc-user [iauth] / [enc-user] iauth
std::optional<UrlError> parse_server(std::string_view server, ImapUrl& out) {
    std::string reason;
    const std::size_t at = server.find('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = server.substr(0, at);
        server.remove_prefix(at + 1);
        std::string_view user = userinfo;
        const std::size_t semicolon = userinfo.find(';');
        if (semicolon != std::string_view::npos) {
            user = userinfo.substr(0, semicolon);
            std::string_view auth = userinfo.substr(semicolon);
            if (!take(auth, ";AUTH=") || auth.empty()) return error("invalid ;AUTH= in the URL's user");
            // enc-auth-type = 1*achar, or "*": any mechanism; which one does not matter here.
            std::string mechanism;
            if (auth != "*" && !decode(auth, is_achar, mechanism, reason)) return error(reason);
        }
        if (!user.empty()) {
            std::string decoded;
            if (!decode(user, is_achar, decoded, reason)) return error(reason);
            out.user = std::move(decoded);
        }
    }
    // host = IP-literal / IPv4address / reg-name (RFC 3986 3.2.2), then [":" port]
    std::string_view host = server, port;
    if (!server.empty() && server.front() == '[') {
        const std::size_t close = server.find(']');
        if (close == std::string_view::npos) return error("unterminated IP literal");
        host = server.substr(0, close + 1);
        for (char c : host.substr(1, host.size() - 2))
            if (!(hex_value(c) >= 0 || c == ':' || c == '.')) return error("invalid IP literal");
        std::string_view after = server.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return error("invalid host");
            port = after.substr(1);
            if (port.empty()) return error("empty port");
        }
    } else {
        const std::size_t colon = server.find(':');
        if (colon != std::string_view::npos) {
            host = server.substr(0, colon);
            port = server.substr(colon + 1);
            if (port.empty()) return error("empty port");
        }
        for (char c : host)
            if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.')) return error("invalid host");
    }
    if (host.empty()) return error("no host in the URL");
    for (char c : host) out.host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!port.empty()) {
        std::string_view digits = port;
        auto number = take_number(digits, false);
        if (!number || !digits.empty() || *number > 65535) return error("invalid port");
        out.port = static_cast<std::uint16_t>(*number);
    }
    return std::nullopt;
}

}  // namespace

std::variant<ImapUrl, UrlError> parse_imap_url(std::string_view url, const GrammarLimits& limits) {
    if (url.size() > limits.max_catenate_url_length) return error("URL too long");
    ImapUrl out;
    std::string_view rest = url;
    std::string reason;
    if (take(rest, "imap://")) {
        out.absolute = true;
        const std::size_t slash = rest.find('/');
        if (slash == std::string_view::npos) return error("the URL names no message");
        if (auto failed = parse_server(rest.substr(0, slash), out)) return *failed;
        rest.remove_prefix(slash);
    }
    // "/" imessagepart; imessagepart = imailbox-ref iuid [isection] [ipartial] [iurlauth]
    if (!take(rest, "/")) return error("not an IMAP URL of a message");
    const std::size_t semicolon = rest.find(';');
    if (semicolon == std::string_view::npos) return error("the URL names no message (no ;UID=)");
    std::string_view mailbox = rest.substr(0, semicolon);
    rest.remove_prefix(semicolon);
    if (take(rest, ";UIDVALIDITY=")) {
        out.uidvalidity = take_number(rest, true);
        if (!out.uidvalidity) return error("invalid UIDVALIDITY");
        if (!take(rest, "/")) return error("the URL names no message (no ;UID=)");
    } else {
        // iuid = "/" ";UID=": that "/" ended up at the end of the mailbox text; not the name's.
        if (mailbox.empty() || mailbox.back() != '/') return error("the URL names no message (no ;UID=)");
        mailbox.remove_suffix(1);
    }
    if (mailbox.empty()) return error("no mailbox in the URL");
    if (!decode(mailbox, is_bchar, out.mailbox, reason)) return error(reason);
    if (!take(rest, ";UID=")) return error("the URL names no message (no ;UID=)");
    auto uid = take_number(rest, true);
    if (!uid) return error("invalid UID");
    out.uid = *uid;
    if (take(rest, "/;SECTION=")) {
        const std::size_t end = rest.find(';');
        std::string_view encoded = rest.substr(0, end);
        // The section ends before "/;PARTIAL=" (a "/" is a bchar but never ends a section-spec).
        if (end != std::string_view::npos) {
            if (encoded.empty() || encoded.back() != '/') return error("invalid SECTION");
            encoded.remove_suffix(1);
        }
        rest.remove_prefix(encoded.size());
        std::string spec;
        if (encoded.empty() || !decode(encoded, is_bchar, spec, reason))
            return error(reason.empty() ? "empty SECTION" : reason);
        std::string why;
        auto section = parse_section_spec(spec, limits, &why);
        if (!section) return error("invalid SECTION: " + why);
        out.section = std::move(*section);
    }
    if (take(rest, "/;PARTIAL=")) {
        UrlPartial partial;
        auto offset = take_number(rest, false);
        if (!offset) return error("invalid PARTIAL");
        partial.offset = *offset;
        if (take(rest, ".")) {
            partial.length = take_number(rest, true);
            if (!partial.length) return error("invalid PARTIAL length");
        }
        out.partial = partial;
    }
    if (take(rest, ";EXPIRE=") || take(rest, ";URLAUTH=")) return error("URLAUTH is not supported");
    if (!rest.empty()) return error("unexpected text after the message part of the URL");
    return out;
}

std::string badurl_text(std::string_view url) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7E || c == ']') {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0x0F];
        } else {
            out += c;
        }
        if (out.size() >= kMaxCatenateUrlLength) break;
    }
    if (out.empty()) out = "\"\"";  // 1*url-resp-text; the grammar refuses an empty URL anyway
    return out;
}

}  // namespace hikyaku::imap
