// fuzz_imap_binary_append.cpp: fuzzes APPEND's literal8 conversion (imapd/binary_append.h,
// RFC 3516 4.4) over arbitrary message bytes. Must never crash, and checks with the oracle its
// unit test uses (tests/imap_parser/binary_append_oracle.h): no NUL survives, unfixable only
// for a NUL outside every leaf body, leaves that needed no change are byte for byte the same,
// re-encoded leaves decode to their original body, in base64 lines of at most 76 characters.
// Input: the message as the client's literal8 would bring it.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "imapd/binary_append.h"
#include "tests/imap_parser/binary_append_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    bool unfixable = false;
    const auto encoded = hikyaku::imap::encode_binary_parts(raw, unfixable);
    if (!hikyaku::test::binary_append_mismatch(raw, encoded ? &*encoded : nullptr, unfixable).empty()) std::abort();
    return 0;
}
