// message_preview_test.cpp: PREVIEW text (imapd/message_preview.h, RFC 8970 3): which part,
// decoding, HTML, whitespace, and the two bounds (256 characters at and past; the encoded
// octets read).
#include <doctest/doctest.h>

#include "imapd/message_preview.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

std::string preview(const std::string& raw, const PreviewLimits& limits = {}) {
    auto parsed = mime::parse_message(raw);
    REQUIRE(parsed.ok());
    return message_preview(raw, *parsed, limits);
}

}  // namespace

TEST_CASE("preview: the first text part; plain preferred in multipart/alternative; attachments skipped") {
    CHECK(preview("Subject: x\r\n\r\n  Hello,\r\n\r\n\tworld  \r\n") == "Hello, world");
    CHECK(preview("Subject: x\r\n\r\n") == "");
    CHECK(preview("Content-Type: image/png\r\n\r\nabc\r\n") == "");
    const std::string alternative =
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>rich</p>\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n";
    CHECK(preview(alternative) == "plain");
    const std::string mixed =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nbin\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner text\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nouter text\r\n--b--\r\n";
    CHECK(preview(mixed) == "outer text");
}

TEST_CASE("preview: transfer encodings and charsets undone; HTML tags, comments, scripts and styles gone") {
    CHECK(preview("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                  "caf=E9 cr=E8me=\r\n br=FBl=E9e\r\n") == "café crème brûlée");
    CHECK(preview("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                  "8J+Yg8Kgc21pbGU=\r\n") == "\xF0\x9F\x98\x83 smile");  // U+00A0 counts as a space
    CHECK(preview("Content-Type: text/html\r\n\r\n<html><head><title>t</title><script>var x = '<p>';</script>"
                  "<style>p { }</style></head><body><p>One&nbsp;&amp;&#32;two&#x21;</p><!-- no -->"
                  "<div>three &bogus; &lt;4&gt;</div></body></html>\r\n") == "t One & two! three &bogus; <4>");
    // Invalid UTF-8 in a UTF-8 part becomes U+FFFD, never passes through.
    CHECK(preview("Content-Type: text/plain; charset=utf-8\r\n\r\na\xFF"
                  "b\r\n") ==
          "a\xEF\xBF\xBD"
          "b");
}

TEST_CASE("preview: at most 256 characters (at the bound and past it), never inside a UTF-8 sequence") {
    const std::string exactly(256, 'x');
    CHECK(preview("Subject: x\r\n\r\n" + exactly + "\r\n") == exactly);
    CHECK(preview("Subject: x\r\n\r\n" + exactly + "y\r\n") == exactly);
    std::string umlauts;
    for (int i = 0; i < 300; ++i) umlauts += "\xC3\xBC";  // ü
    const std::string cut = preview("Content-Type: text/plain; charset=utf-8\r\n\r\n" + umlauts + "\r\n");
    CHECK(cut.size() == 512);  // 256 characters of 2 octets
    // A space is not added at the end when the 256th character would be one.
    const std::string words = std::string(255, 'w') + " next";
    CHECK(preview("Subject: x\r\n\r\n" + words + "\r\n") == std::string(255, 'w'));
}

TEST_CASE("preview: only max_encoded_bytes of the part's body are read") {
    PreviewLimits limits;
    limits.max_encoded_bytes = 10;
    CHECK(preview("Subject: x\r\n\r\n0123456789abcdef\r\n", limits) == "0123456789");
    limits.max_characters = 4;
    CHECK(preview("Subject: x\r\n\r\n0123456789abcdef\r\n", limits) == "0123");
}
