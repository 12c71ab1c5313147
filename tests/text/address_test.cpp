// address_test.cpp: RFC 5321 4.1.2 paths: null path, dot-atoms, quoted local parts, source
// routes (dropped), address literals, trailing dots, SMTPUTF8 (RFC 6531), length limits at the
// bound and one past it (4.5.3.1), canonical form, ESMTP parameters.
#include <doctest/doctest.h>

#include <string>

#include "common/text/address.h"

using namespace hikyaku::text;
using namespace std::string_literals;

namespace {
PathOptions reverse() {
    PathOptions o;
    o.allow_null = true;
    return o;
}
PathOptions forward(bool utf8 = false) {
    PathOptions o;
    o.allow_bare_postmaster = true;
    o.smtputf8 = utf8;
    return o;
}
ParsedPath ok(std::string_view in, const PathOptions& o = forward()) {
    auto r = parse_path(in, o);
    if (auto* e = std::get_if<PathError>(&r)) FAIL_CHECK("unexpected error: " << to_string(*e) << " for " << in);
    REQUIRE(std::holds_alternative<ParsedPath>(r));
    return std::get<ParsedPath>(r);
}
PathError err(std::string_view in, const PathOptions& o = forward()) {
    auto r = parse_path(in, o);
    REQUIRE_MESSAGE(std::holds_alternative<PathError>(r), "accepted: " << in);
    return std::get<PathError>(r);
}
}  // namespace

TEST_CASE("null reverse-path") {
    auto p = ok("<>", reverse());
    CHECK(p.path.is_null());
    CHECK(p.consumed == 2);
    CHECK(err("<>", forward()) == PathError::null_not_allowed);
    CHECK(ok("<> SIZE=10", reverse()).consumed == 2);
}

TEST_CASE("plain mailbox, consumed length, case kept in local part") {
    auto p = ok("<John.Doe@Example.COM> SIZE=1");
    REQUIRE(p.path.mailbox);
    CHECK(p.consumed == 22);
    CHECK(p.path.mailbox->local_part == "John.Doe");
    CHECK(p.path.mailbox->domain == "Example.COM");
    CHECK(p.path.mailbox->canonical() == "John.Doe@example.com");
    CHECK_FALSE(p.path.mailbox->local_part_quoted);
    CHECK_FALSE(p.path.had_source_route);
    CHECK(ok("<a!#$%&'*+-/=?^_`{|}~@x.y>").path.mailbox->local_part == "a!#$%&'*+-/=?^_`{|}~");
}

TEST_CASE("percent hack and bang paths are plain local-part characters") {
    auto p = ok("<user%remote.example@local.example>");
    CHECK(p.path.mailbox->local_part == "user%remote.example");
    CHECK(p.path.mailbox->domain == "local.example");
    CHECK(ok("<remote!user@local.example>").path.mailbox->local_part == "remote!user");
}

TEST_CASE("dot-atom rules") {
    CHECK(err("<.a@x.y>") == PathError::syntax);
    CHECK(err("<a.@x.y>") == PathError::syntax);
    CHECK(err("<a..b@x.y>") == PathError::syntax);
    CHECK(err("<a b@x.y>") == PathError::syntax);
    CHECK(err("<a(b)@x.y>") == PathError::syntax);
    CHECK(err("<@x.y>") == PathError::syntax);
    CHECK(err("<a@>") == PathError::syntax);
    CHECK(err("<a@@x.y>") == PathError::syntax);
    CHECK(err("<a@x.y@z>") == PathError::syntax);
    CHECK(err("a@x.y") == PathError::syntax);
    CHECK(err("<a@x.y") == PathError::syntax);
    CHECK(err("<a@x.y >") == PathError::syntax);
    CHECK(err("< a@x.y>") == PathError::syntax);
    CHECK(err("<a\x01@x.y>") == PathError::syntax);
    CHECK(err("<a\0b@x.y>"s) == PathError::syntax);
}

