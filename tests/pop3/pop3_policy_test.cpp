// pop3_policy_test.cpp: unit tests of pop3_policy (who may log in how, CAPA). The non-loopback
// plaintext cases live here because every network test runs on 127.0.0.1.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "pop3d/pop3_policy.h"

using namespace hikyaku::pop3;

namespace {

bool has(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("plaintext credentials only over TLS or from loopback") {
    CHECK(plaintext_auth_allowed({.tls = true, .plaintext_allowed = true}));
    CHECK(plaintext_auth_allowed({.plaintext_allowed = true}));
    CHECK_FALSE(plaintext_auth_allowed({.tls_available = true}));
    CHECK_FALSE(plaintext_auth_allowed({}));
    auto refusal = plaintext_auth_refused({.tls_available = true});
    CHECK_FALSE(refusal.ok);
    CHECK(refusal.code == ResponseCode::auth);
    CHECK(format_reply(refusal).find("STLS") != std::string::npos);
    CHECK(format_reply(plaintext_auth_refused({})).find("995") != std::string::npos);
}

TEST_CASE("CAPA offers only what this client may use now") {
    auto remote_plain = capabilities({.tls_available = true});
    CHECK(has(remote_plain, "STLS"));
    CHECK_FALSE(has(remote_plain, "USER"));
    CHECK_FALSE(has(remote_plain, "SASL PLAIN LOGIN"));
    CHECK(has(remote_plain, "RESP-CODES"));
    CHECK(has(remote_plain, "AUTH-RESP-CODE"));
    CHECK(has(remote_plain, "IMPLEMENTATION hikyaku"));

    auto remote_tls = capabilities({.tls = true, .plaintext_allowed = true});
    CHECK_FALSE(has(remote_tls, "STLS"));
    CHECK(has(remote_tls, "USER"));
    CHECK(has(remote_tls, "SASL PLAIN LOGIN"));

    auto loopback_no_cert = capabilities({.plaintext_allowed = true});
    CHECK_FALSE(has(loopback_no_cert, "STLS"));
    CHECK(has(loopback_no_cert, "USER"));

    auto logged_in = capabilities({.tls = true, .plaintext_allowed = true, .authenticated = true});
    CHECK_FALSE(has(logged_in, "USER"));
    CHECK_FALSE(has(logged_in, "SASL PLAIN LOGIN"));
    CHECK(has(logged_in, "TOP"));
    CHECK(has(logged_in, "UIDL"));
    CHECK(has(logged_in, "PIPELINING"));
    // Not enforced, so never announced (RFC 2449 6.5, 6.7).
    for (auto& caps : {remote_plain, remote_tls, logged_in})
        for (auto& line : caps) {
            CHECK(line.rfind("EXPIRE", 0) != 0);
            CHECK(line.rfind("LOGIN-DELAY", 0) != 0);
        }
}
