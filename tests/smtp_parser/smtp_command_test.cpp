// smtp_command_test.cpp: every SMTP command form, every error kind and its reply code
// (500/501/504/553/555 with enhanced codes), the 512-octet line bound at the limit and one
// past it, NUL/CR/LF, 8-bit, SMTPUTF8, relay tricks in paths.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "smtpd/smtp_command.h"

using namespace hikyaku;
using namespace hikyaku::smtp;
using namespace std::string_literals;

namespace {
Command ok(std::string_view line, ParseContext ctx = {}, CommandLimits limits = {}) {
    auto r = parse_command(line, ctx, limits);
    if (auto* e = std::get_if<CommandError>(&r))
        FAIL_CHECK("unexpected error " << to_string(e->kind) << " (" << e->detail << ") for: " << line);
    REQUIRE(std::holds_alternative<Command>(r));
    return std::get<Command>(r);
}
CommandError err(std::string_view line, ParseContext ctx = {}, CommandLimits limits = {}) {
    auto r = parse_command(line, ctx, limits);
    REQUIRE_MESSAGE(std::holds_alternative<CommandError>(r), "accepted: " << line);
    return std::get<CommandError>(r);
}
std::string reply_of(std::string_view line, ParseContext ctx = {}) { return format_reply(to_reply(err(line, ctx))); }
std::string code_of(std::string_view line, ParseContext ctx = {}) {
    return reply_of(line, ctx).substr(0, 9);  // "501 5.5.4"
}
}  // namespace

TEST_CASE("simple verbs, any case, trailing spaces tolerated") {
    const std::pair<const char*, Verb> cases[] = {
        {"DATA", Verb::data}, {"data", Verb::data},   {"RSET", Verb::rset},
        {"QUIT", Verb::quit}, {"quit  ", Verb::quit}, {"StartTLS", Verb::starttls},
        {"NOOP", Verb::noop}, {"HELP", Verb::help},   {"Rset\t", Verb::rset},
    };
    for (auto [line, verb] : cases) {
        CAPTURE(line);
        auto c = ok(line);
        CHECK(c.verb == verb);
        CHECK(std::holds_alternative<std::monostate>(c.args));
        CHECK(c.argument.empty());
    }
    CHECK(std::string(verb_name(Verb::starttls)) == "STARTTLS");
}

TEST_CASE("commands that take no arguments refuse them") {
    for (auto line : {"DATA x", "RSET now", "QUIT bye", "STARTTLS x"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::syntax_error);
        CHECK(code_of(line) == "501 5.5.4");
    }
}

TEST_CASE("NOOP, HELP, VRFY, EXPN arguments") {
    CHECK(ok("NOOP hello there").argument == "hello there");
    CHECK(ok("HELP mail").argument == "mail");
    auto v = ok("VRFY  alice ");
    CHECK(v.verb == Verb::vrfy);
    CHECK(v.argument == "alice");
    CHECK(ok("expn staff").verb == Verb::expn);
    CHECK(err("VRFY").kind == CommandErrorKind::syntax_error);
    CHECK(err("EXPN ").kind == CommandErrorKind::syntax_error);
}

TEST_CASE("unknown commands: 500 5.5.1") {
    for (auto line : {"", "FOO", "MAILFROM:<a@b.c>", "HELOX a", " HELO a", "DATA\x01", "\xc3\xa4"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::unknown_command);
        CHECK_FALSE(e.verb.has_value());
        CHECK(reply_of(line) == "500 5.5.1 Command unrecognized\r\n");
    }
}

TEST_CASE("NUL, CR and LF inside a line: 500 5.5.2") {
    for (auto line : {"NOOP a\0b"s, "NOOP a\rb"s, "NOOP a\nb"s, "QUIT\r"s, "\0"s}) {
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::invalid_character);
        CHECK(code_of(line) == "500 5.5.2");
    }
    // The verb is reported when known, for the session's error counting and logs.
    CHECK(err("MAIL FROM:<a\0@b.c>"s).verb == Verb::mail);
}

