// fuzz_mime_rfc2047.cpp: RFC 2047 decoding and quoted-printable on arbitrary header text.
// Must never: return invalid UTF-8 from rfc2047_decode, or fail the QP round trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/text/charset.h"
#include "common/text/qp.h"
#include "common/text/rfc2047.h"

using namespace hikyaku::text;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string decoded = rfc2047_decode(in);
    if (utf8_sanitize(decoded) != decoded) std::abort();  // must already be valid UTF-8
    (void)qp_decode(in);
    (void)q_decode(in);
    if (qp_decode(qp_encode(in)) != in) std::abort();
    return 0;
}
