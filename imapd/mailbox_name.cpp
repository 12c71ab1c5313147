// mailbox_name.cpp: see mailbox_name.h. RFC 3501 5.1.3 (modified UTF-7), RFC 9051 5.1 and
// 6.3.9 (UTF-8 names, LIST wildcards), RFC 6855 3, RFC 3629 (UTF-8), RFC 2781 2 (UTF-16).
#include "imapd/mailbox_name.h"

#include <algorithm>

#include "common/text/utf8.h"

namespace hikyaku::imap {
namespace {

constexpr std::string_view kModifiedBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
constexpr char32_t kReplacement = 0xFFFD;

Error invalid(std::string reason) { return make_error(Errc::invalid_argument, std::move(reason)); }

bool printable_ascii(char32_t c) { return c >= 0x20 && c <= 0x7E; }

int base64_value(char c) {
    const std::size_t pos = kModifiedBase64.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7F;
    });
}

// Appends "&" base64(UTF-16BE units) "-" (RFC 3501 5.1.3: "," for "/", no "=" padding).
void flush_run(std::string& out, std::vector<char16_t>& units) {
    if (units.empty()) return;
    out += '&';
    std::uint32_t bits = 0;
    int nbits = 0;
    for (char16_t u : units) {
        bits = (bits << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            out += kModifiedBase64[(bits >> nbits) & 0x3F];
        }
        bits &= (1u << nbits) - 1;
    }
    if (nbits > 0) out += kModifiedBase64[(bits << (6 - nbits)) & 0x3F];
    out += '-';
    units.clear();
}

}  // namespace

Result<std::string> decode_modified_utf7(std::string_view wire) {
    std::string out;
    std::size_t i = 0;
    while (i < wire.size()) {
        const char c = wire[i];
        if (!printable_ascii(static_cast<unsigned char>(c)))
            return invalid("mailbox name has an octet outside printable ASCII (not modified UTF-7)");
        if (c != '&') {
            out += c;
            ++i;
            continue;
        }
        const std::size_t end = wire.find('-', i + 1);
        if (end == std::string_view::npos) return invalid("unterminated modified UTF-7 run (missing \"-\")");
        if (end == i + 1) {  // "&-" is "&"
            out += '&';
            i = end + 1;
            continue;
        }
        std::uint32_t bits = 0;
        int nbits = 0;
        char16_t high = 0;  // a pending high surrogate
        for (std::size_t k = i + 1; k < end; ++k) {
            const int v = base64_value(wire[k]);
            if (v < 0) return invalid("invalid character in modified UTF-7 run");
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits < 16) continue;
            nbits -= 16;
            const auto unit = static_cast<char16_t>((bits >> nbits) & 0xFFFF);
            bits &= (1u << nbits) - 1;
            if (high != 0) {
                if (unit < 0xDC00 || unit > 0xDFFF) return invalid("unpaired surrogate in modified UTF-7 run");
                text::append_code_point(out,
                                        0x10000 + ((static_cast<char32_t>(high) - 0xD800) << 10) + (unit - 0xDC00));
                high = 0;
            } else if (unit >= 0xD800 && unit <= 0xDBFF) {
                high = unit;
            } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                return invalid("unpaired surrogate in modified UTF-7 run");
            } else if (printable_ascii(unit)) {
                return invalid("printable ASCII encoded in modified UTF-7 (non-canonical)");
            } else {
                text::append_code_point(out, unit);
            }
        }
        if (high != 0) return invalid("unpaired surrogate in modified UTF-7 run");
        if (nbits >= 6 || bits != 0) return invalid("bad padding in modified UTF-7 run");
        i = end + 1;
    }
    // The one canonical form: no null shifts ("-&"), nothing encoded that need not be.
    if (encode_modified_utf7(out) != wire) return invalid("non-canonical modified UTF-7");
    return out;
}

std::string encode_modified_utf7(std::string_view utf8) {
    std::string out;
    std::vector<char16_t> units;
    std::size_t i = 0;
    while (i < utf8.size()) {
        const char32_t c = text::next_code_point(utf8, i).value_or(kReplacement);
        if (printable_ascii(c)) {
            flush_run(out, units);
            out += static_cast<char>(c);
            if (c == '&') out += '-';
        } else if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            units.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
            units.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
        } else {
            units.push_back(static_cast<char16_t>(c));
        }
    }
    flush_run(out, units);
    return out;
}

