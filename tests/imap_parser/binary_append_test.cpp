// binary_append_test.cpp: APPEND of literal8 content (imapd/binary_append.h, RFC 3516 4.4):
// leaf parts with a NUL or declared "binary" re-encoded in base64 (RFC 2045 6.8: lines of at
// most 76 characters), the rest byte for byte; a NUL outside a body refused. Every vector is
// checked by the shared oracle (binary_append_oracle.h); a NUL is put at every offset of a
// multipart message; body sizes cross every base64 line boundary up to three lines; the MIME
// nesting bound (mime::ParseLimits::max_depth) is met and passed.
#include <doctest/doctest.h>

#include "common/mime/limits.h"
#include "imapd/binary_append.h"
#include "tests/imap_parser/binary_append_oracle.h"

using namespace hikyaku;

namespace {

struct Outcome {
    std::optional<std::string> encoded;
    bool unfixable = false;
};

// Runs the conversion and holds its answer to the oracle.
Outcome convert(std::string_view raw) {
    Outcome o;
    o.encoded = imap::encode_binary_parts(raw, o.unfixable);
    const std::string mismatch = test::binary_append_mismatch(raw, o.encoded ? &*o.encoded : nullptr, o.unfixable);
    CHECK_MESSAGE(mismatch.empty(), mismatch);
    return o;
}

using namespace std::string_literals;

const std::string kMultipart =
    "From: a@example.test\r\n"
    "Subject: two parts\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--xx\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain text\r\n"
    "--xx\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "bytes\x01\x02\xff\r\n"
    "--xx--\r\n"
    "epilogue\r\n";

}  // namespace

TEST_CASE("a single part with a NUL in its body is base64, the encoding field added last") {
    const std::string raw = "Subject: nul\r\n\r\nab\0cd\r\n"s;
    auto o = convert(raw);
    REQUIRE(o.encoded);
    CHECK_FALSE(o.unfixable);
    CHECK(*o.encoded == "Subject: nul\r\nContent-Transfer-Encoding: base64\r\n\r\nYWIAY2QNCg==\r\n");
}

TEST_CASE("Content-Transfer-Encoding: binary, in any case and folded, is replaced by base64") {
    // RFC 5322 4.5 (obsolete syntax): white space before the colon still names the field.
    for (const char* field :
         {"Content-Transfer-Encoding: binary\r\n", "CONTENT-TRANSFER-ENCODING: BiNaRy\r\n",
          "content-transfer-encoding:\r\n binary\r\n", "Content-Transfer-Encoding: binary\r\n\t(comment)\r\n",
          "Content-Transfer-Encoding : binary\r\n", "Content-Transfer-Encoding\t: binary\r\n"}) {
        CAPTURE(field);
        const std::string raw = "Subject: s\r\n" + std::string(field) + "X-After: kept\r\n\r\nno nul here\r\n";
        auto o = convert(raw);
        REQUIRE(o.encoded);
        CHECK(*o.encoded ==
              "Subject: s\r\nContent-Transfer-Encoding: base64\r\nX-After: kept\r\n\r\nbm8gbnVsIGhlcmUNCg==\r\n");
    }
}

TEST_CASE("nothing to change: no answer, not unfixable") {
    for (const std::string& raw : {"Subject: s\r\n\r\nbody\r\n"s, kMultipart, ""s, "Subject: only a header"s,
                                   "Subject: s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\r\n"s}) {
        auto o = convert(raw);
        CHECK_FALSE(o.encoded);
        CHECK_FALSE(o.unfixable);
    }
}

TEST_CASE("the fields the MIME parser reads as the encoding are the ones replaced") {
    // Found by the fuzz target: "Content-Transfer-Encoding : binary" was not recognised, so the
    // new field was glued to the last header line and the part still said "binary"; a
    // second encoding field, or a name without a colon (read as a field with an empty value),
    // was left in front of the new one. A first line starting with white space stays first.
    const std::pair<std::string, std::string> cases[] = {
        {"Subject: s\r\nContent-Transfer-Encoding : binary", "Subject: s\r\nContent-Transfer-Encoding: base64\r\n"},
        {"Content-Transfer-Encoding\r\nX: y\r\n\r\nn\0l"s, "Content-Transfer-Encoding: base64\r\nX: y\r\n\r\nbgBs\r\n"},
        {"Content-Transfer-Encoding: binary\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx",
         "Content-Transfer-Encoding: base64\r\n\r\neA==\r\n"},
        {" folded\r\nX: y\n\nn\0l"s, " folded\r\nX: y\nContent-Transfer-Encoding: base64\r\n\nbgBs\r\n"},
        {"\r\nn\0l"s, "Content-Transfer-Encoding: base64\r\n\r\nbgBs\r\n"},
    };
    for (const auto& [raw, want] : cases) {
        CAPTURE(raw);
        auto o = convert(raw);
        REQUIRE(o.encoded);
        CHECK(*o.encoded == want);
    }
}

