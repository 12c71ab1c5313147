// response_writer.cpp: see response_writer.h. RFC 9051 4.3, 7, 9; RFC 3516 4.3; RFC 4315 3;
// RFC 4731; RFC 5530; RFC 7162; RFC 9208.
#include "imapd/response_writer.h"

#include <array>
#include <charconv>

#include "common/mime/imap_structure.h"
#include "imapd/object_id.h"

namespace hikyaku::imap {
namespace {

struct CodeName {
    ResponseCodeKind kind;
    std::string_view name;
};

constexpr std::array<CodeName, 45> kCodes{{
    {ResponseCodeKind::alert, "ALERT"},
    {ResponseCodeKind::alreadyexists, "ALREADYEXISTS"},
    {ResponseCodeKind::appenduid, "APPENDUID"},
    {ResponseCodeKind::authenticationfailed, "AUTHENTICATIONFAILED"},
    {ResponseCodeKind::authorizationfailed, "AUTHORIZATIONFAILED"},
    {ResponseCodeKind::badcharset, "BADCHARSET"},
    {ResponseCodeKind::cannot, "CANNOT"},
    {ResponseCodeKind::capability, "CAPABILITY"},
    {ResponseCodeKind::clientbug, "CLIENTBUG"},
    {ResponseCodeKind::closed, "CLOSED"},
    {ResponseCodeKind::compressionactive, "COMPRESSIONACTIVE"},
    {ResponseCodeKind::contactadmin, "CONTACTADMIN"},
    {ResponseCodeKind::copyuid, "COPYUID"},
    {ResponseCodeKind::corruption, "CORRUPTION"},
    {ResponseCodeKind::expired, "EXPIRED"},
    {ResponseCodeKind::expungeissued, "EXPUNGEISSUED"},
    {ResponseCodeKind::haschildren, "HASCHILDREN"},
    {ResponseCodeKind::highestmodseq, "HIGHESTMODSEQ"},
    {ResponseCodeKind::inuse, "INUSE"},
    {ResponseCodeKind::limit, "LIMIT"},
    {ResponseCodeKind::modified, "MODIFIED"},
    {ResponseCodeKind::nomodseq, "NOMODSEQ"},
    {ResponseCodeKind::nonexistent, "NONEXISTENT"},
    {ResponseCodeKind::noperm, "NOPERM"},
    {ResponseCodeKind::overquota, "OVERQUOTA"},
    {ResponseCodeKind::parse, "PARSE"},
    {ResponseCodeKind::permanentflags, "PERMANENTFLAGS"},
    {ResponseCodeKind::privacyrequired, "PRIVACYREQUIRED"},
    {ResponseCodeKind::readonly, "READ-ONLY"},
    {ResponseCodeKind::readwrite, "READ-WRITE"},
    {ResponseCodeKind::serverbug, "SERVERBUG"},
    {ResponseCodeKind::toobig, "TOOBIG"},
    {ResponseCodeKind::trycreate, "TRYCREATE"},
    {ResponseCodeKind::uidnext, "UIDNEXT"},
    {ResponseCodeKind::uidnotsticky, "UIDNOTSTICKY"},
    {ResponseCodeKind::uidvalidity, "UIDVALIDITY"},
    {ResponseCodeKind::unavailable, "UNAVAILABLE"},
    {ResponseCodeKind::unknown_cte, "UNKNOWN-CTE"},
    {ResponseCodeKind::unseen, "UNSEEN"},
    {ResponseCodeKind::useattr, "USEATTR"},
    {ResponseCodeKind::mailboxid, "MAILBOXID"},
    {ResponseCodeKind::badevent, "BADEVENT"},
    {ResponseCodeKind::notificationoverflow, "NOTIFICATIONOVERFLOW"},
    {ResponseCodeKind::badurl, "BADURL"},
    {ResponseCodeKind::noupdate, "NOUPDATE"},
}};

std::string_view code_name(ResponseCodeKind kind) {
    for (const CodeName& c : kCodes)
        if (c.kind == kind) return c.name;
    return "ALERT";
}

std::string_view status_name(ResponseStatus status) {
    switch (status) {
        case ResponseStatus::ok: return "OK";
        case ResponseStatus::no: return "NO";
        case ResponseStatus::bad: return "BAD";
        case ResponseStatus::preauth: return "PREAUTH";
        case ResponseStatus::bye: return "BYE";
    }
    return "BAD";
}

std::string_view default_text(ResponseStatus status) {
    switch (status) {
        case ResponseStatus::ok: return "Completed";
        case ResponseStatus::no: return "Failed";
        case ResponseStatus::bad: return "Error in IMAP command";
        case ResponseStatus::preauth: return "Logged in";
        case ResponseStatus::bye: return "Logging out";
    }
    return "Completed";
}

// Human text: one line of 7-bit text (RFC 3501 9 text = 1*TEXT-CHAR).
void append_text(std::string& out, std::string_view text) {
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\r' || c == '\n' || c == '\0') out += ' ';
        else if (c >= 0x80) out += '?';
        else out += ch;
    }
}

void append_section(std::string& out, const Section& section) {
    for (std::size_t i = 0; i < section.part.size(); ++i) {
        if (i > 0) out += '.';
        append_number(out, section.part[i]);
    }
    if (section.text == SectionText::none) return;
    if (!section.part.empty()) out += '.';
    switch (section.text) {
        case SectionText::none: break;
        case SectionText::header: out += "HEADER"; break;
        case SectionText::header_fields: out += "HEADER.FIELDS"; break;
        case SectionText::header_fields_not: out += "HEADER.FIELDS.NOT"; break;
        case SectionText::text: out += "TEXT"; break;
        case SectionText::mime: out += "MIME"; break;
    }
    if (section.text == SectionText::header_fields || section.text == SectionText::header_fields_not) {
        out += " (";
        for (std::size_t i = 0; i < section.fields.size(); ++i) {
            if (i > 0) out += ' ';
            append_astring(out, ascii_upper(section.fields[i]));
        }
        out += ')';
    }
}

}  // namespace

