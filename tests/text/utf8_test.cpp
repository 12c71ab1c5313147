// utf8_test.cpp: the UTF-8 codec (common/text/utf8): code points one at a time (every length,
// the boundaries of each length, and every invalid form advancing by exactly one octet), the
// validator against RFC 3629 4's table (each row's boundaries, overlong, surrogate and
// out-of-range forms, truncations, every code point, every two-byte string) and the sanitizer.
#include <doctest/doctest.h>

#include <string>

#include "common/text/utf8.h"

using namespace hikyaku::text;

TEST_CASE("valid code points round-trip at every length boundary") {
    for (char32_t c : {0x00u, 0x41u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFDu, 0xFFFFu, 0x10000u,
                       0x1F600u, 0x10FFFFu}) {
        CAPTURE(static_cast<unsigned>(c));
        std::string s;
        append_code_point(s, c);
        std::size_t i = 0;
        auto decoded = next_code_point(s, i);
        REQUIRE(decoded);
        CHECK(*decoded == c);
        CHECK(i == s.size());
    }
}

TEST_CASE("invalid sequences advance one octet") {
    for (std::string_view bad :
         {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80",
          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "\xc3\x41"}) {
        CAPTURE(bad);
        std::size_t i = 0;
        CHECK_FALSE(next_code_point(bad, i));
        CHECK(i == 1);
    }
}

namespace {
std::string encode(char32_t cp) {
    std::string s;
    append_code_point(s, cp);
    return s;
}
}  // namespace

TEST_CASE("RFC 3629 4: the first and last code point of every row are valid") {
    for (const char* s : {"", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xE0\xBF\xBF", "\xE1\x80\x80",
                          "\xEC\xBF\xBF", "\xED\x80\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
                          "\xF0\x90\x80\x80", "\xF0\xBF\xBF\xBF", "\xF1\x80\x80\x80", "\xF3\xBF\xBF\xBF",
                          "\xF4\x80\x80\x80", "\xF4\x8F\xBF\xBF", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"}) {
        CAPTURE(s);
        CHECK(is_valid_utf8(s));
    }
    CHECK(is_valid_utf8(std::string("a\0b", 3)));  // NUL is a code point; callers refuse it
}

TEST_CASE("RFC 3629 4: overlong forms, surrogates, beyond U+10FFFF, stray bytes are refused") {
    for (const char* s : {"\xC0\x80",
                          "\xC1\xBF",
                          "\xE0\x80\x80",
                          "\xE0\x9F\xBF",
                          "\xF0\x80\x80\x80",
                          "\xF0\x8F\xBF\xBF",  // overlong
                          "\xED\xA0\x80",
                          "\xED\xBF\xBF",  // surrogates
                          "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80",
                          "\xF7\xBF\xBF\xBF",  // > U+10FFFF
                          "\xF8\x88\x80\x80\x80",
                          "\xFE",
                          "\xFF",  // never valid
                          "\x80",
                          "\xBF",
                          "a\x80",
                          "\xC2\x80\x80",  // stray continuation
                          "\xC2",
                          "\xE0\xA0",
                          "\xF0\x90\x80",
                          "\xC2"
                          "a",
                          "\xE2\x82"
                          "a"}) {  // cut short
        CAPTURE(s);
        CHECK_FALSE(is_valid_utf8(s));
    }
}

TEST_CASE("append_code_point: RFC 3629 3 vectors") {
    CHECK(encode(0) == std::string(1, '\0'));
    CHECK(encode(0x41) == "A");
    CHECK(encode(0xE9) == "\xC3\xA9");
    CHECK(encode(0x20AC) == "\xE2\x82\xAC");
    CHECK(encode(0xFFFD) == kReplacementCharacter);
    CHECK(encode(0x1F600) == "\xF0\x9F\x98\x80");
    CHECK(encode(0x10FFFF) == "\xF4\x8F\xBF\xBF");
}

TEST_CASE("every code point but the surrogates: valid, of the length its range gives, and no prefix is") {
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        const std::string s = encode(cp);
        const std::size_t length = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (s.size() != length || !is_valid_utf8(s) || utf8_sequence_length(s, 0) != length)
            FAIL("code point ", static_cast<unsigned>(cp));
        for (std::size_t cut = 1; cut < s.size(); ++cut)
            if (is_valid_utf8(s.substr(0, cut))) FAIL("prefix of ", static_cast<unsigned>(cp));
    }
}

TEST_CASE("the surrogates' three-byte forms (ED A0 80 to ED BF BF) are all refused") {
    for (int second = 0xA0; second <= 0xBF; ++second)
        for (int third = 0x80; third <= 0xBF; ++third) {
            const std::string s{'\xED', static_cast<char>(second), static_cast<char>(third)};
            if (is_valid_utf8(s) || utf8_sequence_length(s, 0) != 0) FAIL(second, " ", third);
        }
}

TEST_CASE("every two-byte string: valid iff two ASCII bytes or one two-byte sequence") {
    for (int a = 0; a < 256; ++a)
        for (int b = 0; b < 256; ++b) {
            const std::string s{static_cast<char>(a), static_cast<char>(b)};
            const bool expected = (a < 0x80 && b < 0x80) || (a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF);
            if (is_valid_utf8(s) != expected) FAIL(a, " ", b);
        }
}

TEST_CASE("utf8_sanitize: each bad byte becomes U+FFFD, valid text is kept") {
    CHECK(utf8_sanitize("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(utf8_sanitize("a\xC0\x80"
                        "b") ==
          "a\xEF\xBF\xBD\xEF\xBF\xBD"
          "b");
    CHECK(utf8_sanitize("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(utf8_sanitize("x\xF0\x9F\x98") == "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // cut at the end
    CHECK(utf8_sanitize("") == "");
    for (int b = 0x80; b < 0x100; ++b) {
        const std::string once = utf8_sanitize(std::string(1, static_cast<char>(b)));
        CHECK(once == kReplacementCharacter);
        CHECK(is_valid_utf8(once));
    }
}
