// mime_reader_test.cpp: what imapd and mailcli read from a parsed message: section ranges
// for BODY[section] (RFC 3501 6.4.5), decoded bodies, charsets, RFC 2231 parameters.
// Must never: compare against ranges computed by the code under test.
#include <doctest/doctest.h>

#include <string>

#include "common/mime/body_text.h"
#include "common/mime/message.h"
#include "common/mime/section.h"

using namespace hikyaku;
using namespace hikyaku::mime;

namespace {

std::string crlf(std::string_view lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

ParsedMessage parse(std::string_view raw) {
    auto r = parse_message(raw);
    REQUIRE(r.ok());
    return std::move(r).value();
}

std::string fetch(std::string_view raw, const ParsedMessage& m, std::vector<std::uint32_t> parts, SectionText text) {
    auto r = section_range(m, parts, text);
    if (!r) return "<none>";
    return std::string(raw.substr(r->offset, r->size));
}

const char* const kMessage =
    "Subject: top\n"
    "Content-Type: multipart/mixed; boundary=o\n"
    "\n"
    "--o\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 =\n"
    "ok\n"
    "--o\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=i\n"
    "\n"
    "--i\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "5Lya6K2w\n"
    "--i--\n"
    "--o--\n";

}  // namespace

TEST_CASE("section ranges follow RFC 3501 6.4.5") {
    std::string raw = crlf(kMessage);
    ParsedMessage m = parse(raw);
    CHECK(fetch(raw, m, {}, SectionText::none) == raw);
    CHECK(fetch(raw, m, {}, SectionText::header) ==
          "Subject: top\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n");
    CHECK(fetch(raw, m, {}, SectionText::text).rfind("--o\r\n", 0) == 0);
    CHECK(fetch(raw, m, {}, SectionText::mime) == "<none>");
    CHECK(fetch(raw, m, {1}, SectionText::none) == "caf=E9 =\r\nok");
    CHECK(fetch(raw, m, {1}, SectionText::mime) ==
          "Content-Type: text/plain; charset=iso-8859-1\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    CHECK(fetch(raw, m, {1}, SectionText::header) == "<none>");  // not message/rfc822
    CHECK(fetch(raw, m, {2}, SectionText::mime) == "Content-Type: message/rfc822\r\n\r\n");
    CHECK(fetch(raw, m, {2}, SectionText::header) ==
          "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n");
    CHECK(fetch(raw, m, {2}, SectionText::text) ==
          "--i\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
          "base64\r\n\r\n5Lya6K2w\r\n--i--");
    CHECK(fetch(raw, m, {2}, SectionText::none).rfind("Subject: inner\r\n", 0) == 0);
    CHECK(fetch(raw, m, {2, 1}, SectionText::none) == "5Lya6K2w");
    CHECK(fetch(raw, m, {2, 2}, SectionText::none) == "<none>");
    CHECK(fetch(raw, m, {3}, SectionText::none) == "<none>");
    std::string single = crlf("Subject: s\n\nbody\n");
    ParsedMessage s = parse(single);
    CHECK(fetch(single, s, {1}, SectionText::none) == "body\r\n");
    CHECK(fetch(single, s, {1}, SectionText::mime) == "Subject: s\r\n\r\n");
}

TEST_CASE("decoded bodies and UTF-8 text") {
    std::string raw = crlf(kMessage);
    ParsedMessage m = parse(raw);
    const Part* qp = find_part(m, {1});
    REQUIRE(qp != nullptr);
    CHECK(decode_body(raw, *qp) == "caf\xE9 ok");
    auto text = body_text_utf8(raw, *qp);
    REQUIRE(text.ok());
    CHECK(*text == "caf\xC3\xA9 ok");
    const Part* b64 = find_part(m, {2, 1});
    REQUIRE(b64 != nullptr);
    auto utf8 = body_text_utf8(raw, *b64);
    REQUIRE(utf8.ok());
    CHECK(*utf8 == "\xE4\xBC\x9A\xE8\xAD\xB0");
    std::string unknown = crlf("Content-Type: text/plain; charset=x-nope\n\nabc");
    ParsedMessage u = parse(unknown);
    CHECK_FALSE(body_text_utf8(unknown, u.root).ok());
    CHECK(decode_body(unknown, u.root) == "abc");
    std::string uu = crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n");
    CHECK(decode_body(uu, parse(uu).root) == "begin 644 f\r\n");
}

TEST_CASE("parameter values: RFC 2231 extended values and continuations, RFC 2047 fallback") {
    std::vector<Param> ext = {{"filename*", "utf-8''%E6%9D%B1%E4%BA%AC.bin"}};
    CHECK(param_value_utf8(ext, "filename") == "\xE6\x9D\xB1\xE4\xBA\xAC.bin");
    std::vector<Param> cont = {
        {"NAME*1", " part two"}, {"name*0*", "iso-8859-1'fr'caf%E9"}, {"name*2*", "%21"}, {"name*4", "skipped: no *3"}};
    CHECK(param_value_utf8(cont, "name") == "caf\xC3\xA9 part two!");
    std::vector<Param> both = {{"filename", "plain.txt"}, {"filename*", "us-ascii'en'ext.txt"}};
    CHECK(param_value_utf8(both, "filename") == "ext.txt");
    std::vector<Param> enc = {{"name", "=?UTF-8?B?5Lya6K2w?=.pdf"}};
    CHECK(param_value_utf8(enc, "name") == "\xE4\xBC\x9A\xE8\xAD\xB0.pdf");
    CHECK_FALSE(param_value_utf8(enc, "filename").has_value());
    std::vector<Param> bad = {{"name*", "no quotes %ZZ %4"}};
    CHECK(param_value_utf8(bad, "name") == "no quotes %ZZ %4");
}
