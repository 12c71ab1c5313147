// compose_test.cpp: golden tests of the MIME composer (common/mime/compose) and a round trip
// of every golden through common/mime's parser and decoders.
// Must never: build an expected message with the composer itself.
#include <doctest/doctest.h>

#include <string>

#include "common/mime/body_text.h"
#include "common/mime/compose.h"
#include "common/mime/message.h"
#include "common/text/rfc2047.h"

using namespace hikyaku;
using namespace hikyaku::mime;

namespace {

ComposeInput base() {
    ComposeInput in;
    in.from = "Alice Example <alice@example.test>";
    in.to = {"bob@example.test"};
    in.subject = "Hello";
    in.date = "Thu, 26 Nov 2026 15:00:00 +0000";
    in.message_id = "<1@example.test>";
    in.boundary = "=_b1";
    return in;
}

ParsedMessage parse(std::string_view raw) {
    auto r = parse_message(raw);
    REQUIRE(r.ok());
    return std::move(r).value();
}

void check_lines(const std::string& m) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n') {
            REQUIRE(i > 0);
            CHECK(m[i - 1] == '\r');
            line = 0;
        } else if (m[i] == '\r') {
            REQUIRE(i + 1 < m.size());
            CHECK(m[i + 1] == '\n');
        } else {
            ++line;
            CHECK(line <= 998);
        }
    }
}

std::string header_value(const ParsedMessage& p, std::string_view name) {
    const HeaderField* f = find_header(p.headers, name);
    REQUIRE(f);
    return text::rfc2047_decode(unfold(f->value));
}

}  // namespace

TEST_CASE("plain ASCII message: golden") {
    ComposeInput in = base();
    in.body = "Hi Bob,\nsee you.\n";
    const std::string expected =
        "Date: Thu, 26 Nov 2026 15:00:00 +0000\r\n"
        "From: Alice Example <alice@example.test>\r\n"
        "To: bob@example.test\r\n"
        "Subject: Hello\r\n"
        "Message-ID: <1@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi Bob,\r\n"
        "see you.\r\n";
    ComposedMessage m = compose_message(in);
    CHECK(m.bytes == expected);
    CHECK_FALSE(m.eight_bit);
}

TEST_CASE("UTF-8 headers and body: golden") {
    ComposeInput in = base();
    in.from = "Zoë <zoe@example.test>";
    in.to = {"\"Smith, Bob\" <bob@example.test>", "Carol <carol@example.test>"};
    in.cc = {"dave@example.test"};
    in.subject = "Grüße";
    in.body = "Grüße aus Köln\n";
    const std::string expected =
        "Date: Thu, 26 Nov 2026 15:00:00 +0000\r\n"
        "From: =?UTF-8?B?Wm/Dqw==?= <zoe@example.test>\r\n"
        "To: \"Smith, Bob\" <bob@example.test>, Carol <carol@example.test>\r\n"
        "Cc: dave@example.test\r\n"
        "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
        "Message-ID: <1@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n";
    ComposedMessage m = compose_message(in);
    CHECK(m.bytes == expected);
    ParsedMessage p = parse(m.bytes);
    CHECK(header_value(p, "Subject") == "Grüße");
    CHECK(header_value(p, "From") == "Zoë <zoe@example.test>");
    auto body = body_text_utf8(m.bytes, p.root);
    REQUIRE(body.ok());
    CHECK(body.value() == "Grüße aus Köln\r\n");
}

TEST_CASE("mostly non-ASCII body is base64, and round-trips") {
    ComposeInput in = base();
    in.body = "日本語のテキストです。\n飛脚\n";
    ComposedMessage m = compose_message(in);
    CHECK(m.bytes.find("Content-Transfer-Encoding: base64\r\n") != std::string::npos);
    check_lines(m.bytes);
    ParsedMessage p = parse(m.bytes);
    auto body = body_text_utf8(m.bytes, p.root);
    REQUIRE(body.ok());
    CHECK(body.value() == "日本語のテキストです。\r\n飛脚\r\n");
}

