// compose.cpp: the message composer (see compose.h). Bodies are always 7-bit on the wire
// (7bit, quoted-printable or base64), so a message goes through any SMTP server.
// Must never: emit bare CR/LF, lines over 998 octets, or split a UTF-8 character between
// encoded words.
#include "common/mime/compose.h"

#include <algorithm>

#include "common/text/base64.h"
#include "common/text/charset.h"
#include "common/text/date.h"
#include "common/text/qp.h"
#include "common/text/utf8.h"

namespace hikyaku::mime {

namespace {

constexpr std::size_t kMaxWordPayload = 45;  // 60 base64 chars: "=?UTF-8?B?" + 60 + "?=" = 72
constexpr std::size_t kMaxParamChunk = 60;   // encoded characters per RFC 2231 section
constexpr std::size_t kMaxUnfoldableToken = 900;

bool is_plain_ascii(std::string_view s) {
    for (unsigned char c : s) {
        if (c >= 0x7f || (c < 0x20 && c != '\t')) return false;
    }
    return true;
}

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
    return std::string(s.substr(b, e - b));
}

// CR, LF and other controls in header input become spaces (a header value is one line).
std::string one_line(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c == '\r' || c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) c = ' ';
    }
    return out;
}

std::string encoded_words(std::string_view utf8_in) {
    const std::string utf8 = text::utf8_sanitize(utf8_in);
    std::string out;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::size_t end = i;
        while (end < utf8.size()) {
            // utf8 is sanitized: every position here starts a well-formed sequence.
            std::size_t n = text::utf8_sequence_length(utf8, end);
            if (end + n - i > kMaxWordPayload) break;
            end += n;
        }
        if (!out.empty()) out += ' ';
        out += "=?UTF-8?B?";
        out += text::base64_encode(std::string_view(utf8).substr(i, end - i));
        out += "?=";
        i = end;
    }
    return out;
}

bool needs_encoding(std::string_view s) {
    if (!is_plain_ascii(s) || s.find("=?") != std::string_view::npos) return true;
    std::size_t run = 0;
    for (char c : s) {
        run = (c == ' ') ? 0 : run + 1;
        if (run > kMaxUnfoldableToken) return true;
    }
    return false;
}

bool is_atext_phrase(std::string_view s) {
    static constexpr std::string_view specials = "()<>[]:;@\\,.\"";
    for (char c : s) {
        if (specials.find(c) != std::string_view::npos) return false;
    }
    return true;
}

// RFC 2231 attribute-char (RFC 2045 token chars minus '*', '\'', '%').
bool is_attribute_char(unsigned char c) {
    if (c <= 0x20 || c >= 0x7f) return false;
    static constexpr std::string_view excluded = "*'%()<>@,;:\\\"/[]?=";
    return excluded.find(static_cast<char>(c)) == std::string_view::npos;
}

// `name="value"` or the RFC 2231 extended form, continued when long.
std::string encode_param(std::string_view name, std::string_view value_in) {
    const std::string value = text::utf8_sanitize(one_line(value_in));
    if (is_plain_ascii(value) && value.size() <= kMaxParamChunk) {
        std::string out(name);
        out += "=\"";
        for (char c : value) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        return out + '"';
    }
    // Percent-encode, then cut into sections without splitting a %XX triple.
    std::vector<std::string> pieces;
    std::string current;
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : value) {
        std::string unit;
        if (is_attribute_char(c)) {
            unit = static_cast<char>(c);
        } else {
            unit = {'%', hex[c >> 4], hex[c & 15]};
        }
        if (current.size() + unit.size() > kMaxParamChunk) {
            pieces.push_back(std::move(current));
            current.clear();
        }
        current += unit;
    }
    pieces.push_back(std::move(current));
    std::string out;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (i) out += "; ";
        out += name;
        if (pieces.size() > 1) out += '*' + std::to_string(i);
        out += "*=";
        if (i == 0) out += "utf-8''";
        out += pieces[i];
    }
    return out;
}

// CRLF line ends everywhere; lone CR or LF become CRLF; a non-empty text ends with CRLF.
std::string normalize_lines(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 32 + 2);
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    return out;
}

struct EncodedBody {
    std::string encoding;  // 7bit, quoted-printable, base64
    std::string text;      // ends with CRLF unless empty
};

EncodedBody encode_text_body(std::string_view body, std::string_view boundary) {
    const std::string text = normalize_lines(text::utf8_sanitize(body));
    std::size_t non_ascii = 0, line = 0, longest = 0;
    bool controls = false, trailing_space = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) ++non_ascii;
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            if (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) trailing_space = true;
            longest = std::max(longest, line);
            line = 0;
            ++i;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) controls = true;
        ++line;
    }
    longest = std::max(longest, line);
    const std::string delimiter = "--" + std::string(boundary);
    const bool boundary_inside = !boundary.empty() && text.find(delimiter) != std::string::npos;
    if (non_ascii == 0 && !controls && !trailing_space && longest <= kMaxLineLength && !boundary_inside) {
        return {"7bit", text};
    }
    if (non_ascii * 3 <= text.size()) {
        std::string qp = text::qp_encode(text);
        if (!qp.empty() && !qp.ends_with("\r\n")) qp += "\r\n";
        if (boundary.empty() || qp.find(delimiter) == std::string::npos) {
            return {"quoted-printable", std::move(qp)};
        }
    }
    std::string b64 = text::base64_encode(text, text::kBase64MimeLineLength);
    if (!b64.empty()) b64 += "\r\n";
    return {"base64", std::move(b64)};
}

