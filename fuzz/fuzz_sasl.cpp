// fuzz_sasl.cpp: fuzzes the base64 codecs and the SASL PLAIN/LOGIN decoders. Must never crash,
// and checks:
//   - strict base64 accepts only canonical encodings: decode(x) ok implies encode(decode(x)) == x;
//   - encode then strict decode is the identity on any bytes, with and without wrapping
//     (wrapped text through the lenient decoder);
//   - a decoded PLAIN message re-assembles to the decoded bytes, fields within the RFC 4616
//     bounds and free of NUL;
//   - "*" is the only cancellation.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text/base64.h"
#include "common/text/sasl.h"

using namespace hikyaku;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    auto strict = text::base64_decode_strict(input);
    if (auto* decoded = std::get_if<std::string>(&strict)) require(text::base64_encode(*decoded) == input);
    (void)text::base64_decode_lenient(input);

    const std::string encoded = text::base64_encode(input);
    auto round = text::base64_decode_strict(encoded);
    require(std::holds_alternative<std::string>(round) && std::get<std::string>(round) == input);
    const std::string wrapped = text::base64_encode(input, text::kBase64MimeLineLength);
    require(text::base64_decode_lenient(wrapped) == input);

    auto plain = sasl::decode_plain_response(input);
    if (auto* creds = std::get_if<sasl::PlainCredentials>(&plain)) {
        auto bytes = sasl::decode_response(input);
        require(std::holds_alternative<std::string>(bytes));
        require(creds->authzid + '\0' + creds->authcid + '\0' + creds->password == std::get<std::string>(bytes));
        require(!creds->authcid.empty() && !creds->password.empty());
        for (const auto* f : {&creds->authzid, &creds->authcid, &creds->password}) {
            require(f->size() <= sasl::kMaxPlainField);
            require(f->find('\0') == std::string::npos);
        }
    } else {
        const auto e = std::get<sasl::SaslError>(plain);
        require((e == sasl::SaslError::cancelled) == (input == "*"));
    }
    // The raw bytes as a decoded PLAIN message, too (skips the base64 layer).
    (void)sasl::parse_plain_message(input);
    for (auto step : {sasl::LoginStep::username, sasl::LoginStep::password}) {
        auto login = sasl::decode_login_response(input, step);
        if (auto* value = std::get_if<std::string>(&login)) require(value->size() <= sasl::kMaxPlainField);
    }
    return 0;
}