TEST_CASE("long lines: subject folded, encoded words at most 75, body line over 998 is QP") {
    ComposeInput in = base();
    std::string subject;
    for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
    subject += "end";
    in.subject = subject;
    in.body = std::string(2000, 'x') + "\n";
    ComposedMessage m = compose_message(in);
    check_lines(m.bytes);
    // Every header line is within 78 characters.
    const std::size_t header_end = m.bytes.find("\r\n\r\n");
    std::size_t pos = 0;
    while (pos < header_end) {
        std::size_t e = m.bytes.find("\r\n", pos);
        CHECK(e - pos <= kFoldWidth);
        pos = e + 2;
    }
    ParsedMessage p = parse(m.bytes);
    CHECK(header_value(p, "Subject") == subject);
    CHECK(m.bytes.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos);
    CHECK(decode_body(m.bytes, p.root) == std::string(2000, 'x') + "\r\n");

    in.subject = "Ünïcödé " + std::string(200, 'y');
    m = compose_message(in);
    p = parse(m.bytes);
    CHECK(header_value(p, "Subject") == in.subject);
    const std::string& b = m.bytes;
    for (std::size_t w = b.find("=?"); w != std::string::npos; w = b.find("=?", w + 2)) {
        std::size_t end = b.find("?=", w + 10);
        REQUIRE(end != std::string::npos);
        CHECK(end + 2 - w <= 75);
        w = end;
    }
}

TEST_CASE("a subject split into encoded words never splits a UTF-8 character") {
    ComposeInput in = base();
    in.subject = "";
    for (int i = 0; i < 40; ++i) in.subject += "é€";  // 2- and 3-byte characters
    ComposedMessage m = compose_message(in);
    ParsedMessage p = parse(m.bytes);
    CHECK(header_value(p, "Subject") == in.subject);
}

TEST_CASE("attachments: golden multipart with binary, text, empty, non-ASCII name") {
    ComposeInput in = base();
    in.body = "See attached.\n";
    in.attachments.push_back({"data.bin", "application/octet-stream", std::string("\x00\xff\x10", 3)});
    in.attachments.push_back({"note.txt", "text/plain", "line\n"});
    in.attachments.push_back({"empty", "", ""});
    in.attachments.push_back({"résumé.pdf", "application/pdf", "%PDF"});
    const std::string expected =
        "Date: Thu, 26 Nov 2026 15:00:00 +0000\r\n"
        "From: Alice Example <alice@example.test>\r\n"
        "To: bob@example.test\r\n"
        "Subject: Hello\r\n"
        "Message-ID: <1@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"=_b1\"\r\n"
        "\r\n"
        "This is a MIME message in several parts.\r\n"
        "\r\n"
        "--=_b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "See attached.\r\n"
        "\r\n"
        "--=_b1\r\n"
        "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
        "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "AP8Q\r\n"
        "\r\n"
        "--=_b1\r\n"
        "Content-Type: text/plain; name=\"note.txt\"\r\n"
        "Content-Disposition: attachment; filename=\"note.txt\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "bGluZQo=\r\n"
        "\r\n"
        "--=_b1\r\n"
        "Content-Type: application/octet-stream; name=\"empty\"\r\n"
        "Content-Disposition: attachment; filename=\"empty\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "\r\n"
        "--=_b1\r\n"
        "Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "JVBERg==\r\n"
        "\r\n"
        "--=_b1--\r\n";
    ComposedMessage m = compose_message(in);
    CHECK(m.bytes == expected);

    ParsedMessage p = parse(m.bytes);
    REQUIRE(p.root.kind == PartKind::multipart);
    REQUIRE(p.root.children.size() == 5);
    CHECK(decode_body(m.bytes, p.root.children[0]) == "See attached.\r\n");
    CHECK(decode_body(m.bytes, p.root.children[1]) == std::string("\x00\xff\x10", 3));
    CHECK(decode_body(m.bytes, p.root.children[2]) == "line\n");
    CHECK(decode_body(m.bytes, p.root.children[3]).empty());
    CHECK(decode_body(m.bytes, p.root.children[4]) == "%PDF");
    CHECK(param_value_utf8(p.root.children[4].disposition_params, "filename") == "résumé.pdf");
    CHECK(param_value_utf8(p.root.children[4].params, "name") == "résumé.pdf");
    CHECK(p.root.children[4].type == "application");
    CHECK(p.root.children[4].subtype == "pdf");
}

