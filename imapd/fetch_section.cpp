// fetch_section.cpp: see fetch_section.h. RFC 9051 6.4.5; RFC 3516 4.2; RFC 2045 6.
#include "imapd/fetch_section.h"

#include <algorithm>

#include "common/mime/header.h"
#include "common/text/base64.h"
#include "common/text/qp.h"

namespace hikyaku::imap {
namespace {

mime::SectionText mime_text(SectionText text) {
    switch (text) {
        case SectionText::none: return mime::SectionText::none;
        case SectionText::header:
        case SectionText::header_fields:
        case SectionText::header_fields_not: return mime::SectionText::header;
        case SectionText::text: return mime::SectionText::text;
        case SectionText::mime: return mime::SectionText::mime;
    }
    return mime::SectionText::none;
}

// The field name of a header line: up to ':' with trailing whitespace removed.
std::string_view field_name(std::string_view line) {
    std::string_view name = line.substr(0, line.find(':'));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    return name;
}

}  // namespace

std::optional<Section> fetched_section(const FetchItem& item) {
    Section s;
    switch (item.attribute) {
        case FetchAttribute::body_section:
        case FetchAttribute::binary:
        case FetchAttribute::binary_size: return item.section;
        case FetchAttribute::rfc822: return s;
        case FetchAttribute::rfc822_header: s.text = SectionText::header; return s;
        case FetchAttribute::rfc822_text: s.text = SectionText::text; return s;
        default: return std::nullopt;
    }
}

std::optional<mime::ByteRange> section_range(const mime::ParsedMessage& message, const Section& section) {
    return mime::section_range(message, section.part, mime_text(section.text));
}

std::string filter_header_fields(std::string_view header, std::span<const std::string> fields, bool exclude) {
    std::string out;
    bool keep = false;
    std::size_t pos = 0;
    while (pos < header.size()) {
        const std::size_t lf = header.find('\n', pos);
        const std::size_t end = lf == std::string_view::npos ? header.size() : lf + 1;
        const std::string_view line = header.substr(pos, end - pos);
        pos = end;
        if (line == "\r\n" || line == "\n") break;  // the blank line ends the header
        if (line[0] != ' ' && line[0] != '\t') {    // a new field (RFC 5322 2.2.3)
            const std::string_view name = field_name(line);
            bool listed = false;
            for (const std::string& f : fields) listed = listed || mime::iequals(f, name);
            keep = listed != exclude;
        }
        if (keep) {
            out += line;
            if (line.back() != '\n') out += "\r\n";  // a last field without a line end
        }
    }
    out += "\r\n";
    return out;
}

mime::ByteRange partial_range(std::uint64_t size, const std::optional<Partial>& partial) {
    if (!partial) return {0, static_cast<std::size_t>(size)};
    if (partial->offset >= size) return {static_cast<std::size_t>(size), 0};
    const std::uint64_t length = std::min(partial->length, size - partial->offset);
    return {static_cast<std::size_t>(partial->offset), static_cast<std::size_t>(length)};
}

std::string_view apply_partial(std::string_view data, const std::optional<Partial>& partial) {
    const mime::ByteRange r = partial_range(data.size(), partial);
    return data.substr(r.offset, r.size);
}

TransferEncoding classify_encoding(const std::optional<std::string>& encoding) {
    if (!encoding) return TransferEncoding::identity;
    std::string_view e = *encoding;
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.remove_prefix(1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
    if (mime::iequals(e, "7bit") || mime::iequals(e, "8bit") || mime::iequals(e, "binary") || e.empty())
        return TransferEncoding::identity;
    if (mime::iequals(e, "base64")) return TransferEncoding::base64;
    if (mime::iequals(e, "quoted-printable")) return TransferEncoding::quoted_printable;
    return TransferEncoding::unknown;
}

std::variant<BinarySection, BinaryError> binary_section(const mime::ParsedMessage& message, const Section& section) {
    if (section.part.empty()) return BinarySection{{0, message.size}, TransferEncoding::identity};
    const mime::Part* part = mime::find_part(message, section.part);
    if (part == nullptr) return BinaryError::no_such_part;
    const auto range = mime::section_range(message, section.part, mime::SectionText::none);
    if (!range) return BinaryError::no_such_part;
    if (part->kind != mime::PartKind::leaf) return BinarySection{*range, TransferEncoding::identity};
    const TransferEncoding encoding = classify_encoding(part->encoding);
    if (encoding == TransferEncoding::unknown) return BinaryError::unknown_cte;
    return BinarySection{*range, encoding};
}

std::variant<std::string, BinaryError> decode_binary(std::string_view content, TransferEncoding encoding) {
    switch (encoding) {
        case TransferEncoding::identity: return std::string(content);
        case TransferEncoding::base64: return text::base64_decode_lenient(content);
        case TransferEncoding::quoted_printable: return text::qp_decode(content);
        case TransferEncoding::unknown: return BinaryError::unknown_cte;
    }
    return BinaryError::unknown_cte;
}

std::variant<std::uint64_t, BinaryError> binary_size(std::string_view content, TransferEncoding encoding) {
    if (encoding == TransferEncoding::identity) return static_cast<std::uint64_t>(content.size());
    auto decoded = decode_binary(content, encoding);
    if (auto* e = std::get_if<BinaryError>(&decoded)) return *e;
    return static_cast<std::uint64_t>(std::get<std::string>(decoded).size());
}

}  // namespace hikyaku::imap