Result<std::string> mailbox_from_wire(std::string_view wire, NameEncoding encoding) {
    std::string name;
    if (encoding == NameEncoding::modified_utf7) {
        auto decoded = decode_modified_utf7(wire);
        if (!decoded) return decoded.error();
        name = std::move(*decoded);
    } else {
        for (std::size_t i = 0; i < wire.size();)
            if (!text::next_code_point(wire, i)) return invalid("mailbox name is not valid UTF-8");
        name = std::string(wire);
    }
    if (has_control(name)) return invalid("mailbox name has a control character");
    return name;
}

std::string mailbox_to_wire(std::string_view name, NameEncoding encoding) {
    if (encoding == NameEncoding::utf8) return std::string(name);
    return encode_modified_utf7(name);
}

// ---- LIST patterns ------------------------------------------------------------------------

Result<ListPattern> ListPattern::compile(std::string_view reference, std::string_view pattern) {
    std::string combined;
    if (!pattern.empty() && pattern.front() == kHierarchyDelimiter) combined = std::string(pattern);
    else combined = std::string(reference) + std::string(pattern);
    if (combined.size() > kMaxListPatternLength)
        return make_error(Errc::limit_exceeded,
                          "LIST pattern longer than " + std::to_string(kMaxListPatternLength) + " octets");
    ListPattern p;
    // A run of wildcards is one "*" if it holds a "*", else one "%".
    for (std::size_t i = 0; i < combined.size();) {
        if (combined[i] != '*' && combined[i] != '%') {
            p.text_ += combined[i++];
            continue;
        }
        bool star = false;
        for (; i < combined.size() && (combined[i] == '*' || combined[i] == '%'); ++i)
            star = star || combined[i] == '*';
        p.text_ += star ? '*' : '%';
    }
    p.states_ = p.text_.size() + 1;
    const std::size_t words = (p.states_ + 63) / 64;
    p.star_.assign(words, 0);
    p.percent_.assign(words, 0);
    for (std::size_t i = 0; i < p.text_.size(); ++i) {
        const auto c = static_cast<unsigned char>(p.text_[i]);
        Bits* mask = c == '*' ? &p.star_ : c == '%' ? &p.percent_ : &p.literal_[c];
        if (mask->empty()) mask->assign(words, 0);
        (*mask)[i / 64] |= std::uint64_t{1} << (i % 64);
    }
    return p;
}

void ListPattern::shift_in(const Bits& from, Bits& to) const {
    std::uint64_t carry = 0;
    for (std::size_t w = 0; w < from.size(); ++w) {
        const std::uint64_t v = from[w];
        to[w] |= (v << 1) | carry;
        carry = v >> 63;
    }
}

bool ListPattern::matches(std::string_view name) const {
    const std::size_t words = star_.size();
    Bits active(words, 0), next(words, 0), step(words, 0);
    // States after a wildcard are reached without consuming (runs are collapsed, so one step).
    auto close = [&](Bits& bits) {
        for (std::size_t w = 0; w < words; ++w) step[w] = bits[w] & (star_[w] | percent_[w]);
        shift_in(step, bits);
    };
    active[0] = 1;
    close(active);
    // RFC 9051 5.1: INBOX is case-insensitive; the store spells it "INBOX".
    const bool inbox = name.substr(0, 5) == "INBOX" && (name.size() == 5 || name[5] == kHierarchyDelimiter);
    for (std::size_t k = 0; k < name.size(); ++k) {
        const auto c = static_cast<unsigned char>(name[k]);
        std::fill(next.begin(), next.end(), 0);
        std::fill(step.begin(), step.end(), 0);
        auto advance = [&](unsigned char octet) {
            const Bits& lit = literal_[octet];
            if (lit.empty()) return;
            for (std::size_t w = 0; w < words; ++w) step[w] |= active[w] & lit[w];
        };
        advance(c);
        if (inbox && k < 5) advance(static_cast<unsigned char>(c - 'A' + 'a'));
        shift_in(step, next);
        bool any = false;
        for (std::size_t w = 0; w < words; ++w) {
            next[w] |= active[w] & star_[w];
            if (c != static_cast<unsigned char>(kHierarchyDelimiter)) next[w] |= active[w] & percent_[w];
        }
        close(next);
        for (std::size_t w = 0; w < words; ++w) any = any || next[w] != 0;
        if (!any) return false;
        active.swap(next);
    }
    const std::size_t last = states_ - 1;
    return (active[last / 64] >> (last % 64)) & 1;
}

}  // namespace hikyaku::imap
