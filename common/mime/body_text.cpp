// body_text.cpp: transfer decoding, charset conversion, RFC 2231 parameters (see the header).
// Must never: read outside the message or return invalid UTF-8 from the *_utf8 functions.
// RFC 2045 6, RFC 2046 4.1.2, RFC 2231 3-4, RFC 2047 5.
#include "common/mime/body_text.h"

#include <map>

#include "common/text/ascii.h"
#include "common/text/base64.h"
#include "common/text/charset.h"
#include "common/text/qp.h"
#include "common/text/rfc2047.h"

namespace hikyaku::mime {
namespace {

// RFC 2231 4: %XX escapes of an extended value.
std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = text::hex_digit_value(s[i + 1]), lo = text::hex_digit_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::string to_utf8(std::string_view charset, std::string_view bytes) {
    if (charset.empty()) return text::utf8_sanitize(bytes);
    auto r = text::charset_to_utf8(charset, bytes);
    return r.ok() ? std::move(r).value() : text::utf8_sanitize(bytes);
}

}  // namespace

std::string decode_body(std::string_view raw, const Part& part) {
    if (part.body_offset > raw.size()) return {};
    std::string_view body = raw.substr(part.body_offset, part.body_size);
    if (part.encoding) {
        if (iequals(*part.encoding, "base64")) return text::base64_decode_lenient(body);
        if (iequals(*part.encoding, "quoted-printable")) return text::qp_decode(body);
    }
    return std::string(body);  // 7bit, 8bit, binary, and unknown encodings (RFC 2045 6.4)
}

Result<std::string> body_text_utf8(std::string_view raw, const Part& part) {
    const std::string* charset = find_param(part.params, "charset");
    std::string bytes = decode_body(raw, part);
    if (charset == nullptr || charset->empty()) return text::utf8_sanitize(bytes);  // us-ascii
    return text::charset_to_utf8(*charset, bytes);
}

std::optional<std::string> param_value_utf8(const std::vector<Param>& params, std::string_view name) {
    std::optional<std::string> plain;
    std::optional<std::string> extended;        // name*
    std::map<unsigned, const Param*> sections;  // name*N and name*N*
    for (const Param& p : params) {
        std::string_view n = p.name;
        if (n.size() < name.size() || !iequals(n.substr(0, name.size()), name)) continue;
        std::string_view rest = n.substr(name.size());
        if (rest.empty()) {
            if (!plain) plain = p.value;
        } else if (rest == "*") {
            if (!extended) extended = p.value;
        } else if (rest[0] == '*') {
            std::string_view digits = rest.substr(1);
            if (!digits.empty() && digits.back() == '*') digits.remove_suffix(1);
            if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string_view::npos)
                continue;
            unsigned index = static_cast<unsigned>(std::stoul(std::string(digits)));
            sections.emplace(index, &p);
        }
    }
    // RFC 2231 4: charset'language'value, only in the first (or only) extended segment.
    auto split_extended = [](std::string_view v, std::string& charset) {
        std::size_t q1 = v.find('\'');
        std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 == std::string_view::npos) return v;
        charset.assign(v.substr(0, q1));
        return v.substr(q2 + 1);
    };
    if (!sections.empty() && sections.begin()->first == 0) {
        std::string charset, bytes;
        unsigned expect = 0;
        for (const auto& [index, p] : sections) {
            if (index != expect++) break;  // RFC 2231 3: continuations are consecutive
            bool ext = p->name.back() == '*';
            std::string_view v = p->value;
            if (ext && index == 0) v = split_extended(v, charset);
            bytes += ext ? percent_decode(v) : std::string(v);
        }
        return to_utf8(charset, bytes);
    }
    if (extended) {
        std::string charset;
        std::string_view v = split_extended(*extended, charset);
        return to_utf8(charset, percent_decode(v));
    }
    if (plain) return text::rfc2047_decode(*plain);
    return std::nullopt;
}

}  // namespace hikyaku::mime