TEST_CASE("quoted local parts") {
    auto p = ok("<\"john smith\"@example.org>");
    CHECK(p.path.mailbox->local_part == "john smith");
    CHECK(p.path.mailbox->local_part_quoted);
    CHECK(p.path.mailbox->canonical() == "\"john smith\"@example.org");
    // Quoting a plain dot-string is canonicalised away.
    CHECK(ok("<\"john\"@example.org>").path.mailbox->canonical() == "john@example.org");
    // A quoted '@' and '>' are part of the local part: no routing trick.
    auto q = ok("<\"user@remote.example\"@local.example>");
    CHECK(q.path.mailbox->local_part == "user@remote.example");
    CHECK(q.path.mailbox->domain == "local.example");
    CHECK(q.path.mailbox->canonical() == "\"user@remote.example\"@local.example");
    auto r = ok("<\"a>b\\\"c\\\\d\"@x.y>");
    CHECK(r.path.mailbox->local_part == "a>b\"c\\d");
    CHECK(r.path.mailbox->canonical() == "\"a>b\\\"c\\\\d\"@x.y");
    CHECK(err("<\"\"@x.y>") == PathError::syntax);         // empty local part
    CHECK(err("<\"abc@x.y>") == PathError::syntax);        // unterminated
    CHECK(err("<\"a\"b@x.y>") == PathError::syntax);       // text after the quote
    CHECK(err("<\"a\x7f\"@x.y>") == PathError::syntax);    // DEL is not qtext
    CHECK(err("<\"a\\\x01\"@x.y>") == PathError::syntax);  // quoted-pair of a control char
    CHECK(err("<\"a\0\"@x.y>"s) == PathError::syntax);
}

TEST_CASE("source routes are accepted and dropped") {
    auto p = ok("<@a.example,@b.example:user@c.example>");
    CHECK(p.path.had_source_route);
    CHECK(p.path.mailbox->canonical() == "user@c.example");
    CHECK(ok("<@a.example:user@c.example>").path.had_source_route);
    CHECK(err("<@a.example user@c.example>") == PathError::syntax);
    CHECK(err("<@a.example,user@c.example>") == PathError::syntax);
    CHECK(err("<@:user@c.example>") == PathError::syntax);
    CHECK(err("<@a..example:user@c.example>") == PathError::syntax);
    CHECK(err("<@[1.2.3.4]:user@c.example>") == PathError::syntax);
    CHECK(err("<@a.example,@b.example>") == PathError::syntax);
}

TEST_CASE("domains: trailing dots, labels, hyphens") {
    CHECK(err("<a@example.org.>") == PathError::syntax);
    CHECK(err("<a@.example.org>") == PathError::syntax);
    CHECK(err("<a@example..org>") == PathError::syntax);
    CHECK(err("<a@-example.org>") == PathError::syntax);
    CHECK(err("<a@example-.org>") == PathError::syntax);
    CHECK(err("<a@exa_mple.org>") == PathError::syntax);
    CHECK(ok("<a@x-1.example>").path.mailbox->domain == "x-1.example");
    CHECK(ok("<a@localhost>").path.mailbox->domain == "localhost");
    const std::string l63(63, 'a'), l64(64, 'a');
    CHECK(ok("<a@" + l63 + ".org>").path.mailbox->domain.size() == 67);
    CHECK(err("<a@" + l64 + ".org>") == PathError::syntax);
    CHECK(is_valid_domain("example.org", false));
    CHECK_FALSE(is_valid_domain("example.org.", false));
    CHECK_FALSE(is_valid_domain("", false));
}

