// mime_text_test.cpp: header text codecs used by the MIME code: RFC 2047 encoded words
// (common/text/rfc2047), quoted-printable (common/text/qp), charset conversion
// (common/text/charset), RFC 5322 address lists (common/mime/address), header helpers.
// Must never: rely on a charset iconv lacks beyond those the brief requires.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "common/mime/address.h"
#include "common/mime/header.h"
#include "common/text/charset.h"
#include "common/text/qp.h"
#include "common/text/rfc2047.h"

using namespace hikyaku;
using namespace hikyaku::mime;
using namespace hikyaku::text;

TEST_CASE("rfc2047: B and Q words, charsets") {
    CHECK(rfc2047_decode("=?UTF-8?B?5Lya6K2w?=") == "\xE4\xBC\x9A\xE8\xAD\xB0");
    CHECK(rfc2047_decode("=?iso-8859-1?q?caf=E9_au_lait?=") == "caf\xC3\xA9 au lait");
    CHECK(rfc2047_decode("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=") == "\xE5\xB1\xB1\xE7\x94\xB0");
    CHECK(rfc2047_decode("=?windows-1252?Q?=80?=") == "\xE2\x82\xAC");
    CHECK(rfc2047_decode("=?ISO-8859-15?Q?=A4?=") == "\xE2\x82\xAC");
    CHECK(rfc2047_decode("=?windows-1251?B?7/Dl4uXy?=") == "\xD0\xBF\xD1\x80\xD0\xB5\xD0\xB2\xD0\xB5\xD1\x82");
    CHECK(rfc2047_decode("=?utf-8*en?Q?hi?=") == "hi");  // RFC 2231 5 language suffix
}

TEST_CASE("rfc2047: whitespace between adjacent encoded words (RFC 2047 6.2, section 8)") {
    // The examples of RFC 2047 section 8.
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?=)") == "(a)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?= b)") == "(a b)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a_b?=)") == "(a b)");
    CHECK(rfc2047_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)") == "(a b)");
    // Whitespace between an encoded word and plain text stays.
    CHECK(rfc2047_decode("x =?UTF-8?Q?y?= z") == "x y z");
    CHECK(rfc2047_decode("=?UTF-8?B?5Lya6K2w?= =?UTF-8?Q?_=E3=81=AE?= plain") ==
          "\xE4\xBC\x9A\xE8\xAD\xB0 \xE3\x81\xAE plain");
}

TEST_CASE("rfc2047: a character split between two words of one charset joins up") {
    // U+4F1A (E4 BC 9A) as "5Lw=" (E4 BC) and "mg==" (9A).
    CHECK(rfc2047_decode("=?UTF-8?B?5Lw=?= =?UTF-8?B?mg==?=") == "\xE4\xBC\x9A");
}