bool valid_media_type(std::string_view t) {
    const std::size_t slash = t.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i == slash) continue;
        if (!is_attribute_char(static_cast<unsigned char>(t[i]))) return false;
    }
    return t.find('/', slash + 1) == std::string_view::npos;
}

std::string address_list(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& a : list) {
        if (trim(a).empty()) continue;
        if (!out.empty()) out += ", ";
        out += encode_address(a);
    }
    return out;
}

}  // namespace

std::string fold_header(std::string_view name, std::string_view value_in) {
    const std::string value = one_line(value_in);
    std::string out(name);
    out += ':';
    std::size_t line_length = out.size();
    std::size_t pos = 0;
    bool first = true;
    // Tokens are the texts between single spaces; a fold replaces one space by CRLF SP, so
    // unfolding gives the value back exactly. Folds go only before non-empty tokens, so no
    // line is whitespace only.
    while (pos <= value.size()) {
        std::size_t space = value.find(' ', pos);
        if (space == std::string::npos) space = value.size();
        std::string_view token = std::string_view(value).substr(pos, space - pos);
        if (first) {
            out += ' ';
            out += token;
            line_length += 1 + token.size();
            first = false;
        } else if (!token.empty() && line_length + 1 + token.size() > kFoldWidth && line_length > name.size() + 2) {
            out += "\r\n ";
            out += token;
            line_length = 1 + token.size();
        } else {
            out += ' ';
            out += token;
            line_length += 1 + token.size();
        }
        pos = space + 1;
    }
    out += "\r\n";
    return out;
}

std::string encode_unstructured(std::string_view utf8) {
    const std::string line = one_line(utf8);
    if (!needs_encoding(line)) return line;
    return encoded_words(line);
}

std::string address_spec(std::string_view address) {
    const std::string a = trim(one_line(address));
    const std::size_t lt = a.rfind('<');
    if (lt != std::string::npos && a.ends_with('>')) return trim(a.substr(lt + 1, a.size() - lt - 2));
    return a;
}

std::string encode_address(std::string_view address) {
    const std::string a = trim(one_line(address));
    const std::size_t lt = a.rfind('<');
    if (lt == std::string::npos || !a.ends_with('>')) return a;
    std::string display = trim(std::string_view(a).substr(0, lt));
    const std::string spec = address_spec(a);
    if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
        std::string unquoted;
        for (std::size_t i = 1; i + 1 < display.size(); ++i) {
            if (display[i] == '\\' && i + 2 < display.size()) ++i;
            unquoted += display[i];
        }
        display = unquoted;
    }
    if (display.empty()) return "<" + spec + ">";
    std::string phrase;
    if (needs_encoding(display)) {
        phrase = encoded_words(display);
    } else if (is_atext_phrase(display)) {
        phrase = display;
    } else {
        phrase = "\"";
        for (char c : display) {
            if (c == '"' || c == '\\') phrase += '\\';
            phrase += c;
        }
        phrase += '"';
    }
    return phrase + " <" + spec + ">";
}

std::string format_rfc5322_date(std::time_t when) {
    std::tm tm{};
    localtime_r(&when, &tm);  // only for the zone's offset at that instant
    return text::rfc5322_date(std::chrono::sys_seconds{std::chrono::seconds{when}},
                              std::chrono::minutes{tm.tm_gmtoff / 60});
}

ComposedMessage compose_message(const ComposeInput& in) {
    ComposedMessage result;
    std::string& m = result.bytes;
    m += fold_header("Date", in.date);
    m += fold_header("From", encode_address(in.from));
    if (const std::string to = address_list(in.to); !to.empty()) m += fold_header("To", to);
    if (const std::string cc = address_list(in.cc); !cc.empty()) m += fold_header("Cc", cc);
    m += fold_header("Subject", encode_unstructured(in.subject));
    m += fold_header("Message-ID", in.message_id);
    if (!in.user_agent.empty()) m += fold_header("User-Agent", encode_unstructured(in.user_agent));
    m += "MIME-Version: 1.0\r\n";

    if (in.attachments.empty()) {
        EncodedBody body = encode_text_body(in.body, {});
        m += "Content-Type: text/plain; charset=utf-8\r\n";
        m += "Content-Transfer-Encoding: " + body.encoding + "\r\n\r\n";
        m += body.text;
    } else {
        const std::string& b = in.boundary;
        m += fold_header("Content-Type", "multipart/mixed; boundary=\"" + b + "\"");
        m += "\r\nThis is a MIME message in several parts.\r\n";
        EncodedBody body = encode_text_body(in.body, b);
        m += "\r\n--" + b + "\r\n";
        m += "Content-Type: text/plain; charset=utf-8\r\n";
        m += "Content-Transfer-Encoding: " + body.encoding + "\r\n\r\n";
        m += body.text;
        for (const ComposeAttachment& a : in.attachments) {
            const std::string type = valid_media_type(a.content_type) ? a.content_type : "application/octet-stream";
            m += "\r\n--" + b + "\r\n";
            m += fold_header("Content-Type", type + "; " + encode_param("name", a.filename));
            m += fold_header("Content-Disposition", "attachment; " + encode_param("filename", a.filename));
            m += "Content-Transfer-Encoding: base64\r\n\r\n";
            std::string data = text::base64_encode(a.data, text::kBase64MimeLineLength);
            if (!data.empty()) data += "\r\n";
            m += data;
        }
        m += "\r\n--" + b + "--\r\n";
    }
    for (unsigned char c : m) {
        if (c >= 0x80) {
            result.eight_bit = true;
            break;
        }
    }
    return result;
}

}  // namespace hikyaku::mime
