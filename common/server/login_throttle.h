// login_throttle.h: the one failed-login throttle of a daemon process, shared by every
// session and protocol in it (Postfix's anvil and Dovecot's auth penalty, in one table).
//
// Failures are counted per client address and, inside that, per target account. Every login
// attempt from an address with failures takes a turn: turns are spaced by a delay that doubles
// with the address's failures (first_delay, 2x, 4x ... up to max_delay), so any number of
// parallel connections from one address guess no faster than one connection would. A failed
// attempt's reply also waits that delay. A success clears only the failures against that
// account: an attacker who logs in as themselves does not erase the delay they earned
// against someone else. A client at another address is not delayed at all, so the owner of
// an attacked account still logs in at once.
//
// Not shared across processes (each daemon has its own); not per account across addresses
// (that would let anyone lock a victim out). Pure: no I/O, no clock of its own (the caller
// passes `now`); thread-safe.
// Must never: grow without bound (max_addresses entries, max_accounts per address; the
// oldest goes first); tell an unknown user from a wrong password (it never sees which).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hikyaku::server {

// Named limits (STYLE 9); defaults suit a server on the Internet.
struct ThrottleLimits {
    std::chrono::milliseconds first_delay{250};  // after the first failure
    std::chrono::milliseconds max_delay{8000};   // the delay doubles up to this
    std::chrono::seconds forget_after{600};      // an address quiet this long starts afresh
    std::size_t max_addresses = 4096;            // table bound
    std::size_t max_accounts = 32;               // accounts remembered per address
};

class LoginThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit LoginThrottle(ThrottleLimits limits = {}) : limits_(limits) {}

    // Takes the next turn of `address` for a login attempt: when it may start (now, if the
    // address has no failures).
    Clock::time_point reserve(const std::string& address, Clock::time_point now);
    // Records a failed attempt against `account`; returns how long its reply should wait.
    std::chrono::milliseconds failed(const std::string& address, std::string_view account, Clock::time_point now);
    // A successful login as `account` clears that account's failures from `address`.
    void succeeded(const std::string& address, std::string_view account, Clock::time_point now);

    // For logs and tests.
    unsigned failures(const std::string& address, Clock::time_point now) const;
    std::chrono::milliseconds delay_for(unsigned failures) const;
    std::size_t size() const;

private:
    struct Entry {
        unsigned failures = 0;                     // the sum over accounts
        std::map<std::string, unsigned> accounts;  // failures per target account
        Clock::time_point last_failure{};
        Clock::time_point next_turn{};
    };
    Entry* find(const std::string& address, Clock::time_point now);
    Entry& find_or_add(const std::string& address, Clock::time_point now);

    ThrottleLimits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hikyaku::server