TEST_CASE("line length: 512 octets including CRLF, at the limit and one past it") {
    const std::string at_limit = "NOOP " + std::string(kMaxCommandLineLength - 2 - 5, 'x');
    REQUIRE(at_limit.size() + 2 == 512);
    CHECK(ok(at_limit).verb == Verb::noop);
    const auto e = err(at_limit + "x");
    CHECK(e.kind == CommandErrorKind::line_too_long);
    CHECK(reply_of(at_limit + "x") == "500 5.5.2 Line too long\r\n");
    // Unknown and over-long: the length is reported first.
    CHECK(err(std::string(600, 'Z')).kind == CommandErrorKind::line_too_long);
    // Configurable.
    CommandLimits small;
    small.max_line_length = 10;
    CHECK(ok("NOOP 123", {}, small).argument == "123");
    CHECK(err("NOOP 1234", {}, small).kind == CommandErrorKind::line_too_long);
    // Trailing spaces count towards the limit: they were sent.
    CHECK(err("NOOP 123 ", {}, small).kind == CommandErrorKind::line_too_long);
}

TEST_CASE("AUTH lines may be 12288 octets (RFC 4954 4)") {
    const std::string ir(kMaxAuthLineLength - 2 - 11, 'A');
    const std::string line = "AUTH PLAIN " + ir;
    REQUIRE(line.size() + 2 == kMaxAuthLineLength);
    CHECK(ok(line).auth()->initial_response->size() == ir.size());
    CHECK(err(line + "A").kind == CommandErrorKind::line_too_long);
}

TEST_CASE("HELO and EHLO") {
    auto e = ok("EHLO client.example.org");
    CHECK(e.verb == Verb::ehlo);
    REQUIRE(e.helo());
    CHECK(e.helo()->domain == "client.example.org");
    CHECK_FALSE(e.helo()->address_literal);
    CHECK(ok("helo localhost").verb == Verb::helo);
    auto lit = ok("EHLO [192.0.2.7]");
    CHECK(lit.helo()->address_literal);
    CHECK(lit.helo()->domain == "[192.0.2.7]");
    CHECK(ok("EHLO [IPv6:::1]").helo()->address_literal);
    // Tolerated: underscores (Windows host names) and one trailing dot.
    CHECK(ok("EHLO my_pc.lan").helo()->domain == "my_pc.lan");
    CHECK(ok("EHLO mx.example.").helo()->domain == "mx.example.");
    CHECK(ok("EHLO b\xc3\xbc"
             "cher.example")
              .verb == Verb::ehlo);
    for (auto line : {"EHLO", "HELO ", "EHLO a b", "EHLO [300.1.1.1]", "EHLO a..b", "EHLO <x>", "EHLO -a.example",
                      "EHLO a\xff", "EHLO ."}) {
        CAPTURE(line);
        auto x = err(line);
        CHECK(x.kind == CommandErrorKind::syntax_error);
        CHECK(code_of(line) == "501 5.5.4");
    }
}

TEST_CASE("MAIL FROM: paths, null path, tolerance") {
    auto m = ok("MAIL FROM:<alice@example.org>");
    REQUIRE(m.mail());
    CHECK(m.mail()->reverse_path.mailbox->canonical() == "alice@example.org");
    CHECK_FALSE(m.mail()->size);
    CHECK_FALSE(m.mail()->body);
    CHECK_FALSE(m.mail()->smtputf8);
    CHECK(ok("MAIL FROM:<>").mail()->reverse_path.is_null());
    CHECK(ok("mail from:<A@Example.ORG>").mail()->reverse_path.mailbox->canonical() == "A@example.org");
    CHECK(ok("MAIL FROM: <a@b.c>").mail()->reverse_path.mailbox->domain == "b.c");  // Postfix-like
    CHECK(ok("MAIL  FROM:<a@b.c>").verb == Verb::mail);
    CHECK(ok("MAIL FROM:<a@b.c>  ").verb == Verb::mail);
    auto sr = ok("MAIL FROM:<@relay.example:a@b.c>");
    CHECK(sr.mail()->reverse_path.had_source_route);
    CHECK(sr.mail()->reverse_path.mailbox->canonical() == "a@b.c");
}

