// imap_response_test.cpp: common/client/imap_response: untagged, tagged and continuation
// responses with literals, every vector parsed whole, split at every byte offset and in fixed
// chunks with the same outcome; the next response never taken; each bound (line, literal,
// response, literals, values, depth) at and one past; and the readings (capabilities, LIST,
// STATUS, SEARCH, ESEARCH, FETCH, VANISHED, APPENDUID, UID sets).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/client/imap_response.h"
#include "tests/client/grind.h"

using namespace hikyaku::client;
using hikyaku::test::feed_in_pieces;
using namespace std::string_literals;

namespace {

struct Outcome {
    ImapParseStatus status;
    ImapResponse response;
    std::string bad_line;
    std::size_t taken;
    std::size_t literal_octets;
    bool operator==(const Outcome&) const = default;
};

Outcome parse(std::string_view input, const std::vector<std::size_t>& cuts, ImapLimits limits) {
    ImapResponseParser p(limits);
    const std::size_t taken = feed_in_pieces(p, input, cuts);
    return {p.status(), p.response(), p.bad_line(), taken, p.literal_octets()};
}

Outcome grind(std::string_view input, ImapLimits limits = {}) {
    return hikyaku::test::same_every_way(input.size(), [&](const auto& cuts) { return parse(input, cuts, limits); });
}

ImapResponse complete(std::string_view input) {
    const Outcome o = grind(input);
    REQUIRE(o.status == ImapParseStatus::complete);
    return o.response;
}

}  // namespace

TEST_CASE("status responses: greeting, tagged, response codes, text") {
    ImapResponse r = complete("* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] Dovecot ready.\r\n");
    CHECK(r.kind == ImapResponse::Kind::untagged);
    CHECK(r.status == "OK");
    CHECK(r.code == "CAPABILITY");
    CHECK(r.code_args == "IMAP4rev1 LITERAL+ IDLE");
    CHECK(r.text == "Dovecot ready.");
    CHECK(parse_capabilities(r) == std::vector<std::string>{"IMAP4REV1", "LITERAL+", "IDLE"});

    r = complete("a1 ok [uidvalidity 3857529045] UIDs valid\n");
    CHECK(r.kind == ImapResponse::Kind::tagged);
    CHECK(r.tag == "a1");
    CHECK(r.status == "OK");
    CHECK(r.code == "UIDVALIDITY");
    CHECK(code_number(r) == 3857529045u);
    CHECK(r.text == "UIDs valid");

    r = complete("A7 NO\r\n");
    CHECK(r.status == "NO");
    CHECK(r.text.empty());
    r = complete("* BYE (unbalanced [text\" is free\r\n");
    CHECK(r.status == "BYE");
    CHECK(r.text == "(unbalanced [text\" is free");
    r = complete("* PREAUTH welcome\r\n");
    CHECK(r.status == "PREAUTH");
}

TEST_CASE("data responses: numbers, atoms, strings, lists, NIL") {
    ImapResponse r = complete("* 23 EXISTS\r\n");
    CHECK(r.number == 23u);
    CHECK(r.keyword == "EXISTS");
    CHECK(r.values.empty());

    r = complete("* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n");
    CHECK(parse_capabilities(r) == std::vector<std::string>{"IMAP4REV1", "STARTTLS", "AUTH=PLAIN"});
    CHECK(has_capability(parse_capabilities(r), "auth=plain"));

    r = complete("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n");
    auto list = parse_list(r);
    REQUIRE(list);
    CHECK(list->name == "Sent Items");
    CHECK(list->delimiter == "/");
    CHECK(list->has_attribute("\\sent"));

    r = complete("* LIST () NIL {7}\r\nA\"b(c)d\r\n");
    list = parse_list(r);
    REQUIRE(list);
    CHECK(list->delimiter.empty());
    CHECK(list->name == "A\"b(c)d");

    r = complete("* STATUS INBOX (MESSAGES 17 UNSEEN 2 SIZE 123456 UIDNEXT 40)\r\n");
    auto st = parse_status(r);
    REQUIRE(st);
    CHECK(st->messages == 17u);
    CHECK(st->unseen == 2u);
    CHECK(st->size == 123456u);
    CHECK(st->uidnext == 40u);
    CHECK_FALSE(st->uidvalidity);

    r = complete("* SEARCH 2 84 882 (MODSEQ 917162500)\r\n");
    CHECK(parse_search(r) == std::vector<std::uint32_t>{2, 84, 882});
    r = complete("* SEARCH\r\n");
    CHECK(parse_search(r) == std::vector<std::uint32_t>{});

    r = complete("* ESEARCH (TAG \"a5\") UID COUNT 5 ALL 4:6,9,11\r\n");
    auto es = parse_esearch(r);
    REQUIRE(es);
    CHECK(es->tag == "a5");
    CHECK(es->uid);
    CHECK(es->count == 5u);
    CHECK(expand_uid_set(es->all, 100) == std::vector<std::uint32_t>{4, 5, 6, 9, 11});

    r = complete("* VANISHED (EARLIER) 41,43:45\r\n");
    auto v = parse_vanished(r);
    REQUIRE(v);
    CHECK(v->earlier);
    CHECK(v->uids == "41,43:45");

    r = complete("x OK [APPENDUID 38505 3955] APPEND completed\r\n");
    auto au = parse_appenduid(r);
    REQUIRE(au);
    CHECK(au->uidvalidity == 38505u);
    CHECK(au->uids == "3955");
}