TEST_CASE("address literals") {
    auto v4 = ok("<postmaster@[192.0.2.1]>");
    CHECK(v4.path.mailbox->domain == "[192.0.2.1]");
    CHECK(v4.path.mailbox->domain_kind == DomainKind::ipv4_literal);
    auto v6 = ok("<a@[IPv6:2001:DB8::1]>");
    CHECK(v6.path.mailbox->domain_kind == DomainKind::ipv6_literal);
    CHECK(v6.path.mailbox->canonical() == "a@[ipv6:2001:db8::1]");
    const char* good[] = {"[0.0.0.0]",
                          "[255.255.255.255]",
                          "[IPv6:::1]",
                          "[IPv6:::]",
                          "[IPv6:1:2:3:4:5:6:7:8]",
                          "[IPv6:1::8]",
                          "[IPv6:::ffff:192.0.2.1]",
                          "[IPv6:1:2:3:4:5:6:1.2.3.4]",
                          "[ipv6:fe80::1]",
                          "[IPv6:1:2:3:4:5:6::]",
                          "[IPv6:1:2:3:4::1.2.3.4]"};
    for (auto g : good) {
        CAPTURE(g);
        CHECK(parse_address_literal(g).has_value());
    }
    const char* bad[] = {"[256.0.0.1]",
                         "[1.2.3]",
                         "[1.2.3.4.5]",
                         "[1.2.3.4 ]",
                         "[01234.1.1.1]",
                         "[IPv6:1:2:3:4:5:6:7:8:9]",
                         "[IPv6:1:2:3:4:5:6:7]",
                         "[IPv6:1::2::3]",
                         "[IPv6:12345::1]",
                         "[IPv6:1:2:3:4:5:6:7::]",
                         "[IPv6:g::1]",
                         "[x:1]",
                         "[IPv6:1:2:3:4:5:1.2.3.4]",
                         "[IPv6:1:2:3:4:5::1.2.3.4]",
                         "[]",
                         "1.2.3.4",
                         "[1.2.3.4",
                         "[IPv6:]",
                         "[IPv6::1]",
                         "[-1.2.3.4]"};
    for (auto b : bad) {
        CAPTURE(b);
        CHECK_FALSE(parse_address_literal(b).has_value());
    }
    CHECK(err("<a@[1.2.3.999]>") == PathError::syntax);
    CHECK(err("<a@[1.2.3.4]x>") == PathError::syntax);
}

TEST_CASE("bare Postmaster (RFC 5321 4.1.1.3) only for RCPT") {
    auto p = ok("<Postmaster>");
    CHECK(p.path.mailbox->is_bare_postmaster());
    CHECK(p.path.mailbox->canonical() == "Postmaster");
    CHECK(ok("<postMASTER>").path.mailbox->is_bare_postmaster());
    CHECK(err("<Postmaster>", reverse()) == PathError::syntax);
    CHECK(err("<\"Postmaster\">") == PathError::syntax);
    CHECK(err("<admin>") == PathError::syntax);
}

TEST_CASE("length limits at the bound and one past it") {
    const std::string l64(64, 'l'), l65(65, 'l');
    CHECK(ok("<" + l64 + "@x.y>").path.mailbox->local_part.size() == 64);
    CHECK(err("<" + l65 + "@x.y>") == PathError::local_part_too_long);
    // Quotes count towards the 64 octets.
    CHECK(ok("<\"" + std::string(62, 'q') + "\"@x.y>").path.mailbox->local_part.size() == 62);
    CHECK(err("<\"" + std::string(63, 'q') + "\"@x.y>") == PathError::local_part_too_long);

    // A 255-octet domain: labels of 63 + "." ... ; check the parser's own counting.
    std::string d255 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                       std::string(63, 'd');  // 255
    REQUIRE(d255.size() == 255);
    CHECK(is_valid_domain(d255, false));
    CHECK_FALSE(is_valid_domain(d255 + "e", false));
    // The path limit (256 with brackets) bites before the domain limit for a valid local part.
    CHECK(err("<a@" + d255 + ">") == PathError::path_too_long);  // 1+1+1+255+1 = 259
    CHECK(err("<a@" + d255 + "e>") == PathError::domain_too_long);

    // Path of exactly 256 octets: "<" + local(64) + "@" + domain(189) + ">".
    std::string d189 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
    REQUIRE(d189.size() == 189);
    const std::string p256 = "<" + l64 + "@" + d189 + ">";
    REQUIRE(p256.size() == 256);
    CHECK(ok(p256).consumed == 256);
    const std::string p257 = "<" + l64 + "@" + d189 + "c>";
    CHECK(err(p257) == PathError::path_too_long);
    // The source route counts towards the path length.
    CHECK(err("<@r.example:" + p256.substr(1)) == PathError::path_too_long);
}

