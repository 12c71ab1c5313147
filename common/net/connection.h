// connection.h: what a protocol session sees of its client (the session API).
//
// One Connection per client. A session coroutine reads with read_line()/read_exact() (or
// fill()/buffered()/consume() for incremental parsers such as DATA and IMAP literals),
// queues replies with write() and sends them with flush(). Every read is bounded: a line
// longer than the maximum is reported as ReadStatus::too_long after the rest of it has been
// discarded (the protocol chooses the reply), never buffered without bound, never thrown; a
// line that goes on past kMaxDiscardedLine is given up (Line::abandoned) and the session ends.
// Time limits: every read and write has a deadline (set_timeout, per operation), and a
// session may set a command deadline (set_command_deadline) that no read passes while it
// is set, so a whole command must arrive in time, however slowly its bytes trickle in
// (slowloris). When a deadline passes, the pending operation ends with ReadStatus::timeout
// so the session can say goodbye (RFC 5321 4.5.3.2, RFC 1939 3 autologout).
// Wake-ups: a session waiting for input can also be woken (wake()), so it can wait for "a
// line or a store change, whichever comes first" (IMAP IDLE).
// STARTTLS: start_tls() discards whatever plaintext the client pipelined after the command
// (RFC 3207 4, CVE-2011-0411 class) before the handshake.
// Must never: read past a bound, block its worker thread, let an exception escape to it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/net/transport.h"

namespace hikyaku::net {

enum class ReadStatus {
    ok,
    too_long,  // line over the maximum; the whole line was consumed and dropped
    eof,       // the client closed (or half-closed) the connection
    timeout,   // the deadline passed while waiting for the client
    shutdown,  // the daemon is stopping; say goodbye and end
    error,     // a transport error (reset, TLS failure)
    woken,     // wake() was called while a wakeable read waited (input so far stays buffered)
};

// A line over the maximum is read on (and dropped) up to its end; one longer than this is
// given up without waiting for its end (Line::abandoned).
inline constexpr std::size_t kMaxDiscardedLine = 1024 * 1024;

const char* to_string(ReadStatus status);

struct Line {
    ReadStatus status = ReadStatus::ok;
    std::string text;        // without the line terminator
    bool bare_lf = false;    // ended by LF without a preceding CR
    bool has_nul = false;    // contains a NUL octet
    bool abandoned = false;  // too_long, and still no end after kMaxDiscardedLine: close
    bool ok() const { return status == ReadStatus::ok; }
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::any_io_executor executor, std::unique_ptr<Transport> transport, std::string peer_address,
               uint16_t peer_port, uint16_t local_port, unsigned worker);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // --- reading -----------------------------------------------------------------------
    // Reads one line terminated by LF (CRLF or bare LF; see Line::bare_lf). `max_length`
    // counts the octets before the terminator. A wakeable read also ends with
    // ReadStatus::woken when wake() is called before the line is complete.
    enum class Wakeable { no, yes };
    asio::awaitable<Line> read_line(std::size_t max_length, Wakeable wakeable = Wakeable::no);
    // Appends exactly `count` octets to `out` (IMAP literals, BDAT chunks).
    asio::awaitable<ReadStatus> read_exact(std::size_t count, std::string& out);
    // For incremental parsers: waits until at least one more octet is buffered.
    asio::awaitable<ReadStatus> fill(Wakeable wakeable = Wakeable::no);
    std::string_view buffered() const { return std::string_view(in_).substr(in_start_); }
    void consume(std::size_t count);
    bool has_buffered_input() const { return in_start_ < in_.size(); }

    // --- writing -----------------------------------------------------------------------
    void write(std::string_view bytes) { out_.append(bytes); }
    // The pending output itself, for an encoder that appends in place (POP3 dot-stuffing of a
    // message body) instead of building a copy to pass to write().
    std::string& pending_output_buffer() { return out_; }
    std::size_t pending_output() const { return out_.size(); }
    // Sends everything queued; false if the client is gone or the deadline passed.
    asio::awaitable<bool> flush();

