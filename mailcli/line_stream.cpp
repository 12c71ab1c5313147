// line_stream.cpp: sockets, deadlines and TLS for mailcli (see line_stream.h).
// Must never: block without a deadline, read a line past its bound, print secrets.
#include "mailcli/line_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

constexpr std::size_t kTraceDataLines = 40;

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    if (e == 0) return "unknown TLS error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\r') continue;
        if (c < 0x20 && c != '\t') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

LineStream::LineStream(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout, bool trace)
    : timeout_(timeout), trace_(trace) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
        throw CliError(ExitCode::connection, "cannot resolve " + host + ": " + gai_strerror(rc));
    }
    std::string last_error = "no address";
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        ai->ai_protocol);
        if (fd < 0) {
            last_error = std::strerror(errno);
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = poll(&p, 1, remaining_ms(deadline));
            if (rc == 0) {
                last_error = "timed out";
                rc = -1;
            } else if (rc > 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    last_error = std::strerror(err);
                    rc = -1;
                } else {
                    rc = 0;
                }
            } else {
                last_error = std::strerror(errno);
            }
        } else if (rc != 0) {
            last_error = std::strerror(errno);
        }
        if (rc != 0) {
            close(fd);
            continue;
        }
        // Blocking from here on, with kernel timeouts as a second guard under the deadlines
        // (an SSL_read may wait inside a record).
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        timeval tv{};
        tv.tv_sec = static_cast<long>(timeout_.count() / 1000);
        tv.tv_usec = static_cast<long>(timeout_.count() % 1000) * 1000;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        fd_ = fd;
    }
    freeaddrinfo(res);
    if (fd_ < 0) {
        throw CliError(ExitCode::connection,
                       "cannot connect to " + host + " port " + service + ": " + last_error);
    }
}

LineStream::~LineStream() {
    if (ssl_) {
        SSL_shutdown(ssl_);
        SSL_free(ssl_);
    }
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
}

int LineStream::remaining_ms(std::chrono::steady_clock::time_point deadline) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

void LineStream::start_tls(const std::string& server_name, const TlsOptions& options) {
    buffer_.clear();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) throw CliError(ExitCode::tls, "TLS: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (!options.insecure) {
        if (!options.ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
                throw CliError(ExitCode::tls, "cannot load CA file " + options.ca_file + ": " +
                                                  openssl_error());
            }
        } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
            throw CliError(ExitCode::tls, "cannot load the system CA store: " + openssl_error());
        }
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_) throw CliError(ExitCode::tls, "TLS: " + openssl_error());
    SSL_set_fd(ssl_, fd_);
    in6_addr ip6;
    in_addr ip4;
    const bool is_ip = inet_pton(AF_INET, server_name.c_str(), &ip4) == 1 ||
                       inet_pton(AF_INET6, server_name.c_str(), &ip6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    if (!options.insecure) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
        if (ok != 1) throw CliError(ExitCode::tls, "TLS: cannot set the name to verify");
    }
    if (SSL_connect(ssl_) != 1) {
        long verify = SSL_get_verify_result(ssl_);
        std::string why = verify != X509_V_OK
                              ? std::string("certificate verification failed: ") +
                                    X509_verify_cert_error_string(verify)
                              : openssl_error();
        if (errno == EAGAIN || errno == EWOULDBLOCK) why = "handshake timed out";
        throw CliError(ExitCode::tls, "TLS handshake with " + server_name + " failed: " + why);
    }
    if (trace_) {
        std::fprintf(stderr, "   [TLS %s, %s%s]\n", SSL_get_version(ssl_), SSL_get_cipher(ssl_),
                     options.insecure ? ", certificate NOT verified" : ", certificate verified");
    }
}

