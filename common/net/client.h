// client.h: the client end of one connection, for every program of the suite that talks to
// a mail server (mailcli, the load generator; later the IMAP client and deliverd): connect
// within a deadline (host name resolution, every IPv4 and IPv6 address in turn), plain TCP,
// implicit TLS (RFC 8314) or a STARTTLS/STLS upgrade (RFC 3207 4, RFC 2595 4), the server's
// certificate verified against the system store or a given CA file with the host name (or
// IP address) checked and sent as SNI (RFC 6066 3: names only, never an address), bounded
// line reads, exact-size reads (literals, bodies), incremental reads for the pure parsers in
// common/client, writes, and a trace hook (client_status.h).
//
// This is the asynchronous form: C++20 coroutines on the caller's executor, for programs
// with many connections on one thread (the load generator). A command-line program uses
// BlockingClient (blocking_client.h), which runs one of these on its own io_context.
//
// A deadline bounds a whole operation, not one socket read: read_line() fails with
// NetErrc::timeout when the line is not complete by then, however the server trickles it.
// Failures are NetStatus values and end the connection, except a read that only ran out of
// time (fill, read_line, read_exact): the caller may wait longer (mailcli does for a slow
// greeting) or close. Nothing throws.
// Must never: wait past a deadline, buffer a line past its maximum, skip certificate
// verification unless ClientTlsOptions::insecure says so, hand a secret to the trace hook
// (callers pass masked text), or keep plaintext that arrived before a TLS upgrade (it did
// not come through TLS: RFC 3207 4.2, RFC 2595 4).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/net/client_status.h"
#include "common/net/transport.h"

namespace hikyaku::net {

using ClientClock = std::chrono::steady_clock;

// A client TLS context: verification as `options` say, TLS 1.2 at least (RFC 8996). Loading
// the CA store takes milliseconds, so a program with many connections makes one and shares it.
NetStatus load_client_tls_context(const ClientTlsOptions& options, std::shared_ptr<asio::ssl::context>& context);

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
public:
    // Always owned by a shared_ptr: the deadline timer's handler holds a weak_ptr to it.
    static std::shared_ptr<ClientConnection> create(asio::any_io_executor executor);
    ~ClientConnection();
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    // --- connecting -----------------------------------------------------------------------
    // Resolves `host` and tries each address until one accepts, all before `deadline`.
    // A connection already open is closed first.
    asio::awaitable<NetStatus> connect(std::string host, std::uint16_t port, ClientClock::time_point deadline);
    // To an address resolved beforehand (the load generator resolves once).
    asio::awaitable<NetStatus> connect(asio::ip::tcp::endpoint endpoint, ClientClock::time_point deadline);
    // Takes a transport that is already connected (a memory link to a session in a test:
    // common/net/memory_transport.h). A connection already open is closed first.
    void adopt(std::unique_ptr<Transport> transport, std::string host);
    // TLS over the open connection (implicit TLS right after connect, or after the server
    // said yes to STARTTLS/STLS). Verifies `server_name` (empty: the host given to connect)
    // unless the context verifies nothing. Discards unread plaintext first.
    // With a non-empty `peer_check`, DANE decides instead (client_status.h): a certificate
    // that matches none of its records fails the handshake.
    asio::awaitable<NetStatus> start_tls(std::shared_ptr<asio::ssl::context> context, std::string server_name,
                                         ClientClock::time_point deadline, TlsPeerCheck peer_check = {});

