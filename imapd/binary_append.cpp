// binary_append.cpp: re-encoding literal8 content in base64 (see binary_append.h).
#include "imapd/binary_append.h"

#include <algorithm>
#include <vector>

#include "common/mime/header.h"
#include "common/mime/message.h"
#include "common/text/base64.h"

namespace hikyaku::imap {

namespace {

struct Rewrite {
    std::size_t header_offset, header_size, body_offset, body_size;
};

bool needs_encoding(std::string_view raw, const mime::Part& part) {
    if (part.encoding && mime::iequals(*part.encoding, "binary")) return true;
    return raw.substr(part.body_offset, part.body_size).find('\0') != std::string_view::npos;
}

void collect(std::string_view raw, const mime::Part& part, std::vector<Rewrite>& out) {
    if (part.kind == mime::PartKind::leaf) {
        if (needs_encoding(raw, part))
            out.push_back({part.header_offset, part.header_size, part.body_offset, part.body_size});
        return;
    }
    for (const auto& child : part.children) collect(raw, child, out);
}

// The header block raw[offset, offset + size) saying base64: its first Content-Transfer-Encoding
// field (continuation lines included) replaced, any other removed, or, without one, a field
// added before the empty line that ends the block. The fields are the MIME parser's own
// (mime::parse_header_block), so a field it reads as the encoding ("Content-Transfer-Encoding
// : binary", a name without a colon) is the one replaced. A part re-encoded for a NUL in its
// body has that empty line (without it there is no body); one without it is re-encoded only
// for a field saying "binary", which is then replaced. Added first instead, the field would
// take over a first line that starts with white space as its own continuation.
std::string rewrite_header(std::string_view raw, std::size_t offset, std::size_t size) {
    static constexpr std::string_view kBase64Field = "Content-Transfer-Encoding: base64\r\n";
    const mime::HeaderBlock block = mime::parse_header_block(raw, offset, offset + size, mime::ParseLimits{});
    std::string out;
    bool replaced = false;
    std::size_t copied = offset;
    for (const mime::HeaderField& field : block.fields) {
        if (!mime::iequals(field.name, "Content-Transfer-Encoding")) continue;
        out.append(raw.substr(copied, field.offset - copied));
        if (!replaced) out += kBase64Field;
        replaced = true;
        copied = field.offset + field.size;
    }
    const std::size_t end = offset + size;
    std::size_t empty_line = end;  // where the empty line starts; `end` if the block has none
    if (end > copied && raw[end - 1] == '\n') {
        empty_line = end - 1;
        if (empty_line > copied && raw[empty_line - 1] == '\r') --empty_line;
        if (empty_line > copied && raw[empty_line - 1] != '\n') empty_line = end;  // a field's line end
    }
    out.append(raw.substr(copied, empty_line - copied));
    if (!replaced) out += kBase64Field;
    out.append(raw.substr(empty_line, end - empty_line));
    return out;
}

std::string base64_lines(std::string_view body) {
    const std::string encoded = text::base64_encode(body);
    std::string out;
    out.reserve(encoded.size() + encoded.size() / 76 * 2 + 2);
    for (std::size_t i = 0; i < encoded.size(); i += 76) {
        out.append(encoded, i, 76);
        out += "\r\n";
    }
    return out;
}

}  // namespace

std::optional<std::string> encode_binary_parts(std::string_view raw, bool& unfixable) {
    unfixable = false;
    auto parsed = mime::parse_message(raw);
    if (!parsed) return std::nullopt;
    std::vector<Rewrite> rewrites;
    collect(raw, parsed->root, rewrites);
    if (rewrites.empty()) {
        if (raw.find('\0') != std::string_view::npos) unfixable = true;  // a NUL in a header
        return std::nullopt;
    }
    std::sort(rewrites.begin(), rewrites.end(),
              [](const Rewrite& a, const Rewrite& b) { return a.header_offset < b.header_offset; });
    std::string out;
    std::size_t copied = 0;
    for (const Rewrite& r : rewrites) {
        out.append(raw.substr(copied, r.header_offset - copied));
        out += rewrite_header(raw, r.header_offset, r.header_size);
        // What lies between the header block and the body (nothing, normally) is kept.
        out.append(raw.substr(r.header_offset + r.header_size, r.body_offset - (r.header_offset + r.header_size)));
        out += base64_lines(raw.substr(r.body_offset, r.body_size));
        copied = r.body_offset + r.body_size;
    }
    out.append(raw.substr(copied));
    if (out.find('\0') != std::string::npos) {
        unfixable = true;
        return std::nullopt;
    }
    return out;
}

}  // namespace hikyaku::imap
