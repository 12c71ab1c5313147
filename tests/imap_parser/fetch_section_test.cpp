// fetch_section_test.cpp: FETCH sections over parsed messages: ranges for every section text
// and nested part numbers (message/rfc822 included), HEADER.FIELDS / .NOT filtering (folded
// lines, case, the blank line always kept), partials (past the end, lengths beyond the end),
// BINARY decoding of base64 and quoted-printable, BINARY of composite parts, and an unknown
// Content-Transfer-Encoding giving UNKNOWN-CTE.
#include <doctest/doctest.h>

#include "common/mime/message.h"
#include "imapd/fetch_section.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

const std::string kMessage =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.org\r\n"
    "Subject: a long\r\n"
    " folded subject\r\n"
    "X-Spam: no\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =\r\n"
    "au lait\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAw==\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "From: carol@example.org\r\n"
    "\r\n"
    "inner body\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--b1--\r\n";

mime::ParsedMessage parsed() {
    auto m = mime::parse_message(kMessage);
    REQUIRE(m.ok());
    return *m;
}

std::string bytes(const Section& s) {
    auto r = section_range(parsed(), s);
    REQUIRE(r);
    return kMessage.substr(r->offset, r->size);
}

Section section(std::vector<std::uint32_t> part, SectionText text = SectionText::none) {
    Section s;
    s.part = std::move(part);
    s.text = text;
    return s;
}

}  // namespace

TEST_CASE("section ranges") {
    CHECK(bytes(section({})) == kMessage);
    CHECK(bytes(section({}, SectionText::header)).starts_with("From: Alice"));
    CHECK(bytes(section({}, SectionText::header)).ends_with("boundary=\"b1\"\r\n\r\n"));
    CHECK(bytes(section({}, SectionText::header_fields)) == bytes(section({}, SectionText::header)));
    CHECK(bytes(section({}, SectionText::text)).starts_with("preamble"));
    CHECK(bytes(section({1})) == "caf=C3=A9 =\r\nau lait");
    CHECK(bytes(section({1}, SectionText::mime)) ==
          "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    CHECK(bytes(section({3})).starts_with("Subject: inner"));
    CHECK(bytes(section({3}, SectionText::header)) == "Subject: inner\r\nFrom: carol@example.org\r\n\r\n");
    CHECK(bytes(section({3}, SectionText::text)) == "inner body");
    CHECK(bytes(section({3, 1})) == "inner body");
    CHECK_FALSE(section_range(parsed(), section({9})));
    CHECK_FALSE(section_range(parsed(), section({1}, SectionText::header)));  // not a message/rfc822 part
    CHECK_FALSE(section_range(parsed(), section({}, SectionText::mime)));
}

TEST_CASE("fetched_section: RFC822 items are sections") {
    FetchItem item;
    item.attribute = FetchAttribute::rfc822_header;
    CHECK(fetched_section(item)->text == SectionText::header);
    item.attribute = FetchAttribute::rfc822_text;
    CHECK(fetched_section(item)->text == SectionText::text);
    item.attribute = FetchAttribute::rfc822;
    CHECK(*fetched_section(item) == Section{});
    item.attribute = FetchAttribute::flags;
    CHECK_FALSE(fetched_section(item));
    item.attribute = FetchAttribute::body_section;
    item.section = section({2}, SectionText::mime);
    CHECK(*fetched_section(item) == item.section);
}

TEST_CASE("HEADER.FIELDS and HEADER.FIELDS.NOT") {
    const std::string header = bytes(section({}, SectionText::header));
    const std::vector<std::string> subject_to{"SUBJECT", "to"};
    CHECK(filter_header_fields(header, subject_to, false) ==
          "To: bob@example.org\r\nSubject: a long\r\n folded subject\r\n\r\n");
    const std::vector<std::string> drop{"content-type", "X-SPAM", "from"};
    CHECK(filter_header_fields(header, drop, true) ==
          "To: bob@example.org\r\nSubject: a long\r\n folded subject\r\n\r\n");
    const std::vector<std::string> none{"Nope"};
    CHECK(filter_header_fields(header, none, false) == "\r\n");
    // A name is the whole field name, never a prefix; whitespace before the colon is ignored.
    const std::vector<std::string> x{"X"};
    CHECK(filter_header_fields("X-Spam: no\r\nX : yes\r\n\r\nbody", x, false) == "X : yes\r\n\r\n");
    // A header without its blank line, and a last field without a line end.
    CHECK(filter_header_fields("A: 1\r\nB: 2", std::vector<std::string>{"b"}, false) == "B: 2\r\n\r\n");
    CHECK(filter_header_fields("", subject_to, false) == "\r\n");
}

TEST_CASE("partials") {
    CHECK(apply_partial("0123456789", Partial{0, 4}) == "0123");
    CHECK(apply_partial("0123456789", Partial{8, 100}) == "89");
    CHECK(apply_partial("0123456789", Partial{10, 1}) == "");
    CHECK(apply_partial("0123456789", Partial{0xFFFFFFFFFFFFull, 1}) == "");
    CHECK(apply_partial("0123456789", std::nullopt) == "0123456789");
    CHECK(partial_range(10, Partial{3, 4}) == mime::ByteRange{3, 4});
    CHECK(partial_range(10, Partial{12, 4}) == mime::ByteRange{10, 0});
}

TEST_CASE("BINARY: decoding, composites, unknown encodings") {
    const auto m = parsed();
    auto decode = [&](std::vector<std::uint32_t> part) -> std::variant<std::string, BinaryError> {
        auto plan = binary_section(m, section(std::move(part)));
        if (auto* e = std::get_if<BinaryError>(&plan)) return *e;
        const auto& b = std::get<BinarySection>(plan);
        return decode_binary(std::string_view(kMessage).substr(b.range.offset, b.range.size), b.encoding);
    };
    CHECK(std::get<std::string>(decode({1})) == "caf\xc3\xa9 au lait");
    CHECK(std::get<std::string>(decode({2})) == std::string("\0\1\2\3", 4));
    CHECK(std::get<std::string>(decode({3})).starts_with("Subject: inner"));  // message/rfc822 as is
    CHECK(std::get<std::string>(decode({})) == kMessage);
    CHECK(std::get<BinaryError>(decode({4})) == BinaryError::unknown_cte);
    CHECK(std::get<BinaryError>(decode({7})) == BinaryError::no_such_part);
    CHECK(std::get<BinaryError>(decode_binary("x", TransferEncoding::unknown)) == BinaryError::unknown_cte);
    CHECK(std::get<std::uint64_t>(binary_size("AAECAw==\r\n", TransferEncoding::base64)) == 4);
    CHECK(std::get<std::uint64_t>(binary_size("caf=C3=A9 =\r\nau", TransferEncoding::quoted_printable)) == 8);
    CHECK(std::get<std::uint64_t>(binary_size("abc", TransferEncoding::identity)) == 3);
    CHECK(std::get<BinaryError>(binary_size("abc", TransferEncoding::unknown)) == BinaryError::unknown_cte);
    CHECK(classify_encoding(std::nullopt) == TransferEncoding::identity);
    CHECK(classify_encoding(std::string("8BIT")) == TransferEncoding::identity);
    CHECK(classify_encoding(std::string(" Base64 ")) == TransferEncoding::base64);
    CHECK(classify_encoding(std::string("Quoted-Printable")) == TransferEncoding::quoted_printable);
    CHECK(classify_encoding(std::string("x-gzip")) == TransferEncoding::unknown);
}
