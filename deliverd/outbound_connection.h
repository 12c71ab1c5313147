// outbound_connection.h: one SMTP client connection of deliverd to a receiving server: the
// pure client session (common/client/smtp_client_session.h) driven over the suite's client
// connection (common/net/client.h: deadlines, TLS, certificate checks). A connection opens
// once (greeting, EHLO, STARTTLS, AUTH) and then carries any number of transactions, one
// message each, until quit() (Postfix's connection reuse: the speed of a queue with many
// messages to one domain is mostly the handshakes it saves).
//
// Timeouts (RFC 5321 4.5.3.2): the greeting and every reply within [delivery]
// command_timeout, the reply to the end of a message within data_timeout, the connection
// within connect_timeout. A timeout or a broken connection ends the session; the
// recipients of a transaction in progress are then temporary failures (421).
// With a DANE peer check in the plan, the STARTTLS handshake (or implicit TLS) fails unless
// the certificate matches one of its TLSA records, and the session then ends before MAIL.
// Must never: send a message to a server that has not accepted a recipient; keep going
// after the session failed; trace a password; send over a connection whose DANE check failed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/client/smtp_client_session.h"
#include "common/net/client.h"

namespace hikyaku::deliverd {

namespace asio = boost::asio;

struct ConnectionTimeouts {
    std::chrono::seconds connect{30};
    std::chrono::seconds command{300};
    std::chrono::seconds data{600};
};

struct ConnectionPlan {
    std::string host;     // the name TLS verifies and logs show (MX or relay host)
    std::string address;  // the IP to connect to
    std::uint16_t port = 25;
    bool implicit_tls = false;
    client::SmtpClientOptions session;
    std::shared_ptr<asio::ssl::context> tls;  // for STARTTLS or implicit TLS; null: none
    // DANE (tls = "dane" with usable TLSA records): the certificate must match one of these,
    // `host` being the TLSA base domain; `tls` is then a context made for DANE.
    net::TlsPeerCheck peer_check;
};

class OutboundConnection {
public:
    OutboundConnection(asio::any_io_executor executor, ConnectionTimeouts timeouts);

    // Connects and opens the session; false with failure() set when it did not get there.
    asio::awaitable<bool> open(const ConnectionPlan& plan);
    // One message; the transaction's outcome, or nullopt-like failure when the session ended
    // (every recipient then carries the failure).
    asio::awaitable<client::SmtpTransactionResult> send(client::SmtpEnvelope envelope, std::string_view message);
    // QUIT, then close (within the command timeout).
    asio::awaitable<void> quit();
    void close();

    bool usable() const { return session_ && session_->step() == client::SmtpClientStep::ready; }
    bool tls() const { return session_ && session_->tls(); }
    const std::string& failure() const { return failure_; }
    // With TLS: the version and how the certificate was verified (client.h tls_summary()).
    const std::string& tls_summary() const { return tls_summary_; }
    const std::string& peer() const { return peer_; }  // "host[address]:port" for logs

private:
    asio::awaitable<void> drive(std::string_view message);
    std::chrono::steady_clock::time_point deadline(std::chrono::seconds bound) const {
        return std::chrono::steady_clock::now() + bound;
    }

    ConnectionTimeouts timeouts_;
    std::shared_ptr<net::ClientConnection> connection_;
    std::optional<client::SmtpClientSession> session_;
    std::shared_ptr<asio::ssl::context> tls_context_;
    net::TlsPeerCheck peer_check_;
    std::string host_;
    std::string tls_summary_;
    std::string peer_;
    std::string failure_;
};

}  // namespace hikyaku::deliverd
