// auth_service.h: the one authentication service of a daemon process, used by every protocol
// in it: the plaintext rule, the password check on its own bounded thread pool, and the
// shared failed-login throttle (STYLE 18: one place for rate and failure accounting).
//
// - Plaintext credentials (USER/PASS, LOGIN, AUTH PLAIN and LOGIN) only over TLS or from a
//   loopback client (RFC 4954 4, RFC 2595 2.1 and 4, RFC 9051 6.2.3; Dovecot's
//   disable_plaintext_auth default; DESIGN "Interface contract").
// - argon2id runs on the service's own threads ([server] auth_threads), so four logins at
//   once never stall a delivery, a RCPT lookup or a message read; a password verified in the
//   last auth_cache_ttl seconds is recognised without it (auth_cache.h).
// - Attempts from one client address are checked one at a time (an address gate), each in
//   its turn from the LoginThrottle, and a failure's reply waits the throttle's delay before
//   the next attempt of that address may start: a hundred connections opened at once guess no
//   faster than one. The same reply and the same delay for an unknown user and a wrong
//   password. Failures are logged here, once, the same way for every protocol.
// Must never: run argon2 on an event loop; log a password; answer an attempt before its turn.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "common/net/blocking_pool.h"
#include "common/net/connection.h"
#include "common/server/auth_cache.h"
#include "common/server/login_throttle.h"
#include "storage/authenticate.h"
#include "storage/directory.h"

namespace hikyaku::server {

namespace asio = boost::asio;

struct AuthSettings {
    unsigned threads = 2;                 // [server] auth_threads: argon2 verifications at once
    std::chrono::seconds cache_ttl{300};  // [server] auth_cache_ttl: 0 turns the cache off
    std::size_t cache_entries = 10000;
    ThrottleLimits throttle;
    storage::PasswordCost cost;  // the store's cost: the dummy check of unknown users
};

struct LoginAttempt {
    std::string_view protocol;   // "smtp", "pop3", "imap": for the log
    std::string_view mechanism;  // "PLAIN", "LOGIN", "USER": for the log
    std::string_view authcid;    // the name to log in as
    std::string_view password;
    std::string_view authzid;  // the identity to act as; empty or equal to authcid
};

enum class LoginOutcome {
    accepted,     // credentials right: `user` is set
    refused,      // unknown user, wrong password, or an authzid other than the user (logged)
    unavailable,  // the store failed: answer with the protocol's temporary error
};

struct LoginResult {
    LoginOutcome outcome = LoginOutcome::refused;
    std::optional<storage::User> user;
};

class AuthService {
public:
    AuthService(storage::Directory& directory, AuthSettings settings);
    ~AuthService();

    static bool plaintext_allowed(const net::Connection& connection) {
        return connection.is_tls() || connection.peer_is_loopback();
    }

    // Waits for the attempt's turn, checks the credentials off the event loop, and for a
    // failure waits the throttle's delay before returning. Resumes on the caller's executor.
    asio::awaitable<LoginResult> log_in(net::Connection& connection, LoginAttempt attempt);

    LoginThrottle& throttle() { return throttle_; }
    AuthCache& cache() { return cache_; }

private:
    class AddressGate;
    // The attempt itself, inside the address gate.
    asio::awaitable<LoginResult> check(net::Connection& connection, const LoginAttempt& attempt);

    storage::Directory& directory_;
    storage::PasswordVerifier verifier_;
    LoginThrottle throttle_;
    AuthCache cache_;
    std::unique_ptr<AddressGate> gate_;
    net::BlockingPool pool_;
};

}  // namespace hikyaku::server
