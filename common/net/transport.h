// transport.h: the byte pipe under a session: plain TCP, TLS over TCP, or stdin/stdout.
//
// A session never sees which one it has; the Connection above it only calls read_some,
// write and close. STARTTLS replaces a PlainTransport with a TlsTransport over the same
// socket (RFC 3207 4, RFC 2595 4). Errors come back as error codes, never as exceptions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>

namespace hikyaku::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

class Transport {
public:
    virtual ~Transport() = default;
    virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) = 0;
    virtual asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) = 0;
    // Waits until a read would not block, holding no buffer meanwhile: this is what makes
    // an idle connection cost only its socket and coroutine frame.
    virtual asio::awaitable<void> wait_readable(error_code& ec) = 0;
    // Cancels pending reads and writes (they complete with operation_aborted).
    virtual void cancel() = 0;
    virtual void close() = 0;
    // Only plain TCP can be upgraded; it hands its socket over.
    virtual bool can_start_tls() const { return false; }
    virtual asio::ip::tcp::socket release_socket();
    virtual bool is_tls() const { return false; }
    virtual std::string tls_version() const { return {}; }
    virtual std::string tls_cipher() const { return {}; }
};

class PlainTransport final : public Transport {
public:
    explicit PlainTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override;
    asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) override;
    asio::awaitable<void> wait_readable(error_code& ec) override;
    void cancel() override;
    void close() override;
    bool can_start_tls() const override { return true; }
    asio::ip::tcp::socket release_socket() override { return std::move(socket_); }

private:
    asio::ip::tcp::socket socket_;
};

class TlsTransport final : public Transport {
public:
    // The context is shared so that a SIGHUP reload never pulls it from under a session.
    TlsTransport(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> context);
    // Server-side or client-side handshake.
    asio::awaitable<void> handshake(asio::ssl::stream_base::handshake_type type, error_code& ec);
    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override;
    asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) override;
    asio::awaitable<void> wait_readable(error_code& ec) override;
    void cancel() override;
    void close() override;
    bool is_tls() const override { return true; }
    std::string tls_version() const override;
    std::string tls_cipher() const override;
    SSL* native_handle() { return stream_.native_handle(); }

private:
    std::shared_ptr<asio::ssl::context> context_;
    asio::ssl::stream<asio::ip::tcp::socket> stream_;
};

// inetd mode over pipes (socat STDIO, tests): stdin for reading, stdout for writing.
class PipeTransport final : public Transport {
public:
    PipeTransport(asio::any_io_executor executor, int in_fd, int out_fd);
    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override;
    asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) override;
    asio::awaitable<void> wait_readable(error_code& ec) override;
    void cancel() override;
    void close() override;

private:
    asio::posix::stream_descriptor in_;
    asio::posix::stream_descriptor out_;
};

}  // namespace hikyaku::net
