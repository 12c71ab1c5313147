// pop3_policy.h: who may do what in a POP3 session, and how hard we make password guessing.
// Pure decisions plus one small per-process table; no I/O, no store, no Asio.
//
// - Plaintext credentials (USER/PASS, AUTH PLAIN/LOGIN) only over TLS or from loopback
//   (RFC 2595 2.1 and 4, RFC 5034 4; Dovecot's disable_plaintext_auth default; DESIGN.md);
//   elsewhere the refusal is "-ERR [AUTH]" (RFC 3206 5) with a hint to use STLS.
// - The CAPA list (RFC 2449 5, 6): what this client may use now. EXPIRE and LOGIN-DELAY are
//   not announced because they are not enforced.
// - LoginThrottle: a growing delay after each failed login from one client address, kept in
//   a bounded map (oldest entries evicted), so a guesser cannot grow it without bound.
// Never: offers SASL or USER where it would refuse them; tells an unknown user from a wrong
// password (the throttle is keyed by address, not by user name).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "pop3d/pop3_reply.h"

namespace hikyaku::pop3 {

enum class Role { pop3, pop3s };  // port 110 role (STLS), port 995 role (implicit TLS)
const char* role_name(Role role);  // "pop3", "pop3s" (the listener roles in logs)

struct ClientFacts {
    bool tls = false;            // the link is encrypted now
    bool tls_available = false;  // STLS could be started (a certificate is loaded, not yet TLS)
    bool loopback = false;       // the peer is 127.0.0.0/8 or ::1
    bool authenticated = false;  // TRANSACTION state
};

bool plaintext_auth_allowed(const ClientFacts& client);
// The refusal for USER, PASS and AUTH when plaintext_auth_allowed() is false.
Reply plaintext_auth_refused(const ClientFacts& client);
// The CAPA lines (without the "+OK" status line), in the order RFC 2449 lists them.
std::vector<std::string> capabilities(const ClientFacts& client);

// Named limits of the throttle (STYLE 9); defaults suit a server on the Internet.
struct ThrottleLimits {
    std::chrono::milliseconds first_delay{250};   // after the first failure
    std::chrono::milliseconds max_delay{8000};    // the delay doubles up to this
    std::chrono::seconds forget_after{600};       // a quiet address starts afresh
    std::size_t max_addresses = 4096;             // table bound; the oldest entry goes first
};

// Thread-safe: one per pop3d process, shared by every worker. Invalidation: an entry is
// dropped on a successful login from its address, after forget_after without failures, or
// when the table is full and it is the oldest.
class LoginThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit LoginThrottle(ThrottleLimits limits = {}) : limits_(limits) {}

    // Records a failure from `address` and returns how long to wait before answering it.
    std::chrono::milliseconds failed(const std::string& address, Clock::time_point now = Clock::now());
    void succeeded(const std::string& address);
    // Failures recorded for `address` (0 when unknown or forgotten); for logs and tests.
    unsigned failures(const std::string& address, Clock::time_point now = Clock::now()) const;
    std::size_t size() const;

private:
    struct Entry {
        unsigned failures = 0;
        Clock::time_point last{};
    };
    ThrottleLimits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hikyaku::pop3