TEST_CASE("FETCH with literals; the next response is left unread") {
    const std::string next = "a3 OK done\r\n";
    const std::string input =
        "* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) RFC822.SIZE 11 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
        "MODSEQ (12121231000) BODY[HEADER.FIELDS (FROM SUBJECT)] {9}\r\nFrom: a\r\n BODY[] {11}\r\nhi\r\n\r\n)body)\r\n" +
        next;
    const Outcome o = grind(input);
    REQUIRE(o.status == ImapParseStatus::complete);
    CHECK(o.taken == input.size() - next.size());
    CHECK(o.literal_octets == 20);
    ImapResponse r = o.response;
    auto f = parse_fetch(r);
    REQUIRE(f);
    CHECK(f->sequence == 12);
    CHECK(f->uid == 7u);
    CHECK(f->flags == std::vector<std::string>{"\\Seen", "$Forwarded"});
    CHECK(f->size == 11u);
    CHECK(f->internal_date == "17-Jul-1996 02:44:25 -0700");
    CHECK(f->modseq == 12121231000u);
    REQUIRE(f->section("body[header.fields (from subject)]"));
    CHECK(*f->section("BODY[HEADER.FIELDS (FROM SUBJECT)]") == "From: a\r\n");
    REQUIRE(f->section("BODY[]"));
    CHECK(*f->section("BODY[]") == "hi\r\n\r\n)body");

    // An empty literal, a literal8, a non-synchronizing marker, NIL, and bare LFs.
    r = complete("* 1 FETCH (BODY.PEEK[TEXT] {0}\n BINARY[1] ~{3}\nabc BODY[2] NIL UID 1)\n");
    f = parse_fetch(r);
    REQUIRE(f);
    CHECK(*f->section("BODY[TEXT]") == "");
    CHECK(*f->section("BINARY[1]") == "abc");
    CHECK(*f->section("BODY[2]") == "");
    r = complete("* 2 FETCH (BODY[] {3+}\r\nxyz)\r\n");
    f = parse_fetch(r);
    REQUIRE(f);
    CHECK(*f->section("BODY[]") == "xyz");
    // A literal made only of what looks like response lines stays data.
    r = complete("* 3 FETCH (BODY[] {14}\r\na1 OK done\r\n\r\n)\r\n");
    f = parse_fetch(r);
    REQUIRE(f);
    CHECK(*f->section("BODY[]") == "a1 OK done\r\n\r\n");
}

TEST_CASE("continuation requests") {
    ImapResponse r = complete("+ idling\r\n");
    CHECK(r.kind == ImapResponse::Kind::continuation);
    CHECK(r.text == "idling");
    r = complete("+\r\n");
    CHECK(r.text.empty());
    r = complete("+ {5}\r\n");  // a continuation is one line, never a literal
    CHECK(r.text == "{5}");
}

TEST_CASE("malformed responses") {
    for (std::string_view bad :
         {"garbage\r\n", "\r\n", "* \r\n", "* (unclosed\r\n", "* LIST \"abc\r\n", "a1 FETCH (x)\r\n",
          "* OK [UNCLOSED text\r\n", "* 3 FETCH (UID 1))\r\n", "a(b OK x\r\n", "* LIST ) x\r\n", "* X a\x01b\r\n",
          "* OK {2}\r\nab\r\n", "* BODY[unclosed x\r\n", "220 mx.example ESMTP\r\n", "+OK POP3\r\n"}) {
        INFO(bad);
        if (std::string_view(bad) == "+OK POP3\r\n") {
            CHECK(grind(bad).status == ImapParseStatus::complete);  // a continuation "OK POP3"
            continue;
        }
        const Outcome o = grind(bad);
        CHECK(o.status == ImapParseStatus::malformed);
        CHECK(o.bad_line == std::string(bad.substr(0, bad.find('\r'))));
    }
    // Readings refuse the wrong shapes.
    ImapResponse r = complete("* 1 FETCH (UID 0)\r\n");
    CHECK_FALSE(parse_fetch(r));
    r = complete("* 1 FETCH (UID)\r\n");
    CHECK_FALSE(parse_fetch(r));
    r = complete("* 1 FETCH UID 5\r\n");
    CHECK_FALSE(parse_fetch(r));
    r = complete("* LIST \\Noselect \"/\" x\r\n");
    CHECK_FALSE(parse_list(r));
    r = complete("* STATUS x (MESSAGES)\r\n");
    CHECK_FALSE(parse_status(r));
    r = complete("* SEARCH 1 x\r\n");
    CHECK_FALSE(parse_search(r));
    r = complete("* VANISHED 1:*\r\n");
    CHECK_FALSE(parse_vanished(r));
}