TEST_CASE("only the part that needs it changes in a multipart") {
    std::string raw = kMultipart;
    raw.replace(raw.find("bytes\x01"), 5, "by\0es"s);
    auto o = convert(raw);
    REQUIRE(o.encoded);
    CHECK(o.encoded->find("preamble\r\n--xx\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--xx\r\n") !=
          std::string::npos);
    CHECK(o.encoded->find("Content-Transfer-Encoding: base64\r\n\r\nYnkAZXMBAv8=\r\n\r\n--xx--\r\nepilogue\r\n") !=
          std::string::npos);
    CHECK(o.encoded->find("8bit") == std::string::npos);
}

TEST_CASE("a NUL in a header block, the preamble or a boundary line cannot be stored: unfixable") {
    CHECK(convert("Subj\0ect: s\r\n\r\nbody\r\n"s).unfixable);
    // ...even when another part needs base64: the answer would still hold a NUL.
    std::string raw = kMultipart;
    raw.replace(raw.find("pre"), 3, "p\0e"s);
    raw.replace(raw.find("bytes\x01"), 5, "by\0es"s);
    auto o = convert(raw);
    CHECK(o.unfixable);
    CHECK_FALSE(o.encoded);
}

TEST_CASE("a NUL at every offset of a multipart message: encoded or refused, never kept") {
    int encoded = 0, refused = 0;
    for (std::size_t at = 0; at < kMultipart.size(); ++at) {
        std::string raw = kMultipart;
        raw[at] = '\0';
        CAPTURE(at);
        auto o = convert(raw);
        CHECK(o.encoded.has_value() != o.unfixable);
        (o.encoded ? encoded : refused)++;
    }
    // Both leaf bodies ("plain text", "bytes...") hold 10 + 8 octets that can be re-encoded
    // (a NUL in a line end may move a body's end: more); every header octet is refused.
    CHECK(encoded >= 18);
    CHECK(refused >= static_cast<int>(kMultipart.find("preamble")));
}

TEST_CASE("base64 lines: every body size across three 76-character lines") {
    // 57 octets make one full line (RFC 2045 6.8): at the bound one line, one past it two.
    for (std::size_t size = 0; size <= 3 * 57 + 2; ++size) {
        std::string body(size, 'x');
        if (size > 0) body[size / 2] = '\0';
        const std::string raw = "Content-Transfer-Encoding: binary\r\n\r\n" + body;
        CAPTURE(size);
        auto o = convert(raw);
        REQUIRE(o.encoded);
        const std::size_t lines = (size + 56) / 57;
        std::size_t crlfs = 0;
        for (std::size_t p = o.encoded->find("\r\n\r\n") + 4; (p = o.encoded->find("\r\n", p)) != std::string::npos;
             p += 2)
            ++crlfs;
        CHECK(crlfs == lines);
    }
}

TEST_CASE("message/rfc822 inside a multipart: the inner binary leaf is re-encoded") {
    const std::string raw =
        "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
        "--o\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: inner\r\nContent-Transfer-Encoding: binary\r\n\r\nin\0ner\r\n"
        "--o--\r\n"s;
    auto o = convert(raw);
    REQUIRE(o.encoded);
    CHECK(o.encoded->find("Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naW4AbmVy\r\n") !=
          std::string::npos);
}

TEST_CASE("MIME nesting at the parser's depth bound and one past it") {
    const std::size_t bound = mime::ParseLimits{}.max_depth;
    for (std::size_t depth : {bound - 1, bound, bound + 1}) {
        CAPTURE(depth);
        std::string raw;
        for (std::size_t i = 0; i < depth; ++i)
            raw += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
                   std::to_string(i) + "\r\n";
        raw += "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nle\0af"s;
        for (std::size_t i = depth; i-- > 0;) raw += "\r\n--b" + std::to_string(i) + "--";
        raw += "\r\n";
        auto o = convert(raw);
        // Past the bound the deepest container is a leaf: its whole body is re-encoded, so
        // the NUL is gone either way.
        REQUIRE(o.encoded);
        CHECK(o.encoded->find('\0') == std::string::npos);
    }
}