TEST_CASE("MAIL FROM: syntax errors") {
    for (auto line : {"MAIL", "MAIL FROM", "MAIL FROM:", "MAIL TO:<a@b.c>", "MAIL FROM:a@b.c", "MAIL FROM <a@b.c>",
                      "MAIL FROM:<a@b.c>SIZE=1"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
        CHECK(code_of(line) == "501 5.5.4");
    }
    for (auto line : {"MAIL FROM:<a@b.c.>", "MAIL FROM:<a..b@c.d>", "MAIL FROM:<a@b.c", "MAIL FROM:<a@[1.2.3]>",
                      "MAIL FROM:<\"a@b.c>"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::bad_sender_address);
        CHECK(code_of(line) == "501 5.1.7");
    }
}

TEST_CASE("MAIL parameters: SIZE, BODY, SMTPUTF8, AUTH") {
    auto m = ok("MAIL FROM:<a@b.c> SIZE=12345 BODY=8BITMIME");
    CHECK(*m.mail()->size == 12345);
    CHECK(*m.mail()->body == BodyType::eight_bit_mime);
    CHECK(*ok("MAIL FROM:<a@b.c> body=7bit").mail()->body == BodyType::seven_bit);
    CHECK(*ok("MAIL FROM:<a@b.c> BODY=BINARYMIME").mail()->body == BodyType::binary_mime);
    CHECK(ok("MAIL FROM:<a@b.c> smtputf8").mail()->smtputf8);
    CHECK(*ok("MAIL FROM:<a@b.c> SIZE=0").mail()->size == 0);
    // 20 digits is the RFC 1870 maximum; beyond uint64 it saturates (policy says 552).
    CHECK(*ok("MAIL FROM:<a@b.c> SIZE=99999999999999999999").mail()->size == std::numeric_limits<std::uint64_t>::max());
    CHECK(*ok("MAIL FROM:<a@b.c> SIZE=18446744073709551615").mail()->size == std::numeric_limits<std::uint64_t>::max());
    CHECK(*ok("MAIL FROM:<a@b.c> SIZE=18446744073709551614").mail()->size ==
          std::numeric_limits<std::uint64_t>::max() - 1);
    CHECK(*ok("MAIL FROM:<a@b.c> AUTH=<>").mail()->auth == "<>");
    CHECK(*ok("MAIL FROM:<a@b.c> AUTH=e+3Dmc2@example.com").mail()->auth == "e=mc2@example.com");
    CHECK(ok("MAIL FROM:<a@b.c>   SIZE=1    BODY=7BIT").verb == Verb::mail);

    for (auto line : {"MAIL FROM:<a@b.c> SIZE=", "MAIL FROM:<a@b.c> SIZE=abc", "MAIL FROM:<a@b.c> SIZE=-1",
                      "MAIL FROM:<a@b.c> SIZE=+1", "MAIL FROM:<a@b.c> SIZE=100000000000000000000",
                      "MAIL FROM:<a@b.c> SIZE", "MAIL FROM:<a@b.c> BODY=9BIT", "MAIL FROM:<a@b.c> BODY",
                      "MAIL FROM:<a@b.c> SMTPUTF8=yes", "MAIL FROM:<a@b.c> AUTH=+4", "MAIL FROM:<a@b.c> AUTH=+zz",
                      "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", "MAIL FROM:<a@b.c> =x", "MAIL FROM:<a@b.c> AUTH"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::bad_parameter_value);
        CHECK(code_of(line) == "501 5.5.4");
    }
    for (auto line : {"MAIL FROM:<a@b.c> RET=FULL", "MAIL FROM:<a@b.c> ENVID=x", "MAIL FROM:<a@b.c> X-FOO",
                      "MAIL FROM:<a@b.c> SIZE=1 HOLDFOR=3"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::unrecognized_parameter);
        CHECK(code_of(line) == "555 5.5.4");
    }
}

TEST_CASE("SMTPUTF8: UTF-8 paths need the parameter (553 5.6.7)") {
    const std::string utf8_from =
        "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
        "cher.example>";
    CHECK(err(utf8_from).kind == CommandErrorKind::non_ascii_address);
    CHECK(code_of(utf8_from) == "553 5.6.7");
    auto m = ok(utf8_from + " SMTPUTF8");
    CHECK(m.mail()->smtputf8);
    CHECK(m.mail()->reverse_path.mailbox->non_ascii);
    CHECK(err("MAIL FROM:<a\xff@b.c> SMTPUTF8").kind == CommandErrorKind::bad_sender_address);
    CHECK(err("MAIL FROM:<a@b.c> AUTH=j\xc3\xb6rg@x.y").kind == CommandErrorKind::non_ascii_address);
    CHECK(*ok("MAIL FROM:<a@b.c> AUTH=j\xc3\xb6rg@x.y SMTPUTF8").mail()->auth == "j\xc3\xb6rg@x.y");
    // An unknown parameter is refused as such, whatever its value.
    CHECK(err("MAIL FROM:<a@b.c> X=\xc3\xa4").kind == CommandErrorKind::unrecognized_parameter);

    const std::string utf8_to = "RCPT TO:<\xe7\x94\xb0\xe4\xb8\xad@example.jp>";
    CHECK(err(utf8_to).kind == CommandErrorKind::non_ascii_address);
    CHECK(code_of(utf8_to) == "553 5.6.7");
    ParseContext ctx;
    ctx.smtputf8 = true;
    CHECK(ok(utf8_to, ctx).rcpt()->forward_path.mailbox->non_ascii);
}

TEST_CASE("RCPT TO: paths, Postmaster, parameters") {
    auto r = ok("RCPT TO:<bob@example.org>");
    REQUIRE(r.rcpt());
    CHECK(r.rcpt()->forward_path.mailbox->canonical() == "bob@example.org");
    CHECK(ok("rcpt to: <bob@example.org>").verb == Verb::rcpt);
    CHECK(ok("RCPT TO:<Postmaster>").rcpt()->forward_path.mailbox->is_bare_postmaster());
    auto e = err("RCPT TO:<>");
    CHECK(e.kind == CommandErrorKind::bad_recipient_address);
    CHECK(code_of("RCPT TO:<>") == "501 5.1.3");
    for (auto line : {"RCPT", "RCPT TO", "RCPT FROM:<a@b.c>", "RCPT TO:a@b.c", "RCPT TO:<a@b.c>x"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
    }
    CHECK(code_of("RCPT TO:<a@b.c> NOTIFY=NEVER") == "555 5.5.4");
    CHECK(code_of("RCPT TO:<a@b.c> ORCPT=rfc822;a@b.c") == "555 5.5.4");
    CHECK(code_of("RCPT TO:<a@b.c> =") == "501 5.5.4");
}

TEST_CASE("relay tricks parse into what they literally are") {
    // The percent hack, a quoted '@', an IP literal and a source route: the domain the
    // session checks is the real one, never the one hidden in the local part.
    CHECK(ok("RCPT TO:<victim%remote.example@local.example>").rcpt()->forward_path.mailbox->domain == "local.example");
    auto q = ok("RCPT TO:<\"victim@remote.example\"@local.example>");
    CHECK(q.rcpt()->forward_path.mailbox->domain == "local.example");
    CHECK(q.rcpt()->forward_path.mailbox->local_part == "victim@remote.example");
    auto sr = ok("RCPT TO:<@local.example:victim@remote.example>");
    CHECK(sr.rcpt()->forward_path.mailbox->domain == "remote.example");
    CHECK(sr.rcpt()->forward_path.had_source_route);
    CHECK(ok("RCPT TO:<victim@[192.0.2.1]>").rcpt()->forward_path.mailbox->domain_kind ==
          text::DomainKind::ipv4_literal);
    CHECK(err("RCPT TO:<victim@remote.example.>").kind == CommandErrorKind::bad_recipient_address);
    CHECK(err("RCPT TO:<victim@remote.example>@local.example>").kind == CommandErrorKind::syntax_error);
}

TEST_CASE("path length limits through the command parser") {
    const std::string l64(64, 'l'), l65(65, 'l');
    CHECK(ok("RCPT TO:<" + l64 + "@x.example>").verb == Verb::rcpt);
    CHECK(code_of("RCPT TO:<" + l65 + "@x.example>") == "501 5.1.3");
    std::string d189 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
    CHECK(ok("RCPT TO:<" + l64 + "@" + d189 + ">").verb == Verb::rcpt);  // path of 256
    const std::string too_long = "RCPT TO:<" + l64 + "@" + d189 + "c>";
    CHECK(err(too_long).kind == CommandErrorKind::path_too_long);
    CHECK(reply_of(too_long) == "501 5.1.3 Path too long\r\n");
    CHECK(code_of("MAIL FROM:<" + l64 + "@" + d189 + "c>") == "501 5.1.7");
}

TEST_CASE("BDAT") {
    auto b = ok("BDAT 1000");
    REQUIRE(b.bdat());
    CHECK(b.bdat()->size == 1000);
    CHECK_FALSE(b.bdat()->last);
    auto l = ok("bdat 0 last");
    CHECK(l.bdat()->size == 0);
    CHECK(l.bdat()->last);
    CHECK(ok("BDAT 5  LAST ").bdat()->last);
    CHECK(ok("BDAT 99999999999999999999999").bdat()->size == std::numeric_limits<std::uint64_t>::max());
    for (auto line : {"BDAT", "BDAT x", "BDAT -1", "BDAT 10 FIRST", "BDAT 10 LAST x", "BDAT LAST"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::syntax_error);
        CHECK(e.verb == Verb::bdat);
    }
}

TEST_CASE("AUTH") {
    auto a = ok("AUTH PLAIN");
    REQUIRE(a.auth());
    CHECK(a.auth()->mechanism == sasl::Mechanism::plain);
    CHECK_FALSE(a.auth()->initial_response);
    auto b = ok("auth login dXNlcg==");
    CHECK(b.auth()->mechanism == sasl::Mechanism::login);
    CHECK(*b.auth()->initial_response == "dXNlcg==");
    CHECK(*ok("AUTH PLAIN =").auth()->initial_response == "=");
    CHECK(err("AUTH CRAM-MD5").kind == CommandErrorKind::unrecognized_mechanism);
    CHECK(reply_of("AUTH GSSAPI") == "504 5.5.4 Unrecognized authentication type\r\n");
    for (auto line : {"AUTH", "AUTH PL@IN", "AUTH PLAIN a b", "AUTH ABCDEFGHIJKLMNOPQRSTU"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax_error);
    }
}

TEST_CASE("every error kind maps to its reply") {
    const std::pair<CommandErrorKind, const char*> table[] = {
        {CommandErrorKind::unknown_command, "500 5.5.1"},
        {CommandErrorKind::line_too_long, "500 5.5.2"},
        {CommandErrorKind::invalid_character, "500 5.5.2"},
        {CommandErrorKind::syntax_error, "501 5.5.4"},
        {CommandErrorKind::bad_sender_address, "501 5.1.7"},
        {CommandErrorKind::bad_recipient_address, "501 5.1.3"},
        {CommandErrorKind::path_too_long, "501 5.1.3"},
        {CommandErrorKind::non_ascii_address, "553 5.6.7"},
        {CommandErrorKind::bad_parameter_value, "501 5.5.4"},
        {CommandErrorKind::unrecognized_parameter, "555 5.5.4"},
        {CommandErrorKind::unrecognized_mechanism, "504 5.5.4"},
    };
    for (auto [kind, prefix] : table) {
        CAPTURE(to_string(kind));
        const auto text = format_reply(to_reply(CommandError{kind, std::nullopt, ""}));
        CHECK(text.substr(0, 9) == prefix);
        CHECK(text.size() > 12);  // a default text is always there
    }
}
