// fuzz_mime_cache.cpp: decode_cache on arbitrary blobs (the store reads them from disk).
// Must never: crash, or accept a blob whose tree points outside the message, or decode to a
// message that does not survive another round trip unchanged.
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
    for (const Part& c : p.children) check_part(c, p.body_offset, p.body_offset + p.body_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view blob(reinterpret_cast<const char*>(data), size);
    auto m = decode_cache(blob);
    if (!m.ok()) return 0;
    check_part(m->root, 0, m->size);
    (void)imap_bodystructure(*m);
    (void)imap_envelope(m->envelope);
    std::string again = encode_cache(*m);
    auto back = decode_cache(again);
    check(back.ok());
    check(*back == *m);
    return 0;
}
