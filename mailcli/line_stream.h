// line_stream.h: mailcli's client connection: a blocking TCP socket with a deadline on every
// read and write, bounded line reads, optional TLS (implicit or upgraded by STARTTLS/STLS)
// verified against the system store or a given CA file, and the --trace transcript.
//
// Every protocol module (SMTP, POP3, later IMAP) talks through one LineStream, so timeouts,
// line bounds and tracing behave the same everywhere.
// Must never: wait on the network past its timeout, buffer a line past its bound, print a
// secret in the trace (callers pass a masked text for credential lines), skip certificate
// verification unless the caller asked for --insecure.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hikyaku::mailcli {

enum class TlsMode { none, starttls, tls };

struct TlsOptions {
    std::string ca_file;    // trust this certificate (PEM) instead of the system store
    bool insecure = false;  // no certificate verification at all (explicit --insecure)
};

// Where and how a protocol module connects (from the accounts file and flags).
struct ServerSettings {
    std::string host;
    std::uint16_t port = 0;
    TlsMode tls = TlsMode::starttls;
    TlsOptions tls_options;
    std::string user;                       // empty: no authentication (SMTP only)
    std::function<std::string()> password;  // asked only when needed
    std::chrono::milliseconds timeout{30000};
    bool trace = false;
};

class LineStream {
public:
    // Connects to host:port within `timeout`; CliError(connection) on failure.
    LineStream(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
               bool trace);
    ~LineStream();
    LineStream(const LineStream&) = delete;
    LineStream& operator=(const LineStream&) = delete;

    // TLS handshake over the connection; CliError(tls) when it or verification fails.
    // Unread plaintext received before the upgrade is discarded (RFC 3207 4.2).
    void start_tls(const std::string& server_name, const TlsOptions& options);
    bool tls_active() const { return ssl_ != nullptr; }

    // One line without its line end (CRLF or LF). CliError(connection) on timeout or close,
    // CliError(protocol) when the line exceeds max_length bytes.
    // The line is traced unless `quiet` (bulk message data traces a summary instead).
    std::string read_line(std::size_t max_length, bool quiet = false);

    // Writes `line` + CRLF. The trace shows `trace_as` instead when it is given (credentials).
    void write_line(std::string_view line, std::string_view trace_as = {});
    // Writes bytes as they are; the trace shows their first lines.
    void write_raw(std::string_view bytes);

    // Traces a server line read by the caller in bulk (message data); no-op without --trace.
    void trace_server(std::string_view line);
    bool tracing() const { return trace_; }

private:
    void write_all(std::string_view bytes);
    std::size_t fill();  // reads more bytes into buffer_, returns how many (never 0)
    int remaining_ms(std::chrono::steady_clock::time_point deadline) const;

    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::chrono::milliseconds timeout_;
    bool trace_ = false;
    std::string buffer_;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace hikyaku::mailcli
