// ascii_test.cpp: the shared ASCII helpers (common/text/ascii.h): the lower-caser and the
// case-insensitive comparison over every byte, the RFC 5322 3.2.3 atext table exactly, and
// hex digit values.
#include <doctest/doctest.h>

#include <string>

#include "common/text/ascii.h"

using namespace hikyaku::text;

TEST_CASE("ascii_lower changes A-Z only, every other byte stays") {
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        const char c = static_cast<char>(b);
        const char expected = (b >= 'A' && b <= 'Z') ? static_cast<char>(b + 32) : c;
        CHECK(ascii_lower(c) == expected);
    }
    CHECK(ascii_lowercase("MiXeD-Case.EXAMPLE") == "mixed-case.example");
    // UTF-8 passes through: "Ä" (C3 84) is not a letter to this function, nor is 0xC4.
    CHECK(ascii_lowercase("\xC3\x84Z\xC4") == "\xC3\x84z\xC4");
    CHECK(ascii_lowercase("") == "");
}

TEST_CASE("iequals: ASCII case-insensitive, exact for everything else") {
    CHECK(iequals("PLAIN", "plain"));
    CHECK(iequals("Content-Type", "content-TYPE"));
    CHECK(iequals("", ""));
    CHECK_FALSE(iequals("plain", "plai"));
    CHECK_FALSE(iequals("plain", "plaim"));
    // '@' (0x40) and '`' (0x60) differ by 0x20 as letters do, and must not match.
    CHECK_FALSE(iequals("@", "`"));
    CHECK_FALSE(iequals("[", "{"));
    // Non-ASCII bytes are compared as they are: no Latin-1 case folding.
    CHECK_FALSE(iequals("\xC4", "\xE4"));
    CHECK(iequals("\xC3\x84", "\xC3\x84"));
    CHECK(iequals(std::string("a\0B", 3), std::string("A\0b", 3)));
}

TEST_CASE("atext is exactly RFC 5322 3.2.3's set") {
    const std::string specials = "!#$%&'*+-/=?^_`{|}~";
    int count = 0;
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        const auto c = static_cast<unsigned char>(b);
        const bool expected = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                              (b != 0 && specials.find(static_cast<char>(b)) != std::string::npos);
        CHECK(is_atext(c) == expected);
        count += is_atext(c);
    }
    CHECK(count == 26 + 26 + 10 + 19);
    // RFC 5322 3.2.3 specials, space, controls, DEL and 8-bit bytes are not atext.
    for (char c : std::string("()<>[]:;@\\,.\" \t\r\n")) CHECK_FALSE(is_atext(static_cast<unsigned char>(c)));
    CHECK_FALSE(is_atext(0x7f));
    CHECK_FALSE(is_atext(0x80));
    CHECK_FALSE(is_atext(0xff));
    static_assert(is_atext('a') && !is_atext('.'), "usable in constant expressions");
}

TEST_CASE("character classes and hex digit values") {
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        const auto c = static_cast<unsigned char>(b);
        const bool alpha = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
        const bool digit = b >= '0' && b <= '9';
        CHECK(is_ascii_alpha(c) == alpha);
        CHECK(is_ascii_digit(c) == digit);
        CHECK(is_ascii_alnum(c) == (alpha || digit));
        const bool hex = digit || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
        CHECK(is_ascii_hex(c) == hex);
        CHECK((hex_digit_value(c) >= 0) == hex);
    }
    CHECK(hex_digit_value('0') == 0);
    CHECK(hex_digit_value('9') == 9);
    CHECK(hex_digit_value('a') == 10);
    CHECK(hex_digit_value('F') == 15);
    CHECK(hex_digit_value('g') == -1);
}
