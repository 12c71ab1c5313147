// login_throttle_test.cpp: the shared failed-login throttle (common/server/login_throttle.h):
// the doubling delay and its cap, turns that serialise parallel guessing from one address,
// per-account forgetting on success (an attacker's own login does not clear the delay earned
// against another account), other addresses untouched, quiet time, and the table bounds.
#include <doctest/doctest.h>

#include <string>

#include "common/server/login_throttle.h"

using namespace hikyaku::server;
using namespace std::chrono_literals;

TEST_CASE("the delay doubles per failure up to the maximum, without overflow") {
    ThrottleLimits limits;
    limits.first_delay = 100ms;
    limits.max_delay = 700ms;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    CHECK(throttle.failed("192.0.2.1", "a@x", t) == 100ms);
    CHECK(throttle.failed("192.0.2.1", "a@x", t) == 200ms);
    CHECK(throttle.failed("192.0.2.1", "b@x", t) == 400ms);  // the address's sum counts
    CHECK(throttle.failed("192.0.2.1", "a@x", t) == 700ms);
    for (int i = 0; i < 100; ++i) CHECK(throttle.failed("192.0.2.1", "a@x", t) == 700ms);
    CHECK(throttle.failures("192.0.2.1", t) == 64);
    CHECK(throttle.failed("192.0.2.2", "a@x", t) == 100ms);  // another address starts afresh
}

TEST_CASE("turns: parallel attempts from one address are spaced by the delay") {
    ThrottleLimits limits;
    limits.first_delay = 1000ms;
    limits.max_delay = 8000ms;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    // No failures: every attempt may start at once.
    CHECK(throttle.reserve("198.51.100.7", t) == t);
    CHECK(throttle.reserve("198.51.100.7", t) == t);
    throttle.failed("198.51.100.7", "victim@x", t);  // 1 s
    // Twenty connections asking at the same instant get twenty different turns, one second
    // (the current delay) apart: no more than one guess per second however many connect.
    auto previous = throttle.reserve("198.51.100.7", t);
    CHECK(previous >= t + 1000ms);
    for (int i = 0; i < 19; ++i) {
        auto next = throttle.reserve("198.51.100.7", t);
        CHECK(next - previous >= 1000ms);
        previous = next;
    }
    // Another address, say the owner of the account, is not delayed.
    CHECK(throttle.reserve("203.0.113.9", t) == t);
}

TEST_CASE("a success forgets only that account's failures from that address") {
    ThrottleLimits limits;
    limits.first_delay = 250ms;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    for (int i = 0; i < 4; ++i) throttle.failed("192.0.2.9", "victim@example.org", t);
    throttle.failed("192.0.2.9", "attacker@example.org", t);
    CHECK(throttle.failures("192.0.2.9", t) == 5);
    // The attacker logs in as themselves: their own failure goes, the victim's four stay.
    throttle.succeeded("192.0.2.9", "attacker@example.org", t);
    CHECK(throttle.failures("192.0.2.9", t) == 4);
    CHECK(throttle.reserve("192.0.2.9", t + 10s) >= t + 10s);
    CHECK(throttle.failed("192.0.2.9", "victim@example.org", t) == 4000ms);  // the 5th: 250 * 2^4
    // The victim logs in from that address at last: everything goes.
    throttle.succeeded("192.0.2.9", "victim@example.org", t);
    CHECK(throttle.failures("192.0.2.9", t) == 0);
    CHECK(throttle.size() == 0);
}

TEST_CASE("quiet time forgets an address") {
    ThrottleLimits limits;
    limits.first_delay = 100ms;
    limits.forget_after = 60s;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    throttle.failed("192.0.2.3", "a@x", t);
    CHECK(throttle.failures("192.0.2.3", t + 59s) == 1);
    CHECK(throttle.failures("192.0.2.3", t + 61s) == 0);
    CHECK(throttle.reserve("192.0.2.3", t + 61s) == t + 61s);
    CHECK(throttle.failed("192.0.2.3", "a@x", t + 61s) == 100ms);
}

TEST_CASE("the table is bounded in addresses and in accounts per address") {
    ThrottleLimits limits;
    limits.max_addresses = 3;
    limits.max_accounts = 2;
    LoginThrottle throttle(limits);
    auto t = LoginThrottle::Clock::now();
    throttle.failed("a", "u@x", t);
    throttle.failed("b", "u@x", t + 1s);
    throttle.failed("c", "u@x", t + 2s);
    CHECK(throttle.size() == 3);
    throttle.failed("d", "u@x", t + 3s);
    CHECK(throttle.size() == 3);
    CHECK(throttle.failures("a", t + 3s) == 0);  // the oldest went first
    CHECK(throttle.failures("d", t + 3s) == 1);
    for (int i = 0; i < 1000; ++i) throttle.failed("x" + std::to_string(i), "u@x", t + 4s);
    CHECK(throttle.size() == 3);
    // Spraying accounts from one address: the sum keeps growing, the account map does not.
    for (int i = 0; i < 50; ++i) throttle.failed("e", "user" + std::to_string(i) + "@x", t + 5s);
    CHECK(throttle.failures("e", t + 5s) == 50);
}
