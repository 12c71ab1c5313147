// smtp_reply_test.cpp: common/client/smtp_reply: every vector parsed whole, split at every
// byte offset and in fixed chunks with the same outcome; the line and line-count bounds at
// and one past; what a broken or hostile server sends (garbage, other protocols, mixed
// codes, a reply that never ends); EHLO keywords.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/client/smtp_reply.h"
#include "tests/client/grind.h"

using namespace hikyaku::client;
using hikyaku::test::feed_in_pieces;
using namespace std::string_literals;

namespace {

struct Outcome {
    SmtpReplyStatus status;
    int code;
    std::vector<std::string> lines;
    std::string bad_line;
    std::size_t taken;
    bool operator==(const Outcome&) const = default;
};

Outcome parse(std::string_view input, const std::vector<std::size_t>& cuts, SmtpReplyLimits limits = {}) {
    SmtpReplyParser p(limits);
    const std::size_t taken = feed_in_pieces(p, input, cuts);
    return {p.status(), p.reply().code, p.reply().lines, p.bad_line(), taken};
}

// Parses `input` every way and requires one outcome; returns it.
Outcome grind(std::string_view input, SmtpReplyLimits limits = {}) {
    return hikyaku::test::same_every_way(input.size(), [&](const auto& cuts) { return parse(input, cuts, limits); });
}

}  // namespace

TEST_CASE("one-line and multi-line replies, CRLF and bare LF") {
    Outcome o = grind("220 mx.example ESMTP ready\r\n");
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.code == 220);
    CHECK(o.lines == std::vector<std::string>{"mx.example ESMTP ready"});
    CHECK(o.taken == 28);

    o = grind("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.lines == std::vector<std::string>{"mx.example", "PIPELINING", "SIZE 1000", "8BITMIME"});

    o = grind("250\r\n");  // RFC 5321 4.2: the text is optional
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.lines == std::vector<std::string>{""});

    o = grind("354 go\n");  // a bare LF from a lenient server
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.lines == std::vector<std::string>{"go"});
}

TEST_CASE("a reply ends at its last line: the next reply's bytes stay unread") {
    const Outcome o = grind("250 ok\r\n221 bye\r\n");
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.code == 250);
    CHECK(o.taken == 8);
}

TEST_CASE("incomplete input asks for more") {
    for (std::string_view partial : {"", "2", "250", "250-a\r\n", "250-a\r\n250 b", "250 b\r"}) {
        const Outcome o = grind(partial);
        CHECK(o.status == SmtpReplyStatus::incomplete);
    }
    CHECK(grind("250-a\r\n250 b").taken == 7);
}

TEST_CASE("what is not an SMTP reply") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"+OK POP3 ready\r\n", "+OK POP3 ready"},
        {"* OK IMAP4rev2 ready\r\n", "* OK IMAP4rev2 ready"},
        {"25\r\n", "25"},
        {"250x\r\n", "250x"},
        {"650 six\r\n", "650 six"},  // first digit 2..5
        {"260 six\r\n", "260 six"},  // second digit 0..5
        {"25a ok\r\n", "25a ok"},
        {"\r\n", ""},
        {"\x16\x03\x01\x00\x05hello\n"s, "\x16\x03\x01\x00\x05hello"s},
    };
    for (const auto& [input, line] : bad) {
        const Outcome o = grind(input);
        CHECK(o.status == SmtpReplyStatus::not_a_reply);
        CHECK(o.bad_line == line);
    }
    // The shown part of a bad line is bounded.
    const Outcome o = grind("x" + std::string(500, 'y') + "\r\n");
    CHECK(o.bad_line.size() == 80);
}

TEST_CASE("every line of a reply has the same code (RFC 5321 4.2.1)") {
    const Outcome o = grind("250-a\r\n251 b\r\n");
    CHECK(o.status == SmtpReplyStatus::mixed_codes);
    CHECK(o.bad_line == "251 b");
    CHECK(o.taken == 14);
}

