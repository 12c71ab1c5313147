// server_connection.h: mailcli's connection to a server: the suite's client stack
// (common/net/blocking_client.h: deadlines, bounded reads, TLS verified against the system
// store or --ca, SNI) with mailcli's policy on top: settings from the accounts file and
// flags, failures turned into one-line CliErrors with their exit codes, the --trace
// transcript on stderr, and a greeting check that tells a user who forgot --tls tls on an
// implicit-TLS port (RFC 8314) so, instead of waiting and reporting a closed connection.
//
// Every protocol module (SMTP, POP3, IMAP) talks through one ServerConnection, so
// timeouts, bounds, messages and the trace behave the same everywhere.
// Must never: wait on the network past the timeout (the TLS probe has its own bound),
// print a secret in the trace (callers pass a masked text), skip certificate verification
// unless --insecure was given.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/client/greeting.h"
#include "common/net/blocking_client.h"

namespace hikyaku::mailcli {

enum class TlsMode { none, starttls, tls };

// Where and how a protocol module connects (from the accounts file and flags).
struct ServerSettings {
    std::string host;
    std::uint16_t port = 0;
    TlsMode tls = TlsMode::starttls;
    net::ClientTlsOptions tls_options;
    std::string user;                       // empty: no authentication (SMTP only)
    std::function<std::string()> password;  // asked only when needed
    std::chrono::milliseconds timeout{30000};
    bool trace = false;
};

// How long a server on 465, 993 or 995 may stay silent before mailcli, not asked for TLS,
// checks whether the port expects TLS (a TLS server waits for the client to speak first).
inline constexpr std::chrono::milliseconds kImplicitTlsPatience{3000};
// The bound of that check (a second connection and a TLS handshake).
inline constexpr std::chrono::milliseconds kTlsProbeTimeout{5000};

class ServerConnection {
public:
    // Connects, and starts TLS at once with --tls tls. `speaks`: the protocol mailcli
    // expects, for the messages about a server that speaks another one.
    ServerConnection(const ServerSettings& settings, client::ServerKind speaks);

    // Waits for the first bytes of the greeting (whole-timeout bound). Without --tls tls,
    // a server that stays silent is checked for speaking TLS (after kImplicitTlsPatience on
    // 465/993/995, after the timeout elsewhere): "this port expects TLS: use --tls tls".
    void await_greeting();
    // The server sent `first_line` where its greeting or reply should be and it is not the
    // expected protocol: throws "this is an SMTP server, not POP3" (or the like), or
    // "not a POP3 server: it said ..." when it is no known protocol.
    [[noreturn]] void wrong_server(std::string_view first_line) const;

    // TLS after the server accepted STARTTLS/STLS; CliError(tls) on failure.
    void start_tls();
    bool tls_active() const { return client_.is_tls(); }

    // Reads until `parser` is done (see BlockingClient::read_response): the whole response
    // within the timeout. Network failures throw; the parser's own verdict is the caller's.
    template <class Parser>
    void read_response(Parser& parser) {
        const net::NetStatus status = client_.read_response(parser);
        if (!status) fail(status);
    }
    // A response of any length (a message): each line within the timeout of the one before.
    template <class Parser>
    void read_long_response(Parser& parser) {
        const net::NetStatus status = client_.read_long_response(parser);
        if (!status) fail(status);
    }

    // Waits until the server has sent something, or `deadline` passes (false; the
    // connection stays open). IMAP IDLE waits this way between responses.
    bool wait_for_data(net::ClientClock::time_point deadline);

    // A response that may carry large literals (IMAP): read as long as each timeout period
    // brings at least `min_progress` octets (or the end), so a server that trickles a byte
    // now and then cannot hold the client for longer than the timeout.
    template <class Parser>
    void read_streamed_response(Parser& parser, std::size_t min_progress) {
        net::ClientClock::time_point deadline = net::ClientClock::now() + settings_.timeout;
        std::size_t since = 0;
        for (;;) {
            const std::size_t taken = parser.feed(client_.buffered());
            client_.consume(taken);
            if (parser.done()) return;
            since += taken;
            if (since >= min_progress) {
                deadline = net::ClientClock::now() + settings_.timeout;
                since = 0;
            }
            const net::NetStatus status = client_.fill(deadline);
            if (!status) fail(status);
        }
    }

    void write_line(std::string_view line, std::string_view trace_as = {});
    void write_data(std::string_view bytes);
    // Traces a line the caller parsed itself (responses are read whole by the parsers).
    void trace_received(std::string_view line) const { client_.trace(net::TraceEvent::received, line); }
    bool tracing() const { return settings_.trace; }
    const ServerSettings& settings() const { return settings_; }

private:
    [[noreturn]] void fail(const net::NetStatus& status) const;
    bool port_speaks_tls() const;

    ServerSettings settings_;
    client::ServerKind speaks_;
    net::BlockingClient client_;
};

// How many lines of a message body the trace shows before "[... more lines not shown]".
inline constexpr std::size_t kTraceDataLines = 40;

}  // namespace hikyaku::mailcli
