// fuzz_mime.cpp: parse_message on arbitrary bytes, then everything readers do with the
// result: ENVELOPE/BODY/BODYSTRUCTURE text, section lookup, and the cache round trip.
// Must never: accept a tree with a range outside the input, or a cache round trip that
// changes the message. Small limits are used too, so the degrade paths get exercised.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/mime/imap_structure.h"
#include "common/mime/message.h"

using namespace hikyaku::mime;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_part(const Part& p, std::size_t begin, std::size_t end) {
    check(p.header_offset >= begin);
    check(p.header_offset + p.header_size == p.body_offset);
    check(p.body_offset + p.body_size <= end);
    check(p.body_lines <= p.body_size);
    check(p.kind != PartKind::leaf || p.children.empty());
    check(p.kind != PartKind::message || (p.children.size() == 1 && p.envelope));
    for (const Part& c : p.children) check_part(c, p.body_offset, p.body_offset + p.body_size);
}

void exercise(std::string_view raw, const ParseLimits& limits) {
    auto parsed = parse_message(raw, limits);
    check(parsed.ok());
    const ParsedMessage& m = *parsed;
    check(m.size == raw.size());
    check_part(m.root, 0, raw.size());
    std::string body = imap_body(m);
    std::string structure = imap_bodystructure(m);
    std::string envelope = imap_envelope(m.envelope);
    check(!body.empty() && body.front() == '(' && body.back() == ')');
    check(structure.size() >= body.size());
    check(envelope.front() == '(' && envelope.back() == ')');
    for (std::uint32_t a = 1; a <= 3; ++a)
        for (std::uint32_t b = 1; b <= 3; ++b) {
            const Part* p = find_part(m, {a, b});
            if (p != nullptr) check(p->body_offset + p->body_size <= raw.size());
        }
    auto back = decode_cache(encode_cache(m));
    check(back.ok());
    check(*back == m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    exercise(raw, ParseLimits{});
    ParseLimits small;
    small.max_header_field_size = 64;
    small.max_header_block_size = 256;
    small.max_header_fields = 8;
    small.max_depth = 3;
    small.max_parts = 6;
    small.max_boundary_length = 8;
    small.max_params = 2;
    small.max_addresses = 3;
    exercise(raw, small);
    return 0;
}