    // --- TLS ---------------------------------------------------------------------------
    bool can_start_tls() const { return transport_->can_start_tls() && tls_context_ != nullptr; }
    void set_tls_context(std::shared_ptr<asio::ssl::context> context) { tls_context_ = std::move(context); }
    // Server-side upgrade after the protocol said "go ahead". Queued output must have been
    // flushed. Returns false if the handshake failed (the session must end).
    asio::awaitable<bool> start_tls();
    // Client-side upgrade (mailcli, bench): verifies `server_name` unless the context does not.
    asio::awaitable<bool> start_tls_client(const std::string& server_name);
    // Wraps a fresh connection in implicit TLS (ports 465, 993, 995).
    asio::awaitable<bool> accept_tls();
    bool is_tls() const { return transport_->is_tls(); }
    std::string tls_version() const { return transport_->tls_version(); }
    std::string tls_cipher() const { return transport_->tls_cipher(); }
    std::size_t discarded_after_starttls() const { return discarded_after_starttls_; }

    // --- compression (IMAP COMPRESS=DEFLATE, RFC 4978) -------------------------------------
    // From the next octet on, what is read is inflated and what is flushed is deflated (over
    // TLS when TLS is on). Octets already buffered are taken as compressed. Queued output
    // must have been flushed. False if compression is already on or zlib has no memory.
    bool start_deflate();
    bool is_compressed() const { return compressed_; }

    // --- time limits ---------------------------------------------------------------------
    // Deadline for each read and write from now on.
    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
    std::chrono::milliseconds timeout() const { return timeout_; }
    // No read waits past `deadline` until the next call (time_point::max() clears it): the
    // whole command must have arrived by then.
    void set_command_deadline(std::chrono::steady_clock::time_point deadline) { command_deadline_ = deadline; }
    void clear_command_deadline() { command_deadline_ = std::chrono::steady_clock::time_point::max(); }

    // --- wake-ups ----------------------------------------------------------------------------
    // Ends a wakeable read that waits for input with ReadStatus::woken, or, if none waits,
    // the next one at once. Call it on the connection's executor.
    void wake();
    // Ends pending and future reads with ReadStatus::shutdown (graceful stop of the daemon).
    void request_shutdown();
    bool shutdown_requested() const { return shutdown_requested_; }
    // Runs beside the session (the server does this): enforces the deadlines.
    asio::awaitable<void> watchdog();
    void close();

    // --- who and what ------------------------------------------------------------------
    uint64_t id() const { return id_; }
    const std::string& peer_address() const { return peer_address_; }
    uint16_t peer_port() const { return peer_port_; }
    uint16_t local_port() const { return local_port_; }
    unsigned worker() const { return worker_; }
    bool peer_is_loopback() const;
    uint64_t bytes_in() const { return bytes_in_; }
    uint64_t bytes_out() const { return bytes_out_; }
    asio::any_io_executor executor() const { return executor_; }
    // "conn=12 peer=127.0.0.1:5000" for log lines.
    std::string log_prefix() const;

private:
    asio::awaitable<ReadStatus> read_more(Wakeable wakeable = Wakeable::no);
    void arm_deadline();
    void disarm_deadline();

    asio::any_io_executor executor_;
    std::unique_ptr<Transport> transport_;
    std::shared_ptr<asio::ssl::context> tls_context_;
    asio::steady_timer watchdog_timer_;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
    std::chrono::milliseconds timeout_{std::chrono::minutes(5)};
    std::chrono::steady_clock::time_point command_deadline_ = std::chrono::steady_clock::time_point::max();
    bool timed_out_ = false;
    bool wake_pending_ = false;       // wake() was called and no wakeable read has seen it yet
    bool waiting_for_input_ = false;  // a wakeable read waits in wait_readable()
    bool woken_ = false;              // the wait was cancelled by wake()
    bool shutdown_requested_ = false;
    bool closed_ = false;
    bool compressed_ = false;

    std::string in_;
    std::size_t in_start_ = 0;
    std::string out_;
    std::size_t discarded_after_starttls_ = 0;

    uint64_t id_;
    std::string peer_address_;
    uint16_t peer_port_;
    uint16_t local_port_;
    unsigned worker_;
    uint64_t bytes_in_ = 0;
    uint64_t bytes_out_ = 0;
};

}  // namespace hikyaku::net
