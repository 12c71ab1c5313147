// qp.cpp: quoted-printable and RFC 2047 "Q" codecs (see qp.h).
// Must never: read past the input.
// RFC 2045 6.7, RFC 2047 4.2.
#include "common/text/qp.h"

#include "common/text/ascii.h"

namespace hikyaku::text {
namespace {

// Hex digits of either case: lenient, RFC 2045 6.7 rule 1 says upper case.
int hex_value(char c) { return hex_digit_value(static_cast<unsigned char>(c)); }

constexpr char kHex[] = "0123456789ABCDEF";

}  // namespace

std::string qp_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        // One line: [i, eol), then its line end.
        std::size_t nl = in.find('\n', i);
        std::size_t eol = nl == std::string_view::npos ? in.size() : nl;
        std::size_t content_end = eol;
        if (content_end > i && in[content_end - 1] == '\r') --content_end;
        std::size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
        std::string_view line_end = in.substr(content_end, next - content_end);
        // Rule 3: transport whitespace at the end of a line is not part of the data.
        std::size_t end = content_end;
        while (end > i && (in[end - 1] == ' ' || in[end - 1] == '\t')) --end;
        bool soft_break = false;
        for (std::size_t k = i; k < end; ++k) {
            char c = in[k];
            if (c != '=') {
                out.push_back(c);
                continue;
            }
            if (k + 1 == end) {  // rule 5: soft line break
                soft_break = true;
                break;
            }
            int hi = hex_value(in[k + 1]);
            int lo = k + 2 < end ? hex_value(in[k + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                k += 2;
                continue;
            }
            out.push_back('=');  // not an escape: keep it (RFC 2045 6.7 note 4)
        }
        if (!soft_break) out.append(line_end);
        i = next;
    }
    return out;
}

std::string qp_encode(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 8);
    std::size_t col = 0;
    auto put = [&](std::string_view token) {
        // Rule 5: a soft break when the token would pass 75 characters (the "=" needs one).
        if (col + token.size() > kQpMaxLineLength - 1) {
            out += "=\r\n";
            col = 0;
        }
        out += token;
        col += token.size();
    };
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        bool crlf = c == '\r' && i + 1 < in.size() && in[i + 1] == '\n';
        if (crlf || c == '\n') {  // a hard line break, kept as written
            out += crlf ? "\r\n" : "\n";
            if (crlf) ++i;
            col = 0;
            continue;
        }
        bool at_line_end =
            i + 1 == in.size() || in[i + 1] == '\n' || (in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n');
        bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);  // rules 2, 3
        if (literal) {
            char ch = static_cast<char>(c);
            put(std::string_view(&ch, 1));
        } else {
            char esc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
            put(std::string_view(esc, 3));
        }
    }
    return out;
}

std::string q_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '_') {
            out.push_back(' ');
        } else if (c == '=') {
            int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
            } else {
                out.push_back('=');
            }
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace hikyaku::text
