// mime_cache_test.cpp: encode_cache / decode_cache (common/mime/message.h): round trips,
// and blobs that are truncated, corrupt, of another version or with offsets outside the
// message, which must fail cleanly (the blob comes from disk).
// Must never: accept a blob whose ranges lie outside the message.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "common/mime/imap_structure.h"
#include "common/mime/message.h"

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

const char* const kRich =
    "Date: Mon, 23 Nov 2026 10:00:00 +0900\n"
    "Subject: =?UTF-8?B?5Lya6K2w?=\n folded\n"
    "From: \"Doe, J\" <j@x.example>\n"
    "To: team: a@x.example, <@r1,@r2:b@y.example>;, c@z.example (See)\n"
    "Message-ID: <id@x>\n"
    "Content-Type: multipart/mixed; boundary=o\n"
    "\n"
    "--o\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Language: en, ja\n"
    "\n"
    "caf\xC3\xA9\n"
    "--o\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline; filename=m.eml\n"
    "\n"
    "Subject: inner\n"
    "\n"
    "hi\n"
    "--o\n"
    "Content-Type: image/png; name=p.png\n"
    "Content-ID: <p>\n"
    "Content-MD5: xyz=\n"
    "Content-Location: p.png\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "iVBORw0KGgo=\n"
    "--o--\n";

ParsedMessage rich() {
    auto m = parse_message(crlf(kRich));
    REQUIRE(m.ok());
    return std::move(m).value();
}

void check_consistent(const Part& p, std::size_t begin, std::size_t end) {
    REQUIRE(p.header_offset >= begin);
    REQUIRE(p.header_offset + p.header_size == p.body_offset);
    REQUIRE(p.body_offset + p.body_size <= end);
    for (const Part& c : p.children) check_consistent(c, p.body_offset, p.body_offset + p.body_size);
}

}  // namespace

TEST_CASE("cache: round trip keeps every field") {
    ParsedMessage m = rich();
    REQUIRE(m.root.children.size() == 3);
    std::string blob = encode_cache(m);
    CHECK(blob.substr(0, 4) == "HKMC");
    auto back = decode_cache(blob);
    REQUIRE(back.ok());
    CHECK(*back == m);
    CHECK(imap_bodystructure(*back) == imap_bodystructure(m));
    CHECK(imap_envelope(back->envelope) == imap_envelope(m.envelope));
    // Encoding is deterministic.
    CHECK(encode_cache(*back) == blob);
}

TEST_CASE("cache: round trip of degenerate messages") {
    for (const char* v :
         {"", "\n", "Subject: x", "Content-Type: multipart/mixed\n\n", "Content-Type: message/rfc822\n\n"}) {
        INFO(v);
        auto m = parse_message(crlf(v));
        REQUIRE(m.ok());
        auto back = decode_cache(encode_cache(*m));
        REQUIRE(back.ok());
        CHECK(*back == *m);
    }
}

TEST_CASE("cache: every truncation fails") {
    std::string blob = encode_cache(rich());
    for (std::size_t cut = 0; cut < blob.size(); ++cut) {
        INFO("cut at " << cut);
        auto r = decode_cache(std::string_view(blob).substr(0, cut));
        REQUIRE_FALSE(r.ok());
        CHECK((r.error().code == Errc::invalid_argument || r.error().code == Errc::unsupported));
    }
}

TEST_CASE("cache: trailing bytes, bad magic, other version") {
    std::string blob = encode_cache(rich());
    CHECK_FALSE(decode_cache(blob + '\0').ok());
    std::string magic = blob;
    magic[0] = 'X';
    CHECK(decode_cache(magic).error().code == Errc::invalid_argument);
    std::string version = blob;
    version[4] = 2;
    CHECK(decode_cache(version).error().code == Errc::unsupported);
}

TEST_CASE("cache: every corrupted byte fails or decodes to a consistent tree") {
    std::string blob = encode_cache(rich());
    std::size_t failures = 0;
    for (std::size_t i = 5; i < blob.size(); ++i) {
        for (std::uint8_t x : {0x01, 0x80, 0xFF}) {
            std::string bad = blob;
            bad[i] = static_cast<char>(static_cast<std::uint8_t>(bad[i]) ^ x);
            auto r = decode_cache(bad);
            if (!r.ok()) {
                ++failures;
                continue;
            }
            INFO("byte " << i << " xor " << int(x));
            check_consistent(r->root, 0, r->size);
            (void)imap_bodystructure(*r);
            (void)imap_envelope(r->envelope);
        }
    }
    CHECK(failures > 0);
}

TEST_CASE("cache: ranges outside the message are refused") {
    ParsedMessage m = rich();
    ParsedMessage a = m;
    a.root.children[2].body_size += 1000;
    CHECK_FALSE(decode_cache(encode_cache(a)).ok());
    ParsedMessage b = m;
    b.size = 10;
    CHECK_FALSE(decode_cache(encode_cache(b)).ok());
    ParsedMessage c = m;
    c.root.children[0].header_size += 1;  // body no longer right after the header
    CHECK_FALSE(decode_cache(encode_cache(c)).ok());
    ParsedMessage d = m;
    d.root.children[1].children.clear();  // message/rfc822 without its message
    CHECK_FALSE(decode_cache(encode_cache(d)).ok());
    ParsedMessage e = m;
    e.headers[0].offset = m.size;
    CHECK_FALSE(decode_cache(encode_cache(e)).ok());
}

TEST_CASE("cache: huge counts and lengths are refused without allocating them") {
    std::string blob = "HKMC";
    blob += '\x01';
    blob += "\x10";                                  // size 16
    blob += '\0';                                    // degraded
    blob += "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F";  // header count 2^63-1
    CHECK_FALSE(decode_cache(blob).ok());
    std::string overflow = "HKMC";
    overflow += '\x01';
    overflow += "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F";  // more than 64 bits
    CHECK_FALSE(decode_cache(overflow).ok());
}
