// pop3_command_test.cpp: every POP3 command form, every error kind, message numbers (no sign,
// no "+", 0 and huge values out of range without overflow), the 255-octet line and 40-octet
// argument bounds at the limit and one past, NUL/CR/LF, PASS with spaces.
#include <doctest/doctest.h>

#include <string>

#include "pop3d/pop3_command.h"

using namespace hikyaku;
using namespace hikyaku::pop3;
using namespace std::string_literals;

namespace {
Command ok(std::string_view line, CommandLimits limits = {}) {
    auto r = parse_command(line, limits);
    if (auto* e = std::get_if<CommandError>(&r))
        FAIL_CHECK("unexpected error " << to_string(e->kind) << " for: " << line);
    REQUIRE(std::holds_alternative<Command>(r));
    return std::get<Command>(r);
}
CommandError err(std::string_view line, CommandLimits limits = {}) {
    auto r = parse_command(line, limits);
    REQUIRE_MESSAGE(std::holds_alternative<CommandError>(r), "accepted: " << line);
    return std::get<CommandError>(r);
}
}  // namespace

TEST_CASE("argument-less commands in any case") {
    const std::pair<const char*, Verb> cases[] = {
        {"STAT", Verb::stat}, {"stat", Verb::stat},  {"NOOP", Verb::noop}, {"RSET", Verb::rset},
        {"QUIT", Verb::quit}, {"quit ", Verb::quit}, {"Capa", Verb::capa}, {"STLS", Verb::stls},
        {"LIST", Verb::list}, {"UIDL", Verb::uidl},  {"AUTH", Verb::auth}, {"QUIT\t", Verb::quit},
    };
    for (auto [line, verb] : cases) {
        CAPTURE(line);
        auto c = ok(line);
        CHECK(c.verb == verb);
        CHECK_FALSE(c.message.has_value());
        CHECK(c.argument.empty());
    }
    for (auto line : {"STAT 1", "NOOP x", "RSET 1", "QUIT now", "CAPA x", "STLS x"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
    }
    CHECK(std::string(verb_name(Verb::top)) == "TOP");
}

TEST_CASE("USER and PASS") {
    CHECK(ok("USER alice").argument == "alice");
    CHECK(ok("user alice@example.org").argument == "alice@example.org");
    CHECK(err("USER").kind == CommandErrorKind::syntax_error);
    CHECK(err("USER a b").kind == CommandErrorKind::syntax_error);
    auto p = ok("PASS correct horse battery staple ");
    CHECK(p.verb == Verb::pass);
    CHECK(p.argument == "correct horse battery staple ");  // verbatim, trailing space kept
    CHECK(ok("pass x").argument == "x");
    CHECK(err("PASS").kind == CommandErrorKind::syntax_error);
    CHECK(err("PASS ").kind == CommandErrorKind::syntax_error);
    // PASS is exempt from the 40-octet argument bound, not from the line bound.
    const std::string long_password(100, 'p');
    CHECK(ok("PASS " + long_password).argument == long_password);
    const std::string at_line_limit(kMaxCommandLineLength - 2 - 5, 'p');
    CHECK(ok("PASS " + at_line_limit).argument.size() == at_line_limit.size());
    CHECK(err("PASS " + at_line_limit + "p").kind == CommandErrorKind::line_too_long);
}

TEST_CASE("message numbers: LIST, UIDL, RETR, DELE, TOP") {
    CHECK(*ok("LIST 1").message == 1);
    CHECK(*ok("UIDL 42").message == 42);
    CHECK(*ok("RETR 7").message == 7);
    CHECK(*ok("dele 3").message == 3);
    CHECK(*ok("RETR 007").message == 7);
    CHECK(*ok("RETR 4294967295").message == 4294967295u);
    auto t = ok("TOP 2 10");
    CHECK(*t.message == 2);
    CHECK(t.lines == 10);
    CHECK(ok("TOP 1 0").lines == 0);
    CHECK(ok("TOP 1 4294967295").lines == 4294967295u);
    CHECK(*ok("RETR  5 ").message == 5);  // extra spaces tolerated

    for (auto line : {"RETR -1", "RETR +1", "RETR 1a", "RETR a", "RETR 0x10", "RETR 1.0", "TOP 1 -1", "TOP x 1",
                      "LIST -0", "DELE \xd9\xa3"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
    }
    for (auto line : {"RETR 0", "LIST 0", "UIDL 0", "DELE 0", "TOP 0 1", "RETR 4294967296",
                      "RETR 99999999999999999999999999999999999999", "TOP 1 4294967296", "LIST 18446744073709551617"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::out_of_range);
    }
    for (auto line : {"RETR", "DELE", "RETR 1 2", "TOP 1", "TOP", "TOP 1 2 3", "LIST 1 2", "UIDL 1 2"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
    }
}

TEST_CASE("arguments: 40 octets at the limit and one past it") {
    const std::string a40(40, 'u'), a41(41, 'u');
    CHECK(ok("USER " + a40).argument == a40);
    auto e = err("USER " + a41);
    CHECK(e.kind == CommandErrorKind::argument_too_long);
    CHECK(e.verb == Verb::user);
    // A 41-digit number is too long before it is out of range.
    CHECK(err("RETR " + std::string(41, '1')).kind == CommandErrorKind::argument_too_long);
    CHECK(err("RETR " + std::string(40, '1')).kind == CommandErrorKind::out_of_range);
    CHECK(err("APOP " + a41 + " d").kind == CommandErrorKind::argument_too_long);
    CommandLimits small;
    small.max_argument_length = 3;
    CHECK(ok("USER abc", small).argument == "abc");
    CHECK(err("USER abcd", small).kind == CommandErrorKind::argument_too_long);
}

TEST_CASE("line: 255 octets including CRLF at the limit and one past it") {
    const std::string line = "NOOP" + std::string(kMaxCommandLineLength - 2 - 4, ' ');
    REQUIRE(line.size() + 2 == 255);
    CHECK(ok(line).verb == Verb::noop);
    CHECK(err(line + " ").kind == CommandErrorKind::line_too_long);
    CHECK(err(std::string(1000, 'X')).kind == CommandErrorKind::line_too_long);
    CommandLimits small;
    small.max_line_length = 6;
    CHECK(ok("STAT", small).verb == Verb::stat);
    CHECK(err("STAT ", small).kind == CommandErrorKind::line_too_long);
}

TEST_CASE("unknown commands and invalid characters") {
    for (auto line : {"", "FOO", "RETRX 1", " RETR 1", "HELO x", "\xc3\xa4", "STAT\x01"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::unknown_command);
    }
    for (auto line : {"USER a\0b"s, "PASS a\rb"s, "STAT\n"s, "\0"s, "RETR 1\r"s}) {
        CHECK(err(line).kind == CommandErrorKind::invalid_character);
    }
}

TEST_CASE("AUTH and APOP") {
    auto a = ok("AUTH PLAIN");
    CHECK(a.mechanism == sasl::Mechanism::plain);
    CHECK_FALSE(a.initial_response);
    auto b = ok("auth plain " + std::string(100, 'A'));  // the initial response is exempt from 40
    CHECK(b.initial_response->size() == 100);
    CHECK(ok("AUTH LOGIN").mechanism == sasl::Mechanism::login);
    CHECK(*ok("AUTH PLAIN =").initial_response == "=");
    CHECK_FALSE(ok("AUTH").mechanism.has_value());
    CHECK(err("AUTH CRAM-MD5").kind == CommandErrorKind::unsupported_mechanism);
    CHECK(err("AUTH PLAIN a b").kind == CommandErrorKind::syntax_error);
    CHECK(err("AUTH PL/AIN").kind == CommandErrorKind::syntax_error);
    auto p = ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
    CHECK(p.verb == Verb::apop);
    CHECK(p.argument == "mrose");
    CHECK(p.digest == "c4c9334bac560ecc979e58001b3e22fb");
    CHECK(err("APOP mrose").kind == CommandErrorKind::syntax_error);
}

TEST_CASE("every error kind maps to a -ERR reply") {
    for (auto kind : {CommandErrorKind::unknown_command, CommandErrorKind::syntax_error, CommandErrorKind::out_of_range,
                      CommandErrorKind::line_too_long, CommandErrorKind::argument_too_long,
                      CommandErrorKind::invalid_character, CommandErrorKind::unsupported_mechanism}) {
        CAPTURE(to_string(kind));
        const auto r = to_reply(CommandError{kind, std::nullopt, ""});
        CHECK_FALSE(r.ok);
        CHECK_FALSE(r.text.empty());
        CHECK(format_reply(r).substr(0, 5) == "-ERR ");
    }
    CHECK(format_reply(to_reply(err("RETR 0"))) == "-ERR Number out of range\r\n");
    CHECK(format_reply(to_reply(err("FOO"))) == "-ERR Unknown command\r\n");
}
