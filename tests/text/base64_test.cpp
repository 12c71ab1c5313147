// base64_test.cpp: RFC 4648 10 test vectors, line wrapping (RFC 2045 6.8), the strict decoder's
// refusals (SASL) and the lenient decoder's tolerance (MIME).
#include <doctest/doctest.h>

#include <string>

#include "common/text/base64.h"

using namespace hikyaku::text;

namespace {
std::string strict_ok(std::string_view in) {
    auto r = base64_decode_strict(in);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}
Base64Error strict_err(std::string_view in) {
    auto r = base64_decode_strict(in);
    REQUIRE(std::holds_alternative<Base64Error>(r));
    return std::get<Base64Error>(r);
}
}  // namespace

TEST_CASE("RFC 4648 section 10 vectors round-trip") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, encoded] : vectors) {
        CAPTURE(plain);
        CHECK(base64_encode(plain) == encoded);
        CHECK(strict_ok(encoded) == plain);
        CHECK(base64_decode_lenient(encoded) == plain);
    }
}

TEST_CASE("binary bytes including NUL and 0xFF round-trip") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    const auto enc = base64_encode(all);
    CHECK(enc.find('\r') == std::string::npos);
    CHECK(strict_ok(enc) == all);
    CHECK(base64_encode(std::string("\0\0\0", 3)) == "AAAA");
    CHECK(base64_encode("\xff\xff\xff") == "////");
    CHECK(base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("wrapping at 76 columns with CRLF, none after the last line") {
    const std::string in(57 * 2, 'x');  // 57 octets encode to exactly 76 characters
    const auto enc = base64_encode(in, kBase64MimeLineLength);
    REQUIRE(enc.size() == 76 + 2 + 76);
    CHECK(enc.substr(76, 2) == "\r\n");
    CHECK(enc.find("\r\n", 78) == std::string::npos);
    CHECK(base64_decode_lenient(enc) == in);
    // One octet more starts a third line with 4 characters.
    const auto enc2 = base64_encode(in + "y", kBase64MimeLineLength);
    CHECK(enc2.size() == 76 + 2 + 76 + 2 + 4);
    CHECK(base64_decode_lenient(enc2) == in + "y");
    // Exactly one line: no CRLF at all.
    CHECK(base64_encode(std::string(57, 'x'), 76).find('\r') == std::string::npos);
}

TEST_CASE("strict decoder refuses bad characters, length and padding") {
    CHECK(strict_err("Zm9v!") == Base64Error::bad_character);
    CHECK(strict_err("Zm9*") == Base64Error::bad_character);
    CHECK(strict_err("Zm 9") == Base64Error::bad_character);
    CHECK(strict_err("Zm9v\r\n") == Base64Error::bad_character);
    CHECK(strict_err(std::string("Zm\0v", 4)) == Base64Error::bad_character);
    CHECK(strict_err("Zm9") == Base64Error::bad_length);
    CHECK(strict_err("Zm9vY") == Base64Error::bad_length);
    CHECK(strict_err("Zg=") == Base64Error::bad_length);
    CHECK(strict_err("Z===") == Base64Error::bad_padding);
    CHECK(strict_err("====") == Base64Error::bad_padding);
    CHECK(strict_err("Zg=a") == Base64Error::bad_padding);
    CHECK(strict_err("Zg==Zm9v") == Base64Error::bad_padding);  // padding before the end
    CHECK(strict_err("Zh==") == Base64Error::bad_padding);      // non-zero pad bits (RFC 4648 3.5)
    CHECK(strict_err("Zm9=") == Base64Error::bad_padding);
    CHECK(strict_ok("Zm8=") == "fo");
}

TEST_CASE("lenient decoder skips noise and stops at padding") {
    CHECK(base64_decode_lenient("Zm9v\r\nYmFy") == "foobar");
    CHECK(base64_decode_lenient(" Zm 9v !Ym#Fy ") == "foobar");
    CHECK(base64_decode_lenient("Zg==garbage") == "f");
    CHECK(base64_decode_lenient("Zm9vYg") == "foob");  // missing padding
    CHECK(base64_decode_lenient("Zm9vYmE") == "fooba");
    CHECK(base64_decode_lenient("Zm9vY") == "foo");  // a lone sixth symbol yields nothing
    CHECK(base64_decode_lenient("") == "");
}