    // --- reading --------------------------------------------------------------------------
    // One line without its line end (CRLF, or a bare LF). NetErrc::too_long when more than
    // `max_length` octets come before the LF. Traced as TraceEvent::received.
    asio::awaitable<NetStatus> read_line(std::string& line, std::size_t max_length, ClientClock::time_point deadline);
    // Appends exactly `count` octets to `out` (an IMAP literal, a body of known size).
    asio::awaitable<NetStatus> read_exact(std::size_t count, std::string& out, ClientClock::time_point deadline);
    // For incremental parsers: waits until more octets are buffered.
    asio::awaitable<NetStatus> fill(ClientClock::time_point deadline);
    std::string_view buffered() const { return std::string_view(in_.get() + in_begin_, in_end_ - in_begin_); }
    void consume(std::size_t count);
    // Feeds buffered input to `parser` (feed(string_view) -> octets taken, done()), reading
    // more until the parser is done: the whole response within `deadline`. The parser
    // bounds what it waits for (its line limit), so this cannot buffer without bound.
    template <class Parser>
    asio::awaitable<NetStatus> read_response(Parser& parser, ClientClock::time_point deadline) {
        for (;;) {
            consume(parser.feed(buffered()));
            if (parser.done()) co_return NetStatus{};
            NetStatus status = co_await fill(deadline);
            if (!status) co_return status;
        }
    }
    // The same for a response of any length (a message body): it may take as long as the
    // parser keeps taking lines, each within `idle` of the one before. A server that stalls,
    // or trickles a line more slowly than that, fails with NetErrc::timeout.
    template <class Parser>
    asio::awaitable<NetStatus> read_long_response(Parser& parser, ClientClock::duration idle) {
        ClientClock::time_point deadline = ClientClock::now() + idle;
        for (;;) {
            const std::size_t taken = parser.feed(buffered());
            consume(taken);
            if (parser.done()) co_return NetStatus{};
            if (taken > 0) deadline = ClientClock::now() + idle;
            NetStatus status = co_await fill(deadline);
            if (!status) co_return status;
        }
    }

    // --- writing --------------------------------------------------------------------------
    // Sends `line` and CRLF; the trace shows `trace_as` instead when given (credentials).
    asio::awaitable<NetStatus> write_line(std::string_view line, ClientClock::time_point deadline,
                                          std::string_view trace_as = {});
    // Sends bytes as they are (a message); traced as TraceEvent::data.
    asio::awaitable<NetStatus> write(std::string_view bytes, ClientClock::time_point deadline);

    // --- state ----------------------------------------------------------------------------
    void close();
    bool is_open() const { return transport_ != nullptr; }
    bool is_tls() const { return transport_ && transport_->is_tls(); }
    // After start_tls: how the certificate was verified, for logs ("TLSv1.3, DANE TLSA 3 1 1
    // matched at depth 0", "TLSv1.3, certificate verified for NAME", "TLSv1.3, not verified").
    const std::string& tls_summary() const { return tls_summary_; }
    const std::string& host() const { return host_; }
    asio::any_io_executor executor() const { return executor_; }

    void set_trace(TraceHook hook) { trace_ = std::move(hook); }
    bool tracing() const { return static_cast<bool>(trace_); }
    void trace(TraceEvent event, std::string_view text) const {
        if (trace_) trace_(event, text);
    }

private:
    explicit ClientConnection(asio::any_io_executor executor);

    asio::awaitable<error_code> try_connect(asio::ip::tcp::endpoint endpoint, ClientClock::time_point deadline);
    void arm(ClientClock::time_point deadline);
    void disarm() { deadline_ = ClientClock::time_point::max(); }
    void wait_for_deadline();
    void on_timer();
    // The status of a failed socket operation ("timed out " + doing, ...); closes the
    // connection, except after a read that only ran out of time.
    NetStatus fail(const error_code& ec, std::string_view doing, bool keep_open_on_timeout);
    asio::awaitable<NetStatus> send(std::string_view bytes, ClientClock::time_point deadline);
    NetStatus not_open() const;
    void release_input_if_drained();

    asio::any_io_executor executor_;
    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;          // while connecting; then inside transport_
    std::unique_ptr<Transport> transport_;  // plain or TLS once connected
    std::string host_;
    std::string tls_summary_;

    asio::steady_timer timer_;
    ClientClock::time_point deadline_ = ClientClock::time_point::max();
    bool timer_waiting_ = false;
    bool expired_ = false;

    std::unique_ptr<char[]> in_;  // octets read and not yet consumed: [in_begin_, in_end_)
    std::size_t in_capacity_ = 0, in_begin_ = 0, in_end_ = 0;
    std::string out_;  // a line and its CRLF, reused

    TraceHook trace_;
};

}  // namespace hikyaku::net
