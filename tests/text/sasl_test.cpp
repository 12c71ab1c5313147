// sasl_test.cpp: SASL PLAIN (RFC 4616) and LOGIN decoding: NUL rules, field bounds, UTF-8,
// "=" and "*" (RFC 4954 4), bad base64.
#include <doctest/doctest.h>

#include <string>

#include "common/text/base64.h"
#include "common/text/sasl.h"

using namespace hikyaku;
using namespace hikyaku::sasl;

namespace {
std::string b64(std::string_view s) { return text::base64_encode(s); }
PlainCredentials plain_ok(std::string_view raw) {
    auto r = decode_plain_response(b64(raw));
    REQUIRE(std::holds_alternative<PlainCredentials>(r));
    return std::get<PlainCredentials>(r);
}
SaslError plain_err(std::string_view line) {
    auto r = decode_plain_response(line);
    REQUIRE(std::holds_alternative<SaslError>(r));
    return std::get<SaslError>(r);
}
}  // namespace

TEST_CASE("PLAIN: authzid, authcid, password") {
    auto c = plain_ok(std::string("\0tim\0tanstaaftanstaaf", 21));
    CHECK(c.authzid.empty());
    CHECK(c.authcid == "tim");
    CHECK(c.password == "tanstaaftanstaaf");
    auto d = plain_ok(std::string("Ursel\0Kurt\0xipj3plmq", 20));
    CHECK(d.authzid == "Ursel");
    CHECK(d.authcid == "Kurt");
    CHECK(d.password == "xipj3plmq");
    // The RFC 4616 example as base64, and a password with spaces and UTF-8.
    CHECK(std::get<PlainCredentials>(decode_plain_response("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")).authcid == "tim");
    using namespace std::string_literals;
    auto u = plain_ok("\0j\xc3\xbcrgen@example.org\0p a ss \xe2\x82\xac"s);
    CHECK(u.authcid == "j\xc3\xbcrgen@example.org");
    CHECK(u.password == "p a ss \xe2\x82\xac");
}

TEST_CASE("PLAIN: NUL rules and empty fields") {
    CHECK(plain_err(b64("timpassword")) == SaslError::malformed);                     // no NUL
    CHECK(plain_err(b64(std::string("\0timpassword", 12))) == SaslError::malformed);  // one NUL
    CHECK(plain_err(b64(std::string("\0tim\0pa\0ss", 11))) == SaslError::malformed);  // three
    CHECK(plain_err(b64(std::string("\0\0password", 10))) == SaslError::malformed);   // no authcid
    CHECK(plain_err(b64(std::string("\0tim\0", 5))) == SaslError::malformed);         // no password
    CHECK(plain_err(b64(std::string("\0\0", 2))) == SaslError::malformed);
    CHECK(plain_err("=") == SaslError::malformed);  // empty initial response
}

TEST_CASE("PLAIN: each field at most 255 octets") {
    const std::string f255(255, 'a'), f256(256, 'a');
    auto ok = plain_ok(f255 + '\0' + f255 + '\0' + f255);
    CHECK(ok.authzid.size() == 255);
    CHECK(ok.password.size() == 255);
    CHECK(plain_err(b64(f256 + '\0' + "u" + '\0' + "p")) == SaslError::malformed);
    CHECK(plain_err(b64(std::string("\0", 1) + f256 + '\0' + "p")) == SaslError::malformed);
    CHECK(plain_err(b64(std::string("\0u\0", 3) + f256)) == SaslError::malformed);
}

TEST_CASE("PLAIN: invalid UTF-8 is malformed") {
    CHECK(plain_err(b64(std::string("\0tim\0\xff\xfe", 7))) == SaslError::malformed);
    CHECK(plain_err(b64(std::string("\0\xc0\xafx\0pw", 7))) == SaslError::malformed);  // overlong
}

TEST_CASE("cancellation and bad base64") {
    CHECK(plain_err("*") == SaslError::cancelled);
    CHECK(plain_err("AHRpbQB0YW5zdGFhZnRhbnN0YWFm=") == SaslError::bad_base64);
    CHECK(plain_err("AHRpbQB0YW5zdGFhZn!hbnN0YWFm") == SaslError::bad_base64);
    CHECK(plain_err("** ") == SaslError::bad_base64);
    CHECK(plain_err(std::string(kMaxResponseLength + 1, 'A')) == SaslError::too_long);
    // Exactly at the bound: decodes (to garbage without NULs, so malformed, not too_long).
    CHECK(plain_err(std::string(kMaxResponseLength, 'A')) == SaslError::malformed);
}

TEST_CASE("LOGIN steps") {
    CHECK(login_challenge(LoginStep::username) == "VXNlcm5hbWU6");
    CHECK(text::base64_encode("Username:") == login_challenge(LoginStep::username));
    CHECK(text::base64_encode("Password:") == login_challenge(LoginStep::password));
    CHECK(std::get<std::string>(decode_login_response(b64("alice"), LoginStep::username)) == "alice");
    CHECK(std::get<std::string>(decode_login_response(b64("s3cr et"), LoginStep::password)) == "s3cr et");
    CHECK(std::get<SaslError>(decode_login_response("*", LoginStep::password)) == SaslError::cancelled);
    CHECK(std::get<SaslError>(decode_login_response("=", LoginStep::username)) == SaslError::malformed);
    CHECK(std::get<SaslError>(decode_login_response(b64(std::string("a\0b", 3)), LoginStep::username)) ==
          SaslError::malformed);
    CHECK(std::get<SaslError>(decode_login_response("abc", LoginStep::username)) == SaslError::bad_base64);
    CHECK(std::get<std::string>(decode_login_response(b64(std::string(255, 'p')), LoginStep::password)).size() == 255);
    CHECK(std::get<SaslError>(decode_login_response(b64(std::string(256, 'p')), LoginStep::password)) ==
          SaslError::malformed);
}

TEST_CASE("mechanism names") {
    CHECK(parse_mechanism("PLAIN") == Mechanism::plain);
    CHECK(parse_mechanism("plain") == Mechanism::plain);
    CHECK(parse_mechanism("LoGiN") == Mechanism::login);
    CHECK_FALSE(parse_mechanism("CRAM-MD5").has_value());
    CHECK_FALSE(parse_mechanism("PLAIN ").has_value());
    CHECK_FALSE(parse_mechanism("").has_value());
}

TEST_CASE("decode_response: empty and '='") {
    CHECK(std::get<std::string>(decode_response("=")).empty());
    CHECK(std::get<std::string>(decode_response("")).empty());
    CHECK(std::get<std::string>(decode_response("Zm9v")) == "foo");
}
