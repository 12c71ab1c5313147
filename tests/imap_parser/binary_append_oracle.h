// binary_append_oracle.h: what encode_binary_parts (imapd/binary_append.h) must have done,
// checked from the outside: shared by its unit test and its fuzz target
// (fuzz/fuzz_imap_binary_append.cpp) so both hold it to the same rules. Test-only, pure.
//
// For an input `raw` and the function's answer:
//   - no answer and not unfixable: `raw` has no NUL and no leaf says "binary" (nothing to do);
//   - unfixable: no answer, and `raw` holds a NUL;
//   - an answer: it holds no NUL, parses to as many leaves as `raw`, and leaf by leaf it is
//     the same bytes (header and body) where the leaf needed no change, and otherwise a header
//     whose encoding the parser reads as base64, with every other field kept in order, and a body in base64 lines of at most 76
//     characters (RFC 2045 6.8) that decodes to the original body exactly; the bytes before
//     the first leaf and after the last are unchanged.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mime/header.h"
#include "common/mime/message.h"
#include "common/text/base64.h"

namespace hikyaku::test {

inline void binary_append_leaves(const mime::Part& part, std::vector<const mime::Part*>& out) {
    if (part.kind == mime::PartKind::leaf) {
        out.push_back(&part);
        return;
    }
    for (const auto& child : part.children) binary_append_leaves(child, out);
}

inline bool binary_append_needs(std::string_view raw, const mime::Part& leaf) {
    if (leaf.encoding && mime::iequals(*leaf.encoding, "binary")) return true;
    return raw.substr(leaf.body_offset, leaf.body_size).find('\0') != std::string_view::npos;
}

// The header's fields other than Content-Transfer-Encoding, as the MIME parser reads them.
inline std::vector<std::pair<std::string, std::string>> binary_append_other_fields(std::string_view raw,
                                                                                   const mime::Part& part) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto block = mime::parse_header_block(raw, part.header_offset, part.header_offset + part.header_size, {});
    for (const auto& field : block.fields)
        if (!mime::iequals(field.name, "Content-Transfer-Encoding")) out.emplace_back(field.name, field.value);
    return out;
}

// "" when the answer (`encoded`, or none) and `unfixable` are right for `raw`, else why not.
inline std::string binary_append_mismatch(std::string_view raw, const std::string* encoded, bool unfixable) {
    auto original = mime::parse_message(raw);
    if (!original) return "the input does not parse";
    std::vector<const mime::Part*> before;
    binary_append_leaves(original->root, before);
    bool any_needed = false;
    for (const auto* leaf : before) any_needed = any_needed || binary_append_needs(raw, *leaf);
    const bool has_nul = raw.find('\0') != std::string_view::npos;
    if (unfixable) {
        if (encoded) return "an answer and unfixable";
        return has_nul ? "" : "unfixable without a NUL";
    }
    if (!encoded) {
        if (has_nul) return "a NUL left as it was";
        return any_needed ? "a binary part left as it was" : "";
    }
    if (!any_needed) return "an answer where nothing needed a change";
    if (encoded->find('\0') != std::string::npos) return "a NUL in the answer";
    auto parsed = mime::parse_message(*encoded);
    if (!parsed) return "the answer does not parse";
    std::vector<const mime::Part*> after;
    binary_append_leaves(parsed->root, after);
    if (after.size() != before.size())
        return "leaves: " + std::to_string(before.size()) + " before, " + std::to_string(after.size()) + " after";
    auto header_of = [](std::string_view bytes, const mime::Part& p) {
        return bytes.substr(p.header_offset, p.header_size);
    };
    auto body_of = [](std::string_view bytes, const mime::Part& p) { return bytes.substr(p.body_offset, p.body_size); };
    const std::string_view out = *encoded;
    for (std::size_t i = 0; i < before.size(); ++i) {
        const mime::Part& b = *before[i];
        const mime::Part& a = *after[i];
        const std::string which = "leaf " + std::to_string(i + 1) + ": ";
        if (!binary_append_needs(raw, b)) {
            if (header_of(raw, b) != header_of(out, a) || body_of(raw, b) != body_of(out, a)) return which + "changed";
            continue;
        }
        if (!a.encoding || !mime::iequals(*a.encoding, "base64")) return which + "not declared base64";
        if (binary_append_other_fields(raw, b) != binary_append_other_fields(out, a))
            return which + "header fields changed";
        const std::string_view body = body_of(out, a);
        std::string joined;
        for (std::size_t pos = 0; pos < body.size();) {
            std::size_t end = body.find("\r\n", pos);
            if (end == std::string_view::npos) end = body.size();
            if (end - pos > 76) return which + "a base64 line over 76 characters";
            joined.append(body.substr(pos, end - pos));
            pos = end + 2;
        }
        auto decoded = text::base64_decode_strict(joined);
        if (!std::holds_alternative<std::string>(decoded)) return which + "invalid base64";
        if (std::get<std::string>(decoded) != body_of(raw, b)) return which + "decodes to other bytes";
    }
    if (raw.substr(0, before.front()->header_offset) != out.substr(0, after.front()->header_offset))
        return "the bytes before the first leaf changed";
    const std::size_t raw_tail = before.back()->body_offset + before.back()->body_size;
    const std::size_t out_tail = after.back()->body_offset + after.back()->body_size;
    if (raw.substr(raw_tail) != out.substr(out_tail)) return "the bytes after the last leaf changed";
    return "";
}

}  // namespace hikyaku::test
