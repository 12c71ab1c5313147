// user_import_test.cpp: the `mailctl user import` list format and sizes, without the store
// or the binary: fields, comments, the {ARGON2ID} prefix, line numbers in errors, and each
// side of the line-length and user-count bounds.
//
// Must never: depend on a store, a file or timing.
#include <sstream>

#include <doctest/doctest.h>

#include "mailctl/user_import.h"

using namespace hikyaku;
using namespace hikyaku::mailctl;

namespace {

const std::string kHash =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

storage::UserImport parsed(std::string_view line) {
    auto r = parse_import_line(line);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    REQUIRE(r->has_value());
    return **r;
}

std::string refused(std::string_view line) {
    auto r = parse_import_line(line);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

Result<std::vector<storage::UserImport>> read(const std::string& text, std::size_t max_users = kMaxImportUsers) {
    std::istringstream in(text);
    return read_import(in, "users.txt", max_users);
}

std::string read_error(const std::string& text, std::size_t max_users = kMaxImportUsers) {
    auto r = read(text, max_users);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

}  // namespace

TEST_CASE("parse_size: bytes or K/M/G, nothing else") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("1048576") == 1048576u);
    CHECK(parse_size("512K") == 512u << 10);
    CHECK(parse_size("25m") == 25u << 20);
    CHECK(parse_size("2G") == 2ull << 30);
    for (const char* bad : {"", "M", "-1", "1.5M", "1MB", "1T", " 1", "1 ", "18446744073709551616", "17179869184G"})
        CHECK_MESSAGE(!parse_size(bad), bad);
}

TEST_CASE("parse_count: decimal digits up to kMaxCount, nothing else") {
    CHECK(parse_count("0") == 0u);
    CHECK(parse_count("100") == 100u);
    CHECK(parse_count("9223372036854775807") == kMaxCount);                                           // at the bound
    for (const char* bad : {"", "-1", "+1", "1K", "1.0", " 1", "1 ", "0x10", "9223372036854775808"})  // one past
        CHECK_MESSAGE(!parse_count(bad), bad);
}

TEST_CASE("parse_import_line: ADDRESS HASH [QUOTA]") {
    auto u = parsed("Bob@Example.COM " + kHash);
    CHECK(u.address == "bob@example.com");
    CHECK(u.password_hash == kHash);
    CHECK(u.quota_bytes == 0);

    u = parsed(" \tbob@example.com\t\t" + kHash + "  25M \t");
    CHECK(u.address == "bob@example.com");
    CHECK(u.quota_bytes == 25u << 20);
    CHECK(parsed("bob@example.com " + kHash + " 0").quota_bytes == 0);

    // Dovecot's scheme prefix, in any case, is dropped.
    CHECK(parsed("bob@example.com {ARGON2ID}" + kHash).password_hash == kHash);
    CHECK(parsed("bob@example.com {argon2id}" + kHash).password_hash == kHash);
}

TEST_CASE("parse_import_line: blank and comment lines are skipped") {
    for (const char* skip : {"", " ", "\t \t", "#", "# a comment", "   # indented comment", "#bob@example.com x"}) {
        auto r = parse_import_line(skip);
        REQUIRE_MESSAGE(r.ok(), skip);
        CHECK_MESSAGE(!r->has_value(), skip);
    }
}