// ---- strings ------------------------------------------------------------------------------

void append_astring(std::string& out, std::string_view s) {
    bool atom = !s.empty() && !iequals(s, "NIL");
    for (char c : s) atom = atom && is_astring_char(c);
    if (atom) out += s;
    else append_string(out, s);
}

void append_string(std::string& out, std::string_view s) { mime::append_imap_string(out, s); }

void append_nstring(std::string& out, const std::optional<std::string>& s) {
    if (!s) out += "NIL";
    else append_string(out, *s);
}

void append_literal_header(std::string& out, std::uint64_t size, bool binary) {
    if (binary) out += '~';
    out += '{';
    append_number(out, size);
    out += "}\r\n";
}

void append_literal(std::string& out, std::string_view data) {
    append_literal_header(out, data.size(), data.find('\0') != std::string_view::npos);
    out += data;
}

void append_mailbox(std::string& out, std::string_view wire_name) { append_astring(out, wire_name); }

// ---- flags, sets --------------------------------------------------------------------------

std::string format_flag_list(storage::Flags flags, std::span<const std::string> keywords, bool recent) {
    std::string out;
    append_flag_list(out, flags, keywords, recent);
    return out;
}

void append_flag_list(std::string& out, storage::Flags flags, std::span<const std::string> keywords, bool recent) {
    static constexpr std::pair<storage::Flags, std::string_view> kOrder[] = {
        {storage::flag_answered, "\\Answered"}, {storage::flag_flagged, "\\Flagged"},
        {storage::flag_deleted, "\\Deleted"},   {storage::flag_seen, "\\Seen"},
        {storage::flag_draft, "\\Draft"},
    };
    out += '(';
    bool first = true;
    auto add = [&](std::string_view flag) {
        if (!first) out += ' ';
        first = false;
        out += flag;
    };
    for (const auto& [bit, name] : kOrder)
        if (flags & bit) add(name);
    if (recent) add("\\Recent");
    for (const std::string& k : keywords) add(k);
    out += ')';
}

void append_number(std::string& out, std::uint64_t n) {
    char digits[20];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    (void)ec;  // 20 digits hold any 64-bit number
    out.append(digits, end);
}

