// blocking_client.h: the client connection of client.h as blocking calls, for command-line
// programs (mailcli): each call runs the connection's own io_context until the operation
// completes or its deadline passes. One BlockingClient belongs to one thread at a time;
// N threads with one BlockingClient each download in parallel (no state is shared, and no
// Asio header is needed to use it).
//
// Every call takes a deadline; the default, ClientClock::time_point{}, means "now plus the
// timeout given to the constructor". A deadline bounds the whole call (a whole line, a
// whole response), not one socket read.
// Must never: block past a deadline, or throw (failures are NetStatus values and end the
// connection, except a read that only ran out of time: see client.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/net/client_status.h"

namespace hikyaku::net {

using ClientClock = std::chrono::steady_clock;

class BlockingClient {
public:
    explicit BlockingClient(std::chrono::milliseconds timeout);
    ~BlockingClient();
    BlockingClient(const BlockingClient&) = delete;
    BlockingClient& operator=(const BlockingClient&) = delete;

    std::chrono::milliseconds timeout() const { return timeout_; }

    // Resolves `host` (IPv4 and IPv6) and connects to the first address that accepts.
    NetStatus connect(const std::string& host, std::uint16_t port, ClientClock::time_point deadline = {});
    // TLS now (implicit TLS, or after the server accepted STARTTLS/STLS); verifies
    // `server_name` (empty: the host connected to) as `options` say.
    NetStatus start_tls(const ClientTlsOptions& options, const std::string& server_name = {},
                        ClientClock::time_point deadline = {});

    // One line without its line end; NetErrc::too_long past `max_length` octets.
    NetStatus read_line(std::string& line, std::size_t max_length, ClientClock::time_point deadline = {});
    // Appends exactly `count` octets to `out`.
    NetStatus read_exact(std::size_t count, std::string& out, ClientClock::time_point deadline = {});
    // For incremental parsers: waits until more octets are buffered.
    NetStatus fill(ClientClock::time_point deadline = {});
    std::string_view buffered() const;
    void consume(std::size_t count);
    // Feeds buffered input to `parser` (feed(string_view) -> octets taken, done()) and reads
    // more until it is done: the whole response before the deadline.
    template <class Parser>
    NetStatus read_response(Parser& parser, ClientClock::time_point deadline = {}) {
        const ClientClock::time_point until = resolve(deadline);
        for (;;) {
            consume(parser.feed(buffered()));
            if (parser.done()) return {};
            NetStatus status = fill(until);
            if (!status) return status;
        }
    }
    // For a response of any length (a message body): as long as the parser keeps taking
    // lines, each within the timeout of the one before (see ClientConnection).
    template <class Parser>
    NetStatus read_long_response(Parser& parser) {
        ClientClock::time_point deadline = ClientClock::now() + timeout_;
        for (;;) {
            const std::size_t taken = parser.feed(buffered());
            consume(taken);
            if (parser.done()) return {};
            if (taken > 0) deadline = ClientClock::now() + timeout_;
            NetStatus status = fill(deadline);
            if (!status) return status;
        }
    }

    // `line` and CRLF; the trace shows `trace_as` instead when given (credentials).
    NetStatus write_line(std::string_view line, std::string_view trace_as = {}, ClientClock::time_point deadline = {});
    // Bytes as they are (a message), traced as TraceEvent::data.
    NetStatus write(std::string_view bytes, ClientClock::time_point deadline = {});

    void close();
    bool is_open() const;
    bool is_tls() const;
    void set_trace(TraceHook hook);
    void trace(TraceEvent event, std::string_view text) const;

private:
    ClientClock::time_point resolve(ClientClock::time_point deadline) const {
        return deadline == ClientClock::time_point{} ? ClientClock::now() + timeout_ : deadline;
    }

    struct Impl;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hikyaku::net