TEST_CASE("a long non-ASCII file name is continued (RFC 2231 3) and decodes back") {
    ComposeInput in = base();
    std::string name;
    for (int i = 0; i < 30; ++i) name += "ファイル";
    name += ".txt";
    in.attachments.push_back({name, "text/plain", "x"});
    ComposedMessage m = compose_message(in);
    check_lines(m.bytes);
    CHECK(m.bytes.find("filename*0*=utf-8''") != std::string::npos);
    CHECK(m.bytes.find("filename*1*=") != std::string::npos);
    ParsedMessage p = parse(m.bytes);
    REQUIRE(p.root.children.size() == 2);
    CHECK(param_value_utf8(p.root.children[1].disposition_params, "filename") == name);
}

TEST_CASE("a body containing the boundary is encoded so the boundary cannot occur") {
    ComposeInput in = base();
    in.body = "--=_b1\n--=_b1--\n";
    in.attachments.push_back({"a.txt", "text/plain", "x"});
    ComposedMessage m = compose_message(in);
    ParsedMessage p = parse(m.bytes);
    REQUIRE(p.root.children.size() == 2);
    CHECK(decode_body(m.bytes, p.root.children[0]) == "--=_b1\r\n--=_b1--\r\n");
}

TEST_CASE("bare CR, control characters and trailing spaces never reach the wire raw") {
    ComposeInput in = base();
    in.body = "a\rb\x01 \nlast line without end ";
    ComposedMessage m = compose_message(in);
    check_lines(m.bytes);
    CHECK(m.bytes.find("quoted-printable") != std::string::npos);
    ParsedMessage p = parse(m.bytes);
    CHECK(decode_body(m.bytes, p.root) == "a\r\nb\x01 \r\nlast line without end \r\n");
    // Header injection: CR/LF in a header value become spaces.
    in.subject = "x\r\nBcc: evil@example.test";
    m = compose_message(in);
    CHECK(m.bytes.find("\r\nBcc:") == std::string::npos);
}

TEST_CASE("non-ASCII address itself stays UTF-8 and marks the message 8-bit") {
    ComposeInput in = base();
    in.to = {"José <josé@example.test>"};
    ComposedMessage m = compose_message(in);
    CHECK(m.eight_bit);
    CHECK(m.bytes.find("To: =?UTF-8?B?Sm9zw6k=?= <josé@example.test>\r\n") != std::string::npos);
}

TEST_CASE("fold_header and address helpers") {
    CHECK(fold_header("X", "a  b") == "X: a  b\r\n");
    CHECK(address_spec("  Name <a@b.example> ") == "a@b.example");
    CHECK(address_spec("a@b.example") == "a@b.example");
    CHECK(encode_address("a.b <x@y>") == "\"a.b\" <x@y>");
    CHECK(encode_address("\"Q \\\"x\\\"\" <x@y>") == "\"Q \\\"x\\\"\" <x@y>");
    CHECK(encode_unstructured("has =?x?= inside").starts_with("=?UTF-8?B?"));
    const std::string d = format_rfc5322_date(0);
    CHECK(d.size() >= 30);
    CHECK((d.starts_with("Thu, 01 Jan 1970") || d.starts_with("Wed, 31 Dec 1969")));
}
