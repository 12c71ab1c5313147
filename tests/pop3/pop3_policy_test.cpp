// pop3_policy_test.cpp: unit tests of pop3_policy (who may log in how, CAPA, LoginThrottle).
// The non-loopback plaintext cases live here because every network test runs on 127.0.0.1.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "pop3d/pop3_policy.h"

using namespace hikyaku::pop3;
using namespace std::chrono_literals;

namespace {

bool has(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("plaintext credentials only over TLS or from loopback") {
    CHECK(plaintext_auth_allowed({.tls = true}));
    CHECK(plaintext_auth_allowed({.loopback = true}));
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

    auto remote_tls = capabilities({.tls = true});
    CHECK_FALSE(has(remote_tls, "STLS"));
    CHECK(has(remote_tls, "USER"));
    CHECK(has(remote_tls, "SASL PLAIN LOGIN"));

    auto loopback_no_cert = capabilities({.loopback = true});
    CHECK_FALSE(has(loopback_no_cert, "STLS"));
    CHECK(has(loopback_no_cert, "USER"));

    auto logged_in = capabilities({.tls = true, .authenticated = true});
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

TEST_CASE("LoginThrottle: the delay doubles per failure up to the maximum") {
    ThrottleLimits limits;
    limits.first_delay = 100ms;
    limits.max_delay = 700ms;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    CHECK(throttle.failed("192.0.2.1", t) == 100ms);
    CHECK(throttle.failed("192.0.2.1", t) == 200ms);
    CHECK(throttle.failed("192.0.2.1", t) == 400ms);
    CHECK(throttle.failed("192.0.2.1", t) == 700ms);
    CHECK(throttle.failed("192.0.2.1", t) == 700ms);
    for (int i = 0; i < 100; ++i) CHECK(throttle.failed("192.0.2.1", t) == 700ms);  // no overflow
    CHECK(throttle.failures("192.0.2.1", t) == 64);
    // Another address starts afresh.
    CHECK(throttle.failed("192.0.2.2", t) == 100ms);
}

TEST_CASE("LoginThrottle: success and quiet time forget an address") {
    ThrottleLimits limits;
    limits.first_delay = 100ms;
    limits.forget_after = 60s;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    throttle.failed("192.0.2.1", t);
    throttle.failed("192.0.2.1", t);
    CHECK(throttle.failures("192.0.2.1", t) == 2);
    throttle.succeeded("192.0.2.1");
    CHECK(throttle.failures("192.0.2.1", t) == 0);
    CHECK(throttle.failed("192.0.2.1", t) == 100ms);

    throttle.failed("192.0.2.3", t);
    CHECK(throttle.failures("192.0.2.3", t + 61s) == 0);
    CHECK(throttle.failed("192.0.2.3", t + 61s) == 100ms);
}

TEST_CASE("LoginThrottle: the table is bounded; the oldest address goes first") {
    ThrottleLimits limits;
    limits.max_addresses = 3;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    throttle.failed("a", t);
    throttle.failed("b", t + 1s);
    throttle.failed("c", t + 2s);
    CHECK(throttle.size() == 3);
    throttle.failed("d", t + 3s);
    CHECK(throttle.size() == 3);
    CHECK(throttle.failures("a", t + 3s) == 0);
    CHECK(throttle.failures("b", t + 3s) == 1);
    CHECK(throttle.failures("d", t + 3s) == 1);
    for (int i = 0; i < 1000; ++i) throttle.failed("x" + std::to_string(i), t + 4s);
    CHECK(throttle.size() == 3);
}