TEST_CASE("SMTPUTF8: UTF-8 only when permitted, and only valid UTF-8") {
    const std::string u =
        "<j\xc3\xb6rg@b\xc3\xbc"
        "cher.example>";
    CHECK(err(u, forward(false)) == PathError::non_ascii_not_permitted);
    auto p = ok(u, forward(true));
    CHECK(p.path.mailbox->non_ascii);
    CHECK(p.path.mailbox->local_part == "j\xc3\xb6rg");
    CHECK(p.path.mailbox->canonical() ==
          "j\xc3\xb6rg@b\xc3\xbc"
          "cher.example");
    CHECK(ok("<\"\xe6\x97\xa5 \xe6\x9c\xac\"@x.y>", forward(true)).path.mailbox->non_ascii);
    CHECK(err("<a\xff@x.y>", forward(true)) == PathError::invalid_utf8);
    CHECK(err("<a\xc0\x80@x.y>", forward(true)) == PathError::invalid_utf8);          // overlong NUL
    CHECK(err("<a\xed\xa0\x80@x.y>", forward(true)) == PathError::invalid_utf8);      // surrogate
    CHECK(err("<a@x\xf4\x90\x80\x80.y>", forward(true)) == PathError::invalid_utf8);  // > U+10FFFF
    CHECK(err("<a@x\xc3.y>", forward(true)) == PathError::invalid_utf8);              // truncated
    CHECK(err("<@b\xc3\xbc.example:a@x.y>", forward(false)) == PathError::non_ascii_not_permitted);
    CHECK(ok("<@b\xc3\xbc.example:a@x.y>", forward(true)).path.had_source_route);
}

TEST_CASE("is_valid_utf8") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    CHECK(is_valid_utf8("a\0b"s));
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8("\xc1\xbf"));
    CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));
    CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));
    CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));
}

TEST_CASE("parse_mailbox for administration input") {
    auto m = parse_mailbox("Alice@Example.org", false);
    REQUIRE(std::holds_alternative<Mailbox>(m));
    CHECK(std::get<Mailbox>(m).canonical() == "Alice@example.org");
    CHECK(std::get<PathError>(parse_mailbox("alice", false)) == PathError::syntax);
    CHECK(std::get<PathError>(parse_mailbox("postmaster", false)) == PathError::syntax);
    CHECK(std::get<PathError>(parse_mailbox("<a@b.c>", false)) == PathError::syntax);
    CHECK(std::get<PathError>(parse_mailbox("a@b.c ", false)) == PathError::syntax);
    CHECK(std::get<PathError>(parse_mailbox("a@b.c.", false)) == PathError::syntax);
}

TEST_CASE("ESMTP parameters") {
    auto r = parse_esmtp_params(" size=100  BODY=8BITMIME SMTPUTF8 X-Y=z", false);
    REQUIRE(std::holds_alternative<std::vector<EsmtpParam>>(r));
    auto& v = std::get<std::vector<EsmtpParam>>(r);
    REQUIRE(v.size() == 4);
    CHECK(v[0].keyword == "SIZE");
    CHECK(*v[0].value == "100");
    CHECK(v[1].keyword == "BODY");
    CHECK(v[2].keyword == "SMTPUTF8");
    CHECK_FALSE(v[2].value.has_value());
    CHECK(v[3].keyword == "X-Y");
    CHECK(std::get<std::vector<EsmtpParam>>(parse_esmtp_params("", false)).empty());
    CHECK(std::get<ParamError>(parse_esmtp_params("SIZE=", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("=1", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("-X=1", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("A=b=c", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("A_B=1", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("A=\x01", false)) == ParamError::syntax);
    CHECK(std::get<ParamError>(parse_esmtp_params("SIZE=1 size=2", false)) == ParamError::duplicate);
    CHECK(std::get<ParamError>(parse_esmtp_params("X=\xc3\xa4", false)) == ParamError::non_ascii);
    CHECK(std::get<std::vector<EsmtpParam>>(parse_esmtp_params("X=\xc3\xa4", true)).size() == 1);
    CHECK(std::get<ParamError>(parse_esmtp_params("X=\xc3", true)) == ParamError::syntax);
}