TEST_CASE("rfc2047: malformed words stay text, bad bytes become U+FFFD") {
    CHECK(rfc2047_decode("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=");
    CHECK(rfc2047_decode("=?utf-8?Q?unterminated") == "=?utf-8?Q?unterminated");
    CHECK(rfc2047_decode("=?utf 8?Q?a?=") == "=?utf 8?Q?a?=");
    CHECK(rfc2047_decode("=??Q?a?=") == "=??Q?a?=");
    CHECK(rfc2047_decode("=?x-no-such-charset?Q?a=FF?=") == "a\xEF\xBF\xBD");
    CHECK(rfc2047_decode("raw \xFF") == "raw \xEF\xBF\xBD");
    CHECK(rfc2047_decode("raw \xE4\xBC\x9A ok") == "raw \xE4\xBC\x9A ok");
    CHECK(rfc2047_decode("=?utf-8?B?/w==?=") == "\xEF\xBF\xBD");
}

TEST_CASE("qp: decoding (RFC 2045 6.7)") {
    CHECK(qp_decode("=E3=81=93 soft=\r\nbreak") == "\xE3\x81\x93 softbreak");
    CHECK(qp_decode("lower =e9") == "lower \xE9");
    CHECK(qp_decode("trailing   \r\nnext") == "trailing\r\nnext");
    CHECK(qp_decode("soft with space=  \r\nx") == "soft with spacex");
    CHECK(qp_decode("bad =ZZ and =4") == "bad =ZZ and =4");
    CHECK(qp_decode("end=") == "end");
    CHECK(qp_decode("lf only=\nx\n") == "lf onlyx\n");
    CHECK(qp_decode("") == "");
}

TEST_CASE("qp: encoding keeps lines short and round-trips any bytes") {
    CHECK(qp_encode("a=b \xE9") == "a=3Db =E9");
    CHECK(qp_encode("end \r\nx\t") == "end=20\r\nx=09");
    std::string long_line(200, 'x');
    std::string enc = qp_encode(long_line);
    std::size_t start = 0;
    while (start < enc.size()) {
        std::size_t nl = enc.find("\r\n", start);
        std::size_t len = (nl == std::string::npos ? enc.size() : nl) - start;
        CHECK(len <= kQpMaxLineLength);
        if (nl == std::string::npos) break;
        start = nl + 2;
    }
    CHECK(qp_decode(enc) == long_line);
    std::uint32_t seed = 12345;
    for (int round = 0; round < 200; ++round) {
        std::string data;
        for (int i = 0; i < 300; ++i) {
            seed = seed * 1103515245u + 12345u;
            std::uint8_t b = static_cast<std::uint8_t>(seed >> 16);
            const char pick[] = {'\r', '\n', ' ', '\t', '=', 'a'};
            data += (b & 1) ? pick[(b >> 1) % 6] : static_cast<char>(b);
        }
        std::string e = qp_encode(data);
        for (char c : e) CHECK(static_cast<unsigned char>(c) < 0x80);
        REQUIRE(qp_decode(e) == data);
    }
}

TEST_CASE("qp: RFC 2047 Q") {
    CHECK(q_decode("a_b=20c=3f") == "a b c?");
    CHECK(q_decode("=") == "=");
    CHECK(q_decode("=4") == "=4");
}

TEST_CASE("charset: UTF-8 sanitizing and iconv conversion") {
    CHECK(utf8_sanitize("ok \xE2\x82\xAC") == "ok \xE2\x82\xAC");
    CHECK(utf8_sanitize("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
    CHECK(utf8_sanitize("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(utf8_sanitize("\xF4\x90\x80\x80").find("\xEF\xBF\xBD") == 0);              // above U+10FFFF
    CHECK(utf8_sanitize("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
    auto latin1 = charset_to_utf8("ISO-8859-1", "caf\xE9");
    REQUIRE(latin1.ok());
    CHECK(*latin1 == "caf\xC3\xA9");
    auto jis = charset_to_utf8("iso-2022-jp", "\x1B$B;3ED\x1B(B");
    REQUIRE(jis.ok());
    CHECK(*jis == "\xE5\xB1\xB1\xE7\x94\xB0");
    auto bad = charset_to_utf8("us-ascii", "a\xFF");
    REQUIRE(bad.ok());
    CHECK(*bad == "a\xEF\xBF\xBD");
    auto invalid_sjis = charset_to_utf8("Shift_JIS", "a\x81");  // truncated double byte
    REQUIRE(invalid_sjis.ok());
    CHECK(*invalid_sjis == "a\xEF\xBF\xBD");
    auto unknown = charset_to_utf8("x-no-such-charset", "a");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == Errc::unsupported);
    auto capped = charset_to_utf8("ISO-8859-1", std::string(100, '\xE9'), 150);
    REQUIRE_FALSE(capped.ok());
    CHECK(capped.error().code == Errc::limit_exceeded);
    for (const char* cs :
         {"ISO-8859-2", "ISO-8859-5", "ISO-8859-7", "windows-1250", "windows-1251", "windows-1253", "windows-1257",
          "KOI8-R", "GB2312", "Big5", "EUC-JP", "EUC-KR", "Shift_JIS", "utf8", "UTF-16BE"}) {
        INFO(cs);
        CHECK(charset_to_utf8(cs, "abc").ok());
    }
}

namespace {
Address addr(std::optional<std::string> name, std::optional<std::string> route, std::optional<std::string> mailbox,
             std::optional<std::string> host) {
    return Address{std::move(name), std::move(route), std::move(mailbox), std::move(host)};
}
}  // namespace

TEST_CASE("address: name-addr, addr-spec with comment, quoted display name") {
    auto l = parse_address_list("\"Doe, John\" <john@example.test>, (lead) jane@example.test (Jane)");
    REQUIRE(l.addresses.size() == 2);
    CHECK(l.addresses[0] == addr("Doe, John", std::nullopt, "john", "example.test"));
    CHECK(l.addresses[1] == addr("Jane", std::nullopt, "jane", "example.test"));
    auto c = parse_address_list("<user (c)@ (c) domain.org>");
    REQUIRE(c.addresses.size() == 1);
    CHECK(c.addresses[0] == addr(std::nullopt, std::nullopt, "user", "domain.org"));
}

TEST_CASE("address: groups, empty groups, empty members") {
    auto l = parse_address_list("g: a@x, b@y;, empty:;, ,, c@z");
    REQUIRE(l.addresses.size() == 7);
    CHECK(l.addresses[0] == addr(std::nullopt, std::nullopt, "g", std::nullopt));
    CHECK(l.addresses[0].is_group_start());
    CHECK(l.addresses[3].is_group_end());
    CHECK(l.addresses[4] == addr(std::nullopt, std::nullopt, "empty", std::nullopt));
    CHECK(l.addresses[5].is_group_end());
    CHECK(l.addresses[6] == addr(std::nullopt, std::nullopt, "c", "z"));
    auto unterminated = parse_address_list("g: a@x");
    REQUIRE(unterminated.addresses.size() == 3);
    CHECK(unterminated.addresses[2].is_group_end());
}

TEST_CASE("address: obsolete syntax (RFC 5322 4.4)") {
    auto route = parse_address_list("Name <@r1.example,@r2.example:u@h.example>");
    REQUIRE(route.addresses.size() == 1);
    CHECK(route.addresses[0] == addr("Name", "@r1.example,@r2.example", "u", "h.example"));
    auto phrase = parse_address_list("John Q. Public <jqp@x.example>");
    REQUIRE(phrase.addresses.size() == 1);
    CHECK(phrase.addresses[0].name == "John Q. Public");
    auto local = parse_address_list("\"quoted local\"@x.example, a . b @ c . d");
    REQUIRE(local.addresses.size() == 2);
    CHECK(local.addresses[0].mailbox == "quoted local");
    CHECK(local.addresses[1] == addr(std::nullopt, std::nullopt, "a.b", "c.d"));
    auto literal = parse_address_list("u@[192.0.2.1]");
    REQUIRE(literal.addresses.size() == 1);
    CHECK(literal.addresses[0].host == "[192.0.2.1]");
}

TEST_CASE("address: routes and partial addresses as in Dovecot's test-message-address.c") {
    auto r1 = parse_address_list("<@route@route2:user@domain>");
    REQUIRE(r1.addresses.size() == 1);
    CHECK(r1.addresses[0] == addr(std::nullopt, "@route,@route2", "user", "domain"));
    auto r2 = parse_address_list("hello <@route ,@route2:user@domain>");
    REQUIRE(r2.addresses.size() == 1);
    CHECK(r2.addresses[0] == addr("hello", "@route,@route2", "user", "domain"));
    auto c = parse_address_list("user (hello)");
    REQUIRE(c.addresses.size() == 1);
    CHECK(c.addresses[0] == addr("hello", std::nullopt, "user", "MISSING_DOMAIN"));
    auto n = parse_address_list("hello <user>");
    REQUIRE(n.addresses.size() == 1);
    CHECK(n.addresses[0] == addr("hello", std::nullopt, "user", "MISSING_DOMAIN"));
    auto d = parse_address_list("@domain");
    REQUIRE(d.addresses.size() == 1);
    CHECK(d.addresses[0] == addr(std::nullopt, std::nullopt, "MISSING_MAILBOX", "domain"));
    auto g = parse_address_list("group: user@domain , \n <user@domain>,foo bar <user@domain>;");
    REQUIRE(g.addresses.size() == 5);
    CHECK(g.addresses[3] == addr("foo bar", std::nullopt, "user", "domain"));
    CHECK(g.addresses[4].is_group_end());
}

TEST_CASE("address: missing parts are filled as Dovecot does, junk is skipped") {
    auto l = parse_address_list("d");
    REQUIRE(l.addresses.size() == 1);
    CHECK(l.addresses[0] == addr(std::nullopt, std::nullopt, "d", "MISSING_DOMAIN"));
    auto m = parse_address_list("Name <@x>");
    REQUIRE(m.addresses.size() == 1);
    CHECK(m.addresses[0].mailbox == "MISSING_MAILBOX");
    CHECK(parse_address_list("").addresses.empty());
    CHECK(parse_address_list("  (only a comment) ").addresses.empty());
    auto junk = parse_address_list(">>> a@b, c@d");
    REQUIRE(!junk.addresses.empty());
    CHECK(junk.addresses.back() == addr(std::nullopt, std::nullopt, "c", "d"));
    // Every prefix of a tricky list parses (no hang, no out-of-range read).
    std::string tricky = "\"A \\\" B\" <a@b>, g: (c (nested)) x@y;, <@r:z@w>, [bad], \"open";
    for (std::size_t i = 0; i <= tricky.size(); ++i) (void)parse_address_list(tricky.substr(0, i));
}

TEST_CASE("header helpers: unfold, find") {
    CHECK(unfold("a\r\n b\n\tc") == "a b\tc");
    std::vector<HeaderField> fields = {{"Subject", "one", 0, 0}, {"subject", "two", 0, 0}};
    REQUIRE(find_header(fields, "SUBJECT") != nullptr);
    CHECK(find_header(fields, "SUBJECT")->value == "one");
    CHECK(find_last_header(fields, "Subject")->value == "two");
    CHECK(find_header(fields, "From") == nullptr);
    HeaderBlock b = parse_header_block("No colon line\r\nX : y\r\n\r\nbody", 0, 31, ParseLimits{});
    REQUIRE(b.fields.size() == 2);
    CHECK(b.fields[0].name == "No colon line");
    CHECK(b.fields[0].value.empty());
    CHECK(b.fields[1].name == "X");
    CHECK(b.fields[1].value == "y");
    CHECK(b.size == 24);  // 15 + 7 + the empty line
}
