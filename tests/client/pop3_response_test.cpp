// pop3_response_test.cpp: common/client/pop3_response: status lines and multi-line bodies,
// every vector parsed whole, split at every byte offset and in fixed chunks with the same
// outcome; byte-stuffing undone; the status-line, body-line and body-size bounds at and one
// past; -ERR never taken for +OK and never followed by a body; the listing parsers; CAPA.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/client/pop3_response.h"
#include "tests/client/grind.h"

using namespace hikyaku::client;
using hikyaku::test::feed_in_pieces;
using namespace std::string_literals;

namespace {

struct Outcome {
    Pop3Status status;
    std::string text;
    std::string body;
    std::size_t octets;
    std::size_t lines;
    std::string bad_line;
    std::size_t taken;
    bool operator==(const Outcome&) const = default;
};

Outcome parse(std::string_view input, Pop3Body mode, const std::vector<std::size_t>& cuts, Pop3Limits limits) {
    Pop3ResponseParser p(mode, limits);
    const std::size_t taken = feed_in_pieces(p, input, cuts);
    return {p.status(), p.status_text(), p.body(), p.body_octets(), p.body_lines(), p.bad_line(), taken};
}

Outcome grind(std::string_view input, Pop3Body mode = Pop3Body::keep, Pop3Limits limits = {}) {
    return hikyaku::test::same_every_way(input.size(),
                                         [&](const auto& cuts) { return parse(input, mode, cuts, limits); });
}

}  // namespace

TEST_CASE("status lines") {
    Outcome o = grind("+OK POP3 ready <1.2@x>\r\n", Pop3Body::none);
    CHECK(o.status == Pop3Status::ok);
    CHECK(o.text == "POP3 ready <1.2@x>");
    o = grind("+OK\r\n", Pop3Body::none);
    CHECK(o.status == Pop3Status::ok);
    CHECK(o.text.empty());
    o = grind("-ERR [IN-USE] maildrop locked\n", Pop3Body::none);
    CHECK(o.status == Pop3Status::err);
    CHECK(o.text == "[IN-USE] maildrop locked");
    for (std::string_view bad : {"+OKAY\r\n", "OK\r\n", "220 mx ESMTP\r\n", "* OK IMAP\r\n", "-ER\r\n", "\r\n"}) {
        o = grind(bad, Pop3Body::none);
        CHECK(o.status == Pop3Status::not_pop3);
        CHECK(o.bad_line == bad.substr(0, bad.find('\r')));
    }
}

TEST_CASE("multi-line bodies: un-stuffed, ended by the lone dot, the next response left unread") {
    const std::string input = "+OK 3 lines\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\n+OK next\r\n";
    Outcome o = grind(input);
    CHECK(o.status == Pop3Status::ok);
    CHECK(o.text == "3 lines");
    CHECK(o.body == "Subject: x\r\n\r\n.leading dot\r\n");
    CHECK(o.lines == 3);
    CHECK(o.octets == o.body.size());
    CHECK(o.taken == input.size() - "+OK next\r\n"s.size());
    // Counting only: the same figures, nothing kept.
    const Outcome counted = grind(input, Pop3Body::count);
    CHECK(counted.body.empty());
    CHECK(counted.octets == o.octets);
    CHECK(counted.lines == 3);
    // An empty body, bare LFs, and a line that is only "..".
    o = grind("+OK\r\n.\r\n");
    CHECK(o.status == Pop3Status::ok);
    CHECK(o.body.empty());
    o = grind("+OK\na\n..\n.\n");
    CHECK(o.body == "a\r\n.\r\n");
    // "-ERR" has no body (RFC 1939 3): what follows is the next response.
    o = grind("-ERR no such message\r\n1 2\r\n.\r\n");
    CHECK(o.status == Pop3Status::err);
    CHECK(o.taken == 22);
    CHECK(o.body.empty());
}

TEST_CASE("a body that has not ended is incomplete, however long") {
    const Outcome o = grind("+OK\r\nline\r\n.x\r\n. \r\n");
    CHECK(o.status == Pop3Status::incomplete);
    CHECK(o.lines == 3);
}

TEST_CASE("status line bound: at, and one past") {
    Pop3Limits limits;
    limits.max_status_line = 10;
    const std::string at = "+OK " + std::string(6, 'x');  // 10 octets
    CHECK(grind(at + "\r\n", Pop3Body::none, limits).status == Pop3Status::ok);
    CHECK(grind(at + "y\r\n", Pop3Body::none, limits).status == Pop3Status::line_too_long);
    CHECK(grind(at + "yz", Pop3Body::none, limits).status == Pop3Status::line_too_long);
    CHECK(grind("+OK " + std::string(100000, 'y'), Pop3Body::none).status == Pop3Status::line_too_long);
}

