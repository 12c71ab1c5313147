// fuzz_mime_rfc2047.cpp: RFC 2047 decoding and quoted-printable on arbitrary header text, and
// the shared UTF-8 and ASCII helpers they stand on (common/text/utf8.h, ascii.h).
// Must never: return invalid UTF-8 from rfc2047_decode, fail the QP round trip, or let the
// UTF-8 validator and the sanitizer disagree.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/text/ascii.h"
#include "common/text/qp.h"
#include "common/text/rfc2047.h"
#include "common/text/utf8.h"

using namespace hikyaku::text;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string decoded = rfc2047_decode(in);
    if (!is_valid_utf8(decoded)) std::abort();
    // The validator accepts exactly what the sanitizer leaves alone.
    const std::string sanitized = utf8_sanitize(in);
    if (!is_valid_utf8(sanitized) || is_valid_utf8(in) != (sanitized == in)) std::abort();
    if (!iequals(ascii_lowercase(in), in)) std::abort();
    (void)qp_decode(in);
    (void)q_decode(in);
    if (qp_decode(qp_encode(in)) != in) std::abort();
    return 0;
}