TEST_CASE("parse_import_line: a bad field says which") {
    CHECK(refused("bob@example.com").find("no password hash") != std::string::npos);
    CHECK(refused("bob@example.com " + kHash + " 1M extra").find("too many fields") != std::string::npos);
    CHECK(refused("bob " + kHash).find("bad address") != std::string::npos);
    CHECK(refused("bob..x@example.com " + kHash).find("bad address") != std::string::npos);
    CHECK(refused("bob@example.com secret").find("argon2id PHC") != std::string::npos);
    CHECK(refused("bob@example.com {SHA512-CRYPT}$6$abc$def").find("argon2id PHC") != std::string::npos);
    CHECK(refused("bob@example.com {ARGON2I}" + kHash).find("argon2id PHC") != std::string::npos);
    CHECK(refused("bob@example.com {ARGON2ID}{ARGON2ID}" + kHash).find("argon2id PHC") != std::string::npos);
    CHECK(refused("bob@example.com " + kHash + "=").find("argon2id PHC") != std::string::npos);
    CHECK(refused("bob@example.com " + kHash + " lots").find("bad quota") != std::string::npos);
    CHECK(refused("bob@example.com " + kHash + " -1").find("bad quota") != std::string::npos);
    CHECK(refused("bob@example.com " + kHash + " 99999999999G").find("bad quota") != std::string::npos);
    // Errors never echo the hash.
    std::string bad_hash = kHash.substr(0, kHash.size() - 1) + "B";  // non-zero unused bits
    CHECK(refused("bob@example.com " + bad_hash).find(bad_hash) == std::string::npos);
}

TEST_CASE("parse_import_line: at most 1000 bytes") {
    std::string line = "bob@example.com " + kHash + " 1M";
    line.resize(kMaxImportLineBytes, ' ');
    CHECK(parsed(line).quota_bytes == 1u << 20);
    line += ' ';
    CHECK(refused(line).find("longer than 1000 bytes") != std::string::npos);
}

TEST_CASE("read_import: line numbers count every line; LF, CRLF and a last line without an end") {
    std::string text = "# users\n\nbob@example.com " + kHash + "\r\n  \ncarol@example.com " + kHash +
                       " 2M\n# end\ndave@example.com " + kHash;
    auto r = read(text);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].address == "bob@example.com");
    CHECK((*r)[0].password_hash == kHash);  // the CR is gone
    CHECK((*r)[1].quota_bytes == 2u << 20);
    CHECK((*r)[2].address == "dave@example.com");

    CHECK(read_error(text + "\nerin@example.com " + kHash + " big\n") ==
          "users.txt:8: bad quota (bytes, or a number with K, M or G)");
    CHECK(read_error("\n\n\nbad-line\n").rfind("users.txt:4: ", 0) == 0);

    auto empty = read("");
    REQUIRE(empty.ok());
    CHECK(empty->empty());
    auto comments = read("# nothing\n\n");
    REQUIRE(comments.ok());
    CHECK(comments->empty());
}

TEST_CASE("read_import: an address twice names both lines") {
    std::string text =
        "bob@example.com " + kHash + "\ncarol@example.com " + kHash + "\nBOB@example.com " + kHash + "\n";
    CHECK(read_error(text) == "users.txt:3: bob@example.com is already on line 1");
}

TEST_CASE("read_import: line length bound, with LF or CRLF, without reading the rest of a long line") {
    std::string line = "bob@example.com " + kHash;
    line.resize(kMaxImportLineBytes, ' ');
    CHECK(read(line + "\n").ok());
    CHECK(read(line + "\r\n").ok());
    CHECK(read(line).ok());
    CHECK(read_error(line + " \n") == "users.txt:1: line longer than 1000 bytes");
    CHECK(read_error(line + " \r\n") == "users.txt:1: line longer than 1000 bytes");
    CHECK(read_error(line + " ") == "users.txt:1: line longer than 1000 bytes");
    CHECK(read_error("# ok\n" + std::string(10u << 20, '#') + "\n") == "users.txt:2: line longer than 1000 bytes");
}

TEST_CASE("read_import: user count bound") {
    std::string text;
    for (int i = 0; i < 5; ++i) text += "user" + std::to_string(i) + "@example.com " + kHash + "\n# comment\n";
    auto five = read(text, 5);
    REQUIRE(five.ok());
    CHECK(five->size() == 5);
    CHECK(read_error(text + "user5@example.com " + kHash + "\n", 5) == "users.txt:11: more than 5 users in one import");
    CHECK(read(text + "# comments do not count\n\n", 5).ok());
    CHECK(kMaxImportUsers == 1000000);
}
