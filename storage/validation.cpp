// validation.cpp: pure checks of the names the store accepts (domains, addresses, mailbox
// names, keywords) and their canonical forms.
//
// Must never: accept a name the store could not give back byte for byte (control
// characters, NUL, invalid UTF-8), a mailbox path that escapes or aliases another ("..",
// ".", empty segments), or anything past the named length caps in store.h.
// References: RFC 5321 4.1.2 and 4.5.3.1 (addresses), RFC 5322 3.2.3 (dot-atom),
// RFC 9051 5.1 (mailbox naming) and 4 (atom), RFC 1035 2.3.1 (labels).
#include "common/text/ascii.h"
#include "common/text/utf8.h"
#include "storage/store.h"

namespace hikyaku::storage {

namespace {

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

std::string quoted(std::string_view s) {
    // For error messages: printable ASCII as is, everything else as \xNN, capped.
    std::string out = "\"";
    static const char* hex = "0123456789abcdef";
    for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (s.size() > 80) out += "...";
    out += '"';
    return out;
}

}  // namespace

std::string_view special_use_attribute(SpecialUse use) {
    switch (use) {
        case SpecialUse::none: return "";
        case SpecialUse::sent: return "\\Sent";
        case SpecialUse::drafts: return "\\Drafts";
        case SpecialUse::trash: return "\\Trash";
        case SpecialUse::junk: return "\\Junk";
        case SpecialUse::archive: return "\\Archive";
    }
    return "";
}

Status validate_domain(std::string_view domain) {
    if (domain.empty()) return invalid("empty domain");
    if (domain.size() > kMaxDomainLength)
        return invalid("domain longer than " + std::to_string(kMaxDomainLength) + " bytes");
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= domain.size(); ++i) {
        if (i == domain.size() || domain[i] == '.') {
            std::string_view label = domain.substr(label_start, i - label_start);
            if (label.empty()) return invalid("domain " + quoted(domain) + " has an empty label");
            if (label.size() > 63) return invalid("domain " + quoted(domain) + " has a label over 63 bytes");
            if (label.front() == '-' || label.back() == '-')
                return invalid("domain " + quoted(domain) + " has a label starting or ending with '-'");
            label_start = i + 1;
            continue;
        }
        char c = domain[i];
        if (!text::is_ascii_alnum(static_cast<unsigned char>(c)) && c != '-')
            return invalid("domain " + quoted(domain) +
                           " contains a character other than letters, digits, '-' and '.'");
    }
    return {};
}

Status validate_address(std::string_view address) {
    if (address.empty()) return invalid("empty address");
    if (address.size() > kMaxAddressLength)
        return invalid("address longer than " + std::to_string(kMaxAddressLength) + " bytes");
    auto at = address.rfind('@');
    if (at == std::string_view::npos) return invalid("address " + quoted(address) + " has no '@'");
    std::string_view local = address.substr(0, at);
    std::string_view domain = address.substr(at + 1);
    if (local.empty()) return invalid("address " + quoted(address) + " has an empty local part");
    if (local.size() > kMaxLocalPartLength)
        return invalid("local part of " + quoted(address) + " is longer than " + std::to_string(kMaxLocalPartLength) +
                       " bytes");
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
        return invalid("local part of " + quoted(address) + " has a misplaced '.'");
    for (char c : local) {
        if (c != '.' && !text::is_atext(static_cast<unsigned char>(c)))
            return invalid("local part of " + quoted(address) + " contains a character not allowed in a dot-atom");
    }
    if (auto s = validate_domain(domain); !s) return s;
    return {};
}

std::string normalize_address(std::string_view address) { return text::ascii_lowercase(address); }

Status validate_mailbox_name(std::string_view name) {
    if (name.empty()) return invalid("empty mailbox name");
    if (name.size() > kMaxMailboxNameLength)
        return invalid("mailbox name longer than " + std::to_string(kMaxMailboxNameLength) + " bytes");
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return invalid("mailbox name " + quoted(name) + " contains a control character");
        if (c == '*' || c == '%')
            return invalid("mailbox name " + quoted(name) + " contains a LIST wildcard ('*' or '%')");
    }
    if (!text::is_valid_utf8(name)) return invalid("mailbox name " + quoted(name) + " is not valid UTF-8");
    std::size_t depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != kMailboxDelimiter) continue;
        std::string_view segment = name.substr(start, i - start);
        if (segment.empty()) return invalid("mailbox name " + quoted(name) + " has an empty segment");
        if (segment == "." || segment == "..")
            return invalid("mailbox name " + quoted(name) + " has a '.' or '..' segment");
        if (segment.size() > kMaxMailboxSegmentLength)
            return invalid("mailbox name " + quoted(name) + " has a segment longer than " +
                           std::to_string(kMaxMailboxSegmentLength) + " bytes");
        if (++depth > kMaxMailboxDepth)
            return invalid("mailbox name " + quoted(name) + " is nested deeper than " +
                           std::to_string(kMaxMailboxDepth) + " levels");
        start = i + 1;
    }
    return {};
}

std::string normalize_mailbox_name(std::string_view name) {
    std::string out(name);
    std::size_t first_end = out.find(kMailboxDelimiter);
    std::size_t n = first_end == std::string::npos ? out.size() : first_end;
    if (n == 5 && text::iequals(std::string_view(out).substr(0, 5), "INBOX")) out.replace(0, 5, "INBOX");
    return out;
}

Status validate_keyword(std::string_view keyword) {
    if (keyword.empty()) return invalid("empty keyword");
    if (keyword.size() > kMaxKeywordLength)
        return invalid("keyword longer than " + std::to_string(kMaxKeywordLength) + " bytes");
    if (keyword.front() == '\\')
        return invalid("keyword " + quoted(keyword) + " starts with '\\' (system flags are not keywords)");
    for (char ch : keyword) {
        auto c = static_cast<unsigned char>(ch);
        // atom-specials: ( ) { SP CTL % * " \ ]
        if (c <= 0x20 || c >= 0x7F || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
            c == '\\' || c == ']')
            return invalid("keyword " + quoted(keyword) + " contains a character not allowed in an IMAP atom");
    }
    return {};
}

}  // namespace hikyaku::storage