TEST_CASE("body line bound: at, and one past") {
    Pop3Limits limits;
    limits.max_data_line = 8;
    limits.max_status_line = 100;
    CHECK(grind("+OK\r\n" + std::string(8, 'a') + "\r\n.\r\n", Pop3Body::keep, limits).status == Pop3Status::ok);
    CHECK(grind("+OK\r\n" + std::string(9, 'a') + "\r\n.\r\n", Pop3Body::keep, limits).status ==
          Pop3Status::line_too_long);
    // The status line has its own bound, the body lines theirs.
    CHECK(grind("+OK " + std::string(50, 's') + "\r\n.\r\n", Pop3Body::keep, limits).status == Pop3Status::ok);
}

TEST_CASE("body size bound: at, and one past (octets after un-stuffing, CRLFs counted)") {
    Pop3Limits limits;
    limits.max_body = 10;
    Outcome o = grind("+OK\r\nabc\r\n..de\r\n.\r\n", Pop3Body::keep, limits);  // "abc\r\n" + ".de\r\n" = 10
    CHECK(o.status == Pop3Status::ok);
    CHECK(o.octets == 10);
    o = grind("+OK\r\nabc\r\n..def\r\n.\r\n", Pop3Body::keep, limits);
    CHECK(o.status == Pop3Status::body_too_large);
    o = grind("+OK\r\nabc\r\n..def\r\n.\r\n", Pop3Body::count, limits);
    CHECK(o.status == Pop3Status::body_too_large);
}

TEST_CASE("a done parser takes nothing more; reset starts the next response") {
    Pop3ResponseParser p(Pop3Body::none);
    CHECK(p.feed("+OK a\r\n+OK b\r\n") == 7);
    CHECK(p.feed("+OK b\r\n") == 0);
    p.reset(Pop3Body::keep);
    CHECK(p.feed("+OK b\r\nx\r\n.\r\n") == 13);
    CHECK(p.status() == Pop3Status::ok);
    CHECK(p.take_body() == "x\r\n");
}

TEST_CASE("scan listings, UIDL lines and STAT") {
    auto l = parse_scan_line("3 1200");
    REQUIRE(l);
    CHECK(l->number == 3);
    CHECK(l->size == 1200);
    CHECK(parse_scan_line("3 1200 extra"));
    CHECK_FALSE(parse_scan_line("0 10"));
    CHECK_FALSE(parse_scan_line("x 10"));
    CHECK_FALSE(parse_scan_line("3"));
    CHECK_FALSE(parse_scan_line("3 -1"));
    CHECK_FALSE(parse_scan_line("99999999999 1"));
    auto u = parse_uid_line("2 abc.DEF~1");
    REQUIRE(u);
    CHECK(u->number == 2);
    CHECK(u->uid == "abc.DEF~1");
    CHECK_FALSE(parse_uid_line("2 "));
    CHECK_FALSE(parse_uid_line("2 a b"));
    CHECK(parse_uid_line("2 " + std::string(70, 'a')));  // RFC 1939 7: at most 70
    CHECK_FALSE(parse_uid_line("2 " + std::string(71, 'a')));
    auto d = parse_drop_listing("2 320");
    REQUIRE(d);
    CHECK(d->messages == 2);
    CHECK(d->octets == 320);
    CHECK(parse_drop_listing("0 0 maildrop empty"));
    CHECK_FALSE(parse_drop_listing("two 320"));
    CHECK_FALSE(parse_drop_listing("2"));
    CHECK_FALSE(parse_drop_listing(""));
    CHECK(body_lines("a\r\nb\r\n") == std::vector<std::string_view>{"a", "b"});
    CHECK(body_lines("").empty());
}

TEST_CASE("CAPA tags and SASL mechanisms, in any case") {
    const std::vector<std::string_view> caps{"TOP", "uidl", "SASL PLAIN login", "STLS", "IMPLEMENTATION x"};
    CHECK(has_capability(caps, "UIDL"));
    CHECK(has_capability(caps, "stls"));
    CHECK_FALSE(has_capability(caps, "USER"));
    CHECK_FALSE(has_capability(caps, "TO"));
    CHECK(has_sasl_mechanism(caps, "PLAIN"));
    CHECK(has_sasl_mechanism(caps, "LOGIN"));
    CHECK_FALSE(has_sasl_mechanism(caps, "CRAM-MD5"));
    CHECK_FALSE(has_sasl_mechanism({"X-SASL PLAIN"}, "PLAIN"));
}
