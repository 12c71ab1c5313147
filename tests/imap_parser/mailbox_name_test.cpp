// mailbox_name_test.cpp: modified UTF-7 (RFC 3501 5.1.3) both ways and its strictness
// (non-canonical forms, "&-", bad base64, bad padding, unpaired surrogates), names between
// the wire and the store in both encodings (control bytes refused, "..", "%" and "*" left to
// the store), and LIST pattern matching of "*" and "%" (INBOX case-insensitive, no
// exponential work on hostile patterns, the pattern length bound at the limit and past it).
#include <doctest/doctest.h>

#include "imapd/mailbox_name.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {
std::string decode(std::string_view wire) {
    auto r = decode_modified_utf7(wire);
    REQUIRE_MESSAGE(r.ok(), wire);
    return *r;
}
bool refused(std::string_view wire) { return !decode_modified_utf7(wire).ok(); }
bool match(std::string_view reference, std::string_view pattern, std::string_view name) {
    auto p = ListPattern::compile(reference, pattern);
    REQUIRE(p.ok());
    return p->matches(name);
}
}  // namespace

TEST_CASE("modified UTF-7 vectors, both ways") {
    const std::pair<const char*, const char*> vectors[] = {
        {"INBOX", "INBOX"},
        {"&-", "&"},
        {"Tom &- Jerry", "Tom & Jerry"},
        {"Entw&APw-rfe",
         "Entw\xc3\xbc"
         "rfe"},
        {"&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},  // RFC 3501's example
        {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
         "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
        {"&2D3eAA-", "\xf0\x9f\x98\x80"},  // U+1F600, a surrogate pair
        {"a&AOQA9gD8-b",
         "a\xc3\xa4\xc3\xb6\xc3\xbc"
         "b"},
        {"&AAE-", "\x01"},  // a control, encoded
        {"", ""},
    };
    for (auto [wire, utf8] : vectors) {
        CAPTURE(wire);
        CHECK(decode(wire) == utf8);
        CHECK(encode_modified_utf7(utf8) == wire);
    }
    // Invalid UTF-8 is encoded as U+FFFD.
    CHECK(encode_modified_utf7("a\xff") == "a&,,0-");
}

TEST_CASE("modified UTF-7: every non-canonical or broken form is refused") {
    for (std::string_view bad : {
             "&",           // unterminated
             "&AOQ",        // unterminated run
             "a&b",         // unterminated
             "&AGE-",       // "a" encoded: printable ASCII in base64
             "&ACY-",       // "&" encoded instead of "&-"
             "&AOQ-&APY-",  // null shift: two adjacent runs
             "&AOQ/-",      // "/" is not modified base64 (RFC 3501 uses ",")
             "&AOQ=-",      // no padding allowed
             "&AOR-",       // non-zero pad bits
             "&AOQA-",      // a stray sextet
             "&2D0-",       // high surrogate alone
             "&3gA-",       // low surrogate alone
             "&3gDYPQ-",    // low then high
             "&2D3YPQ-",    // two highs
             "\xc3\xa4",    // raw 8-bit
             "a\tb",        // raw control
             "a\x7f",
         }) {
        CAPTURE(bad);
        CHECK(refused(bad));
    }
}

TEST_CASE("names between the wire and the store") {
    CHECK(*mailbox_from_wire("Entw&APw-rfe", NameEncoding::modified_utf7) ==
          "Entw\xc3\xbc"
          "rfe");
    CHECK(*mailbox_from_wire("Entw\xc3\xbc"
                             "rfe",
                             NameEncoding::utf8) ==
          "Entw\xc3\xbc"
          "rfe");
    // In UTF-8 mode "&" is an ordinary character (RFC 9051 5.1).
    CHECK(*mailbox_from_wire("Entw&APw-rfe", NameEncoding::utf8) == "Entw&APw-rfe");
    CHECK(mailbox_to_wire("Tom & Jerry", NameEncoding::modified_utf7) == "Tom &- Jerry");
    CHECK(mailbox_to_wire("Tom & Jerry", NameEncoding::utf8) == "Tom & Jerry");
    CHECK(mailbox_to_wire("\xe6\x97\xa5", NameEncoding::modified_utf7) == "&ZeU-");
    // Refused: 8-bit in modified UTF-7, invalid or overlong UTF-8, surrogates in UTF-8,
    // control characters however they are spelled.
    CHECK_FALSE(mailbox_from_wire("\xc3\xbc", NameEncoding::modified_utf7).ok());
    for (std::string_view bad : {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x01", "a\x7f", "a\rb"}) {
        CAPTURE(bad);
        CHECK_FALSE(mailbox_from_wire(bad, NameEncoding::utf8).ok());
    }
    CHECK_FALSE(mailbox_from_wire("&AAE-", NameEncoding::modified_utf7).ok());
    CHECK_FALSE(mailbox_from_wire("&AAA-", NameEncoding::modified_utf7).ok());  // an encoded NUL
    // What only the store can judge passes through unchanged.
    CHECK(*mailbox_from_wire("a/../b", NameEncoding::modified_utf7) == "a/../b");
    CHECK(*mailbox_from_wire("a%b*", NameEncoding::modified_utf7) == "a%b*");
}

TEST_CASE("LIST patterns: * and % (RFC 9051 6.3.9)") {
    CHECK(match("", "*", "INBOX"));
    CHECK(match("", "*", "a/b/c"));
    CHECK(match("", "%", "INBOX"));
    CHECK_FALSE(match("", "%", "a/b"));
    CHECK(match("", "a/%", "a/b"));
    CHECK_FALSE(match("", "a/%", "a/b/c"));
    CHECK(match("", "a/*", "a/b/c"));
    CHECK_FALSE(match("", "a/*", "a"));
    CHECK(match("", "a*", "a"));
    CHECK(match("", "%/%", "a/b"));
    CHECK(match("", "*b*", "xbx"));
    CHECK(match("", "a%%%c", "abc"));
    CHECK(match("", "a%*%c", "a/b/c"));  // a run with "*" is "*"
    CHECK_FALSE(match("", "a%%c", "a/c"));
    CHECK(match("", "Sent", "Sent"));
    CHECK_FALSE(match("", "Sent", "sent"));
    CHECK_FALSE(match("", "Sent", "Sent/x"));
    CHECK(match("", "", ""));
    // The reference is prefixed; a pattern starting with the delimiter is absolute.
    CHECK(match("Archive/", "%", "Archive/2024"));
    CHECK_FALSE(match("Archive/", "%", "Archive/2024/01"));
    CHECK(match("Archive/", "/x", "/x"));
    // INBOX is case-insensitive, in patterns too; other names are not.
    CHECK(match("", "inbox", "INBOX"));
    CHECK(match("", "InBoX/%", "INBOX/Sub"));
    CHECK(match("", "inb*", "INBOX"));
    CHECK_FALSE(match("", "inboxes", "INBOXES"));
    CHECK_FALSE(match("", "inboxes", "INBOX"));
    CHECK_FALSE(match("", "inbox/sub", "INBOX/SUB"));
    // UTF-8 names match octet by octet; "%" never crosses the delimiter.
    CHECK(match("", "Entw%",
                "Entw\xc3\xbc"
                "rfe"));
}

TEST_CASE("LIST patterns: hostile patterns cost linear time, the length bound holds") {
    // "*a*a*a...*b" against "aaaa...": exponential for a backtracking matcher.
    std::string pattern;
    for (int i = 0; i < 200; ++i) pattern += "*a";
    pattern += "*b";
    // (A backtracking matcher would not finish within the test's timeout.)
    const std::string name(512, 'a');
    auto p = ListPattern::compile("", pattern);
    REQUIRE(p.ok());
    for (int i = 0; i < 100; ++i) CHECK_FALSE(p->matches(name));
    CHECK(p->matches(name + "b"));

    CHECK(ListPattern::compile("", std::string(kMaxListPatternLength, 'x')).ok());
    auto too_long = ListPattern::compile("r", std::string(kMaxListPatternLength, 'x'));
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().code == Errc::limit_exceeded);
    // Runs of wildcards collapse.
    CHECK(ListPattern::compile("", "a%*%**b")->text() == "a*b");
}
