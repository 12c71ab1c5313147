// protocol_session.h: the protocol-server layer: the skeleton every protocol session shares,
// written once (STYLE 17: Postfix's single_server.c, Dovecot's login-common and lib-smtp
// server). A protocol folder derives from ProtocolSession and supplies only its grammar, its
// states and its replies.
//
// The layer runs the conversation: the greeting; the command loop, in which the protocol
// reads and handles one command at a time (a line through read_command_line(), or its own
// framing such as IMAP literals), the "too many errors" close, replies answered in batches
// when the client pipelines (RFC 2920 3.2, RFC 2449 6.6: flushed once its input is drained);
// STARTTLS (flush the "go ahead", handshake, drop what was pipelined behind the command,
// forget the pre-TLS state: RFC 3207 4, RFC 2595 4, RFC 9051 6.2.1); the SASL exchange of
// PLAIN and LOGIN with its continuation lines (RFC 4422, 4616; RFC 4954, 5034, 9051 framing
// through send_sasl_challenge); logins through the process's AuthService; and the end.
// Timeouts: a whole command, and each SASL response, must arrive within command_timeout()
// (a client trickling one byte a second is cut off, not re-armed by each byte).
// The dispatch table and state gating: CommandEntry and find_command() below; the protocol
// keeps the table (the states the RFC names for each command) and its own refusal replies.
// Must never: run a command pipelined behind STARTTLS; accept credentials in plaintext from
// a non-loopback client; let one session's failure reach another (exceptions are caught by
// the server core, errors are values).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/connection.h"
#include "common/server/async_store.h"
#include "common/server/auth_service.h"
#include "common/server/message_spool.h"
#include "common/server/user_sessions.h"
#include "common/text/sasl.h"

namespace hikyaku::server {

namespace asio = boost::asio;

// What a daemon process gives every session; it outlives them all.
struct SessionEnvironment {
    AsyncStore& store;
    AuthService& auth;
    MessageSpool& spool;
    UserSessions& user_sessions;
};

// One row of a protocol's dispatch table (STYLE 5): a command, the states in which the RFC
// allows it (a bit mask of the protocol's state values), and its handler.
template <class Session, class Verb, class Command>
struct CommandEntry {
    Verb verb;
    unsigned states;
    asio::awaitable<void> (Session::*handler)(const Command&);
    bool allowed_in(unsigned state) const { return (states & state) != 0; }
};

template <class Entry, std::size_t N, class Verb>
const Entry* find_command(const Entry (&table)[N], Verb verb) {
    for (const Entry& e : table)
        if (e.verb == verb) return &e;
    return nullptr;
}

// The outcome of a SASL exchange (RFC 4422 3): credentials, or why there are none.
struct SaslResult {
    enum class Status { ok, cancelled, bad_base64, malformed, too_long, ended };
    Status status = Status::ended;
    std::string authcid;
    std::string password;
    std::string authzid;
    bool ok() const { return status == Status::ok; }
};

class ProtocolSession {
public:
    virtual ~ProtocolSession();
    ProtocolSession(const ProtocolSession&) = delete;
    ProtocolSession& operator=(const ProtocolSession&) = delete;

    // The whole conversation; returns when the session is over (the server then closes).
    asio::awaitable<void> run();

protected:
    ProtocolSession(std::shared_ptr<net::Connection> connection, SessionEnvironment environment,
                    std::string_view protocol);

    // ---- what a protocol supplies ------------------------------------------------------
    virtual void greet() = 0;
    // Reads one command and handles it. Called until end() or the input ends.
    virtual asio::awaitable<void> serve_command() = 0;
    // The client's input ended (timeout, shutdown, disconnect): the protocol's last words
    // (a 421, "* BYE", "-ERR") and its log line. The session then ends.
    virtual void input_ended(net::ReadStatus why) = 0;
    // errors() reached max_errors(): the protocol's reply before the close.
    virtual void too_many_errors() = 0;
    // After a successful STARTTLS handshake: forget what was learned before it.
    virtual void tls_started() = 0;
    // A SASL challenge (base64, possibly empty) in the protocol's framing: "334 x", "+ x".
    virtual void send_sasl_challenge(std::string_view base64) = 0;
    virtual std::chrono::milliseconds command_timeout() const = 0;
    virtual unsigned max_errors() const = 0;
    // Runs after the loop: release what the session holds (a maildrop lock, ...).
    virtual asio::awaitable<void> finish();

    // ---- what the layer gives ------------------------------------------------------------
    net::Connection& connection() { return *connection_; }
    const net::Connection& connection() const { return *connection_; }
    SessionEnvironment& environment() { return environment_; }
    AsyncStore& store() { return environment_.store; }
    std::string_view protocol() const { return protocol_; }

    // The one writer of replies (STYLE 6): queues `wire` (complete lines with CRLF) and logs
    // it at debug level, `summary` standing for it if given (a multi-line reply's first line).
    void send(std::string_view wire, std::string_view summary = {});
    // Sends what is queued; false if the client is gone.
    asio::awaitable<bool> flush();

    // The next command line, read within the command deadline. nullopt when the input ended
    // (input_ended() was called; the session ends). A line over `max_length` comes back with
    // status too_long and counts as an error; when it was abandoned (far too long) the
    // session ends after the protocol's reply.
    asio::awaitable<std::optional<net::Line>> read_command_line(std::size_t max_length);
    // Starts the command deadline for a protocol with its own framing (IMAP literals).
    void start_command_deadline();

    void count_error() { ++errors_; }
    unsigned errors() const { return errors_; }
    void end() { done_ = true; }
    bool ended() const { return done_; }
    // After queuing the protocol's "go ahead" reply: the loop flushes it and runs the handshake.
    void start_tls_after_reply() { tls_requested_ = true; }
    // Once the queued replies are sent, both directions are DEFLATE-compressed from the next
    // octet on (IMAP COMPRESS, RFC 4978 3).
    void start_compression_after_reply() { compression_requested_ = true; }
    bool plaintext_allowed() const { return AuthService::plaintext_allowed(*connection_); }

    // SASL PLAIN or LOGIN: the exchange of challenges and responses, with the initial
    // response if the client sent one. Credentials are decoded, not checked.
    asio::awaitable<SaslResult> sasl_exchange(sasl::Mechanism mechanism, std::optional<std::string> initial_response);
    // Checks credentials through the AuthService (turns, delays, logging of failures).
    asio::awaitable<LoginResult> log_in(std::string_view mechanism, std::string_view authcid, std::string_view password,
                                        std::string_view authzid = {});

    asio::awaitable<void> pause(std::chrono::milliseconds delay);

private:
    asio::awaitable<void> upgrade_to_tls();
    // A line within the command deadline; nullopt when the input ended (after input_ended()).
    asio::awaitable<std::optional<net::Line>> read_within_deadline(std::size_t max_length);
    // A SASL response line; nullopt when the input ended.
    asio::awaitable<std::optional<net::Line>> read_sasl_line();
    // One response: the initial one if still unused, else the answer to `challenge`; a
    // response over the bound comes back longer than sasl::kMaxResponseLength.
    asio::awaitable<std::optional<std::string>> sasl_response(std::string_view challenge,
                                                              std::optional<std::string>& given);

    std::shared_ptr<net::Connection> connection_;
    SessionEnvironment environment_;
    std::string protocol_;
    unsigned errors_ = 0;
    bool done_ = false;
    bool tls_requested_ = false;
    bool compression_requested_ = false;
};

}  // namespace hikyaku::server