std::size_t LineStream::fill() {
    char chunk[16384];
    for (;;) {
        if (!ssl_ || SSL_pending(ssl_) == 0) {
            pollfd p{fd_, POLLIN, 0};
            int rc = poll(&p, 1, remaining_ms(deadline_));
            if (rc == 0) {
                throw CliError(ExitCode::connection,
                               "timed out after " + std::to_string(timeout_.count() / 1000) +
                                   " s waiting for the server");
            }
            if (rc < 0) {
                if (errno == EINTR) continue;
                throw CliError(ExitCode::connection, std::string("poll: ") + std::strerror(errno));
            }
        }
        long n;
        if (ssl_) {
            n = SSL_read(ssl_, chunk, sizeof chunk);
            if (n <= 0) {
                int err = SSL_get_error(ssl_, static_cast<int>(n));
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
                if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) {
                    throw CliError(ExitCode::connection, "the server closed the connection");
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    throw CliError(ExitCode::connection, "timed out waiting for the server");
                }
                if (err == SSL_ERROR_SYSCALL && errno == ECONNRESET) {
                    throw CliError(ExitCode::connection, "the server closed the connection (reset)");
                }
                if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
                    throw CliError(ExitCode::connection, "the server closed the connection");
                }
                throw CliError(ExitCode::connection, "TLS read failed: " + openssl_error());
            }
        } else {
            n = recv(fd_, chunk, sizeof chunk, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    throw CliError(ExitCode::connection, "timed out waiting for the server");
                }
                if (errno == ECONNRESET) {
                    throw CliError(ExitCode::connection, "the server closed the connection (reset)");
                }
                throw CliError(ExitCode::connection, std::string("read failed: ") + std::strerror(errno));
            }
            if (n == 0) throw CliError(ExitCode::connection, "the server closed the connection");
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return static_cast<std::size_t>(n);
    }
}

std::string LineStream::read_line(std::size_t max_length, bool quiet) {
    deadline_ = std::chrono::steady_clock::now() + timeout_;
    std::size_t scanned = 0;
    for (;;) {
        std::size_t lf = buffer_.find('\n', scanned);
        if (lf != std::string::npos) {
            std::size_t end = lf;
            if (end > 0 && buffer_[end - 1] == '\r') --end;
            if (end > max_length) break;
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, lf + 1);
            if (!quiet) trace_server(line);
            return line;
        }
        scanned = buffer_.size();
        if (buffer_.size() > max_length + 1) break;
        try {
            fill();
        } catch (const CliError& e) {
            if (!buffer_.empty() && std::string_view(e.what()).find("closed") != std::string_view::npos) {
                throw CliError(ExitCode::connection,
                               "the server closed the connection in the middle of a line");
            }
            throw;
        }
    }
    throw CliError(ExitCode::protocol, "the server sent a line longer than " +
                                           std::to_string(max_length) + " bytes");
}

void LineStream::write_all(std::string_view bytes) {
    while (!bytes.empty()) {
        long n;
        if (ssl_) {
            n = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
            if (n <= 0) {
                int err = SSL_get_error(ssl_, static_cast<int>(n));
                if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) continue;
                throw CliError(ExitCode::connection, "TLS write failed: " + openssl_error());
            }
        } else {
            n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    throw CliError(ExitCode::connection, "timed out sending to the server");
                }
                if (errno == EPIPE || errno == ECONNRESET) {
                    throw CliError(ExitCode::connection, "the server closed the connection while mailcli was sending");
                }
                throw CliError(ExitCode::connection, std::string("write failed: ") + std::strerror(errno));
            }
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void LineStream::write_line(std::string_view line, std::string_view trace_as) {
    if (trace_) {
        std::fprintf(stderr, "C: %s\n", printable(trace_as.empty() ? line : trace_as).c_str());
    }
    std::string out(line);
    out += "\r\n";
    write_all(out);
}

void LineStream::write_raw(std::string_view bytes) {
    if (trace_) {
        std::size_t pos = 0, lines = 0;
        while (pos < bytes.size() && lines < kTraceDataLines) {
            std::size_t lf = bytes.find('\n', pos);
            if (lf == std::string_view::npos) lf = bytes.size();
            std::fprintf(stderr, "C: %s\n", printable(bytes.substr(pos, lf - pos)).c_str());
            pos = lf + 1;
            ++lines;
        }
        if (pos < bytes.size()) {
            std::fprintf(stderr, "C: [... %zu more bytes not shown]\n", bytes.size() - pos);
        }
    }
    write_all(bytes);
}

void LineStream::trace_server(std::string_view line) {
    if (trace_) std::fprintf(stderr, "S: %s\n", printable(line).c_str());
}

}  // namespace hikyaku::mailcli