std::string format_number_set(std::span<const std::uint32_t> numbers) {
    std::string out;
    std::size_t i = 0;
    while (i < numbers.size()) {
        std::size_t j = i;
        while (j + 1 < numbers.size() && numbers[j] != 0xFFFFFFFFu && numbers[j + 1] == numbers[j] + 1) ++j;
        if (!out.empty()) out += ',';
        append_number(out, numbers[i]);
        if (j > i) {
            out += ':';
            append_number(out, numbers[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string format_intervals(std::span<const Interval> intervals) {
    std::string out;
    for (const Interval& iv : intervals) {
        if (!out.empty()) out += ',';
        append_number(out, iv.first);
        if (iv.last != iv.first) {
            out += ':';
            append_number(out, iv.last);
        }
    }
    return out;
}

// ---- response codes -----------------------------------------------------------------------

ResponseCode ResponseCode::simple(ResponseCodeKind kind) {
    ResponseCode c;
    c.kind = kind;
    return c;
}

ResponseCode ResponseCode::with_number(ResponseCodeKind kind, std::uint64_t number) {
    ResponseCode c = simple(kind);
    c.number = number;
    return c;
}

ResponseCode ResponseCode::appenduid(std::uint32_t uidvalidity, std::span<const std::uint32_t> uids) {
    ResponseCode c = with_number(ResponseCodeKind::appenduid, uidvalidity);
    c.set = format_number_set(uids);
    return c;
}

ResponseCode ResponseCode::copyuid(std::uint32_t uidvalidity, std::span<const std::uint32_t> source,
                                   std::span<const std::uint32_t> destination) {
    ResponseCode c = with_number(ResponseCodeKind::copyuid, uidvalidity);
    c.set = format_number_set(source);
    c.set2 = format_number_set(destination);
    return c;
}

ResponseCode ResponseCode::modified(std::span<const std::uint32_t> numbers) {
    ResponseCode c = simple(ResponseCodeKind::modified);
    c.set = format_number_set(numbers);
    return c;
}

ResponseCode ResponseCode::permanentflags(storage::Flags flags, std::span<const std::string> keywords,
                                          bool new_keywords) {
    ResponseCode c = simple(ResponseCodeKind::permanentflags);
    std::string list = format_flag_list(flags, keywords);
    if (new_keywords) list.insert(list.size() - 1, list.size() > 2 ? " \\*" : "\\*");
    c.set = std::move(list);
    return c;
}

ResponseCode ResponseCode::capability(std::vector<std::string> capabilities) {
    ResponseCode c = simple(ResponseCodeKind::capability);
    c.atoms = std::move(capabilities);
    return c;
}

ResponseCode ResponseCode::badcharset(std::vector<std::string> charsets) {
    ResponseCode c = simple(ResponseCodeKind::badcharset);
    c.atoms = std::move(charsets);
    return c;
}

ResponseCode ResponseCode::badurl(std::string url_text) {
    ResponseCode c = simple(ResponseCodeKind::badurl);
    c.set = std::move(url_text);
    return c;
}

ResponseCode ResponseCode::mailboxid(std::string object_id) {
    ResponseCode c = simple(ResponseCodeKind::mailboxid);
    c.set = std::move(object_id);
    return c;
}

ResponseCode ResponseCode::badevent(std::vector<std::string> events) {
    ResponseCode c = simple(ResponseCodeKind::badevent);
    c.atoms = std::move(events);
    return c;
}

ResponseCode ResponseCode::noupdate(std::string_view tag) {
    ResponseCode c = simple(ResponseCodeKind::noupdate);
    append_string(c.set, tag);
    return c;
}

std::string format_response_code(const ResponseCode& code) {
    std::string out = "[";
    out += code_name(code.kind);
    switch (code.kind) {
        case ResponseCodeKind::appenduid:
        case ResponseCodeKind::copyuid:
            out += ' ';
            append_number(out, code.number);
            out += ' ';
            out += code.set;
            if (code.kind == ResponseCodeKind::copyuid) {
                out += ' ';
                out += code.set2;
            }
            break;
        case ResponseCodeKind::highestmodseq:
        case ResponseCodeKind::uidnext:
        case ResponseCodeKind::uidvalidity:
        case ResponseCodeKind::unseen:
            out += ' ';
            append_number(out, code.number);
            break;
        case ResponseCodeKind::modified:
        case ResponseCodeKind::permanentflags:
        case ResponseCodeKind::badurl:
        case ResponseCodeKind::noupdate:
            out += ' ';
            out += code.set;
            break;
        case ResponseCodeKind::mailboxid: out += " (" + code.set + ")"; break;
        case ResponseCodeKind::capability:
            for (const std::string& a : code.atoms) {
                out += ' ';
                out += a;
            }
            break;
        case ResponseCodeKind::badcharset:
            if (!code.atoms.empty()) {
                out += " (";
                for (std::size_t i = 0; i < code.atoms.size(); ++i) {
                    if (i > 0) out += ' ';
                    append_astring(out, code.atoms[i]);
                }
                out += ')';
            }
            break;
        case ResponseCodeKind::badevent:  // unsupported-events-code = "BADEVENT" SP "(" event-name ... ")"
            out += " (";
            for (std::size_t i = 0; i < code.atoms.size(); ++i) {
                if (i > 0) out += ' ';
                out += code.atoms[i];
            }
            out += ')';
            break;
        default: break;
    }
    out += ']';
    return out;
}

// ---- status and continuation responses ------------------------------------------------------

std::string status_response(std::string_view tag, ResponseStatus status, const std::optional<ResponseCode>& code,
                            std::string_view text) {
    std::string out = tag.empty() ? std::string("*") : std::string(tag);
    out += ' ';
    out += status_name(status);
    if (code) {
        out += ' ';
        out += format_response_code(*code);
    }
    out += ' ';
    append_text(out, text.empty() ? default_text(status) : text);
    out += "\r\n";
    return out;
}

std::string untagged_status(ResponseStatus status, const std::optional<ResponseCode>& code, std::string_view text) {
    return status_response({}, status, code, text);
}

std::string continuation(std::string_view text) {
    std::string out = "+ ";
    append_text(out, text);
    out += "\r\n";
    return out;
}

// ---- data responses -----------------------------------------------------------------------

std::string fetch_item_name(const FetchItem& item) {
    std::string out;
    switch (item.attribute) {
        case FetchAttribute::envelope: return "ENVELOPE";
        case FetchAttribute::flags: return "FLAGS";
        case FetchAttribute::internal_date: return "INTERNALDATE";
        case FetchAttribute::rfc822_size: return "RFC822.SIZE";
        case FetchAttribute::body_structure: return "BODYSTRUCTURE";
        case FetchAttribute::body: return "BODY";
        case FetchAttribute::uid: return "UID";
        case FetchAttribute::modseq: return "MODSEQ";
        case FetchAttribute::rfc822: return "RFC822";
        case FetchAttribute::rfc822_header: return "RFC822.HEADER";
        case FetchAttribute::rfc822_text: return "RFC822.TEXT";
        case FetchAttribute::emailid: return "EMAILID";
        case FetchAttribute::threadid: return "THREADID";
        case FetchAttribute::savedate: return "SAVEDATE";
        case FetchAttribute::preview: return "PREVIEW";
        case FetchAttribute::body_section: out = "BODY["; break;
        case FetchAttribute::binary: out = "BINARY["; break;
        case FetchAttribute::binary_size: out = "BINARY.SIZE["; break;
    }
    append_section(out, item.section);
    out += ']';
    if (item.partial) {
        out += '<';
        append_number(out, item.partial->offset);
        out += '>';
    }
    return out;
}

std::string list_response(bool lsub, std::span<const std::string> attributes, char delimiter,
                          std::string_view wire_name, std::string_view extended) {
    std::string out = lsub ? "* LSUB (" : "* LIST (";
    for (std::size_t i = 0; i < attributes.size(); ++i) {
        if (i > 0) out += ' ';
        out += attributes[i];
    }
    out += ") ";
    if (delimiter == '\0') {
        out += "NIL";
    } else {
        out += '"';
        if (delimiter == '"' || delimiter == '\\') out += '\\';
        out += delimiter;
        out += '"';
    }
    out += ' ';
    append_mailbox(out, wire_name);
    if (!extended.empty()) {
        out += ' ';
        out += extended;
    }
    out += "\r\n";
    return out;
}

std::string status_data_response(std::string_view wire_name,
                                 std::span<const std::pair<StatusItem, std::uint64_t>> items) {
    std::string out = "* STATUS ";
    append_mailbox(out, wire_name);
    out += " (";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ' ';
        out += status_item_name(items[i].first);
        out += ' ';
        if (items[i].first == StatusItem::mailboxid) {
            out += '(';
            out += mailbox_object_id(static_cast<std::uint32_t>(items[i].second));
            out += ')';
        } else {
            append_number(out, items[i].second);
        }
    }
    out += ")\r\n";
    return out;
}

std::string esearch_response(std::string_view tag, bool uid, const EsearchResult& result) {
    std::string out = "* ESEARCH";
    if (!tag.empty()) {
        out += " (TAG ";
        append_string(out, tag);
        out += ')';
    }
    if (uid) out += " UID";
    if (result.min) {
        out += " MIN ";
        append_number(out, *result.min);
    }
    if (result.max) {
        out += " MAX ";
        append_number(out, *result.max);
    }
    if (result.count) {
        out += " COUNT ";
        append_number(out, *result.count);
    }
    if (result.all && !result.all->empty()) {
        out += " ALL ";
        out += *result.all;
    }
    if (result.partial_range) {
        out += " PARTIAL (";
        out += *result.partial_range;
        out += ' ';
        out += result.partial_set.empty() ? "NIL" : result.partial_set;
        out += ')';
    }
    if (result.highest_modseq) {
        out += " MODSEQ ";
        append_number(out, *result.highest_modseq);
    }
    for (const ContextChange& change : result.changes) {
        out += change.add ? " ADDTO (" : " REMOVEFROM (";
        append_number(out, change.position);
        out += ' ';
        out += change.set;
        out += ')';
    }
    out += "\r\n";
    return out;
}

std::string search_response(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> highest_modseq) {
    std::string out = "* SEARCH";
    for (std::uint32_t n : numbers) {
        out += ' ';
        append_number(out, n);
    }
    if (highest_modseq && !numbers.empty()) {
        out += " (MODSEQ ";
        append_number(out, *highest_modseq);
        out += ')';
    }
    out += "\r\n";
    return out;
}

}  // namespace hikyaku::imap