TEST_CASE("UID sets") {
    CHECK(expand_uid_set("1:3,7,9:8", 10) == std::vector<std::uint32_t>{1, 2, 3, 7, 8, 9});
    CHECK(expand_uid_set("", 10) == std::vector<std::uint32_t>{});
    CHECK(expand_uid_set("1:10", 10));
    CHECK_FALSE(expand_uid_set("1:11", 10));  // one past the bound
    CHECK_FALSE(expand_uid_set("1:*", 10));
    CHECK_FALSE(expand_uid_set("0", 10));
    CHECK_FALSE(expand_uid_set("1,,2", 10));
    CHECK_FALSE(expand_uid_set("4294967296", 10));
    CHECK(parse_uid_ranges("1:4294967295", 1)->front().second == 4294967295u);  // one range, no members made
    CHECK_FALSE(parse_uid_ranges("1,2", 1));
}

TEST_CASE("bounds: each at its limit and one past") {
    ImapLimits limits;
    limits.max_line = 20;
    // "* 1 FETCH (UID 1234)" is 20 octets.
    CHECK(grind("* 1 FETCH (UID 1234)\r\n", limits).status == ImapParseStatus::complete);
    Outcome o = grind("* 1 FETCH (UID 12345)\r\n", limits);
    CHECK(o.status == ImapParseStatus::line_too_long);
    o = grind("* 1 FETCH (UID 123456789012345", limits);  // no line end at all
    CHECK(o.status == ImapParseStatus::line_too_long);
    CHECK(o.taken == 0);

    limits = {};
    limits.max_literal = 4;
    CHECK(grind("* 1 FETCH (BODY[] {4}\r\nabcd)\r\n", limits).status == ImapParseStatus::complete);
    o = grind("* 1 FETCH (BODY[] {5}\r\nabcde)\r\n", limits);
    CHECK(o.status == ImapParseStatus::literal_too_large);
    CHECK(o.literal_octets == 0);  // refused at the marker
    o = grind("* 1 FETCH (BODY[] {99999999999999999999999}\r\n", limits);
    CHECK(o.status == ImapParseStatus::literal_too_large);
    ImapResponseParser p(limits);
    p.feed("* 1 FETCH (BODY[] {5}\r\n");
    CHECK(p.error_message().find("literal of 5 bytes") != std::string::npos);

    limits = {};
    limits.max_literals = 2;
    CHECK(grind("* X {1}\r\na {1}\r\nb\r\n", limits).status == ImapParseStatus::complete);
    CHECK(grind("* X {1}\r\na {1}\r\nb {1}\r\nc\r\n", limits).status == ImapParseStatus::response_too_large);

    limits = {};
    limits.max_response = 30;  // "* X {5}\r\n" 9 + 5 + ")\r\n"...
    CHECK(grind("* X {5}\r\nabcde 1234567890123\r\n", limits).status == ImapParseStatus::complete);  // 30
    CHECK(grind("* X {5}\r\nabcde 12345678901234\r\n", limits).status == ImapParseStatus::response_too_large);

    limits = {};
    limits.max_depth = 3;
    CHECK(grind("* X (((a)))\r\n", limits).status == ImapParseStatus::complete);
    CHECK(grind("* X ((((a))))\r\n", limits).status == ImapParseStatus::response_too_large);

    limits = {};
    limits.max_values = 4;
    CHECK(grind("* X a b (c)\r\n", limits).status == ImapParseStatus::complete);  // a, b, the list, c
    CHECK(grind("* X a b (c d)\r\n", limits).status == ImapParseStatus::response_too_large);
}

TEST_CASE("reset: one parser reads responses one after another") {
    ImapResponseParser p;
    std::string input = "* 2 EXISTS\r\n* 1 FETCH (BODY[] {2}\r\nab)\r\nt1 OK done\r\n";
    std::vector<std::string> keywords;
    while (!input.empty()) {
        const std::size_t n = p.feed(input);
        REQUIRE(p.done());
        REQUIRE(p.status() == ImapParseStatus::complete);
        keywords.push_back(p.response().is_status() ? p.response().status : p.response().keyword);
        input.erase(0, n);
        p.reset();
    }
    CHECK(keywords == std::vector<std::string>{"EXISTS", "FETCH", "OK"});
}