TEST_CASE("line bound: at the bound, and one past") {
    SmtpReplyLimits limits;
    limits.max_line = 20;
    const std::string at = "250 " + std::string(16, 'a');  // 20 octets before CRLF
    Outcome o = grind(at + "\r\n", limits);
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.lines.front().size() == 16);
    o = grind(at + "\n", limits);
    CHECK(o.status == SmtpReplyStatus::complete);
    o = grind(at + "b\r\n", limits);
    CHECK(o.status == SmtpReplyStatus::line_too_long);
    // With no line end at all: known as soon as more than the bound and a CR have arrived.
    o = grind(at + "\r", limits);
    CHECK(o.status == SmtpReplyStatus::incomplete);
    o = grind(at + "bc", limits);
    CHECK(o.status == SmtpReplyStatus::line_too_long);
    o = grind("220-" + std::string(200000, 'x'));  // default limit, a hostile server
    CHECK(o.status == SmtpReplyStatus::line_too_long);
}

TEST_CASE("line-count bound: at the bound, and one past") {
    SmtpReplyLimits limits;
    limits.max_lines = 5;
    std::string at;
    for (int i = 0; i < 4; ++i) at += "250-x\r\n";
    Outcome o = grind(at + "250 x\r\n", limits);
    CHECK(o.status == SmtpReplyStatus::complete);
    CHECK(o.lines.size() == 5);
    o = grind(at + "250-x\r\n250 x\r\n", limits);
    CHECK(o.status == SmtpReplyStatus::too_many_lines);
    std::string endless;
    for (int i = 0; i < 5000; ++i) endless += "220-x\r\n";
    o = grind(endless);
    CHECK(o.status == SmtpReplyStatus::too_many_lines);
    CHECK(o.lines.size() == SmtpReplyLimits{}.max_lines);
}

TEST_CASE("a done parser takes nothing more; reset starts the next reply") {
    SmtpReplyParser p;
    CHECK(p.feed("250 a\r\n354 b\r\n") == 7);
    CHECK(p.feed("354 b\r\n") == 0);
    CHECK(p.reply().code == 250);
    p.reset();
    CHECK(p.feed("354 b\r\n") == 7);
    CHECK(p.reply().code == 354);
    CHECK(p.reply().text() == "b");
}

TEST_CASE("error messages say what was wrong") {
    SmtpReplyParser p;
    (void)p.feed("+OK hi\r\n");
    CHECK(p.error_message() == "not an SMTP reply: \"+OK hi\"");
    SmtpReplyLimits limits;
    limits.max_line = 8;
    SmtpReplyParser q(limits);
    (void)q.feed("250 123456789\r\n");
    CHECK(q.error_message() == "the server sent a line longer than 8 bytes");
}

TEST_CASE("EHLO extensions") {
    SmtpReply r;
    r.code = 250;
    r.lines = {"mx.example greets you", "PIPELINING", "SIZE 1000", "8bitmime",
               "AUTH LOGIN PLAIN",      "STARTTLS",   "SMTPUTF8"};
    SmtpExtensions e = parse_ehlo(r);
    CHECK(e.pipelining);
    CHECK(e.size);
    CHECK(e.size_limit == 1000);
    CHECK(e.eight_bit_mime);
    CHECK(e.auth_plain);
    CHECK(e.auth_login);
    CHECK(e.starttls);
    CHECK(e.smtputf8);
    r.lines = {"mx", "AUTH=LOGIN", "SIZE"};
    e = parse_ehlo(r);
    CHECK(e.auth_login);
    CHECK_FALSE(e.auth_plain);
    CHECK(e.size);
    CHECK(e.size_limit == 0);
    CHECK_FALSE(e.starttls);
    r.lines = {"mx", "SIZE 99999999999999999999999", "SIZE x1"};  // unusable values: no limit
    CHECK(parse_ehlo(r).size_limit == 0);
    r.lines = {"mx", "auth  plain"};
    CHECK(parse_ehlo(r).auth_plain);
    // The greeting line is not an extension.
    r.lines = {"STARTTLS"};
    CHECK_FALSE(parse_ehlo(r).starttls);
}
