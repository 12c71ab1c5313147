// transport.cpp: plain, TLS and pipe transports (see transport.h).
#include "common/net/transport.h"

#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace hikyaku::net {

namespace {
inline auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
}  // namespace

asio::ip::tcp::socket Transport::release_socket() { throw std::logic_error("transport cannot be upgraded"); }

asio::awaitable<std::size_t> PlainTransport::read_some(asio::mutable_buffer buffer, error_code& ec) {
    co_return co_await socket_.async_read_some(buffer, use_ec(ec));
}
asio::awaitable<void> PlainTransport::write_all(asio::const_buffer buffer, error_code& ec) {
    co_await asio::async_write(socket_, buffer, use_ec(ec));
}
asio::awaitable<void> PlainTransport::wait_readable(error_code& ec) {
    co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_ec(ec));
}
void PlainTransport::cancel() {
    error_code ignored;
    socket_.cancel(ignored);
}
void PlainTransport::close() {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> context)
    : context_(std::move(context)), stream_(std::move(socket), *context_) {}

asio::awaitable<void> TlsTransport::handshake(asio::ssl::stream_base::handshake_type type, error_code& ec) {
    co_await stream_.async_handshake(type, use_ec(ec));
}
asio::awaitable<std::size_t> TlsTransport::read_some(asio::mutable_buffer buffer, error_code& ec) {
    co_return co_await stream_.async_read_some(buffer, use_ec(ec));
}
asio::awaitable<void> TlsTransport::write_all(asio::const_buffer buffer, error_code& ec) {
    co_await asio::async_write(stream_, buffer, use_ec(ec));
}
asio::awaitable<void> TlsTransport::wait_readable(error_code& ec) {
    // Bytes may already wait inside the TLS layer, where socket readiness cannot see them:
    // decrypted (SSL_pending), in an unprocessed record (SSL_has_pending), or read from the
    // socket into the BIO pair by the handshake but not yet given to OpenSSL (BIO_pending).
    SSL* ssl = stream_.native_handle();
    if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) || BIO_pending(SSL_get_rbio(ssl)) > 0) co_return;
    co_await stream_.next_layer().async_wait(asio::ip::tcp::socket::wait_read, use_ec(ec));
}
void TlsTransport::cancel() {
    error_code ignored;
    stream_.next_layer().cancel(ignored);
}
void TlsTransport::close() {
    // No close_notify exchange: it could block on a peer that has gone; the socket close
    // is what ends the session (RFC 8446 6.1 allows the peer to see a truncation).
    error_code ignored;
    stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.next_layer().close(ignored);
}
std::string TlsTransport::tls_version() const {
    return SSL_get_version(const_cast<asio::ssl::stream<asio::ip::tcp::socket>&>(stream_).native_handle());
}
std::string TlsTransport::tls_cipher() const {
    auto* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket>&>(stream_).native_handle();
    const char* name = SSL_get_cipher_name(ssl);
    return name ? name : "";
}

PipeTransport::PipeTransport(asio::any_io_executor executor, int in_fd, int out_fd)
    : in_(executor, ::dup(in_fd)), out_(executor, ::dup(out_fd)) {}

asio::awaitable<std::size_t> PipeTransport::read_some(asio::mutable_buffer buffer, error_code& ec) {
    co_return co_await in_.async_read_some(buffer, use_ec(ec));
}
asio::awaitable<void> PipeTransport::write_all(asio::const_buffer buffer, error_code& ec) {
    co_await asio::async_write(out_, buffer, use_ec(ec));
}
asio::awaitable<void> PipeTransport::wait_readable(error_code& ec) {
    co_await in_.async_wait(asio::posix::stream_descriptor::wait_read, use_ec(ec));
}
void PipeTransport::cancel() {
    error_code ignored;
    in_.cancel(ignored);
    out_.cancel(ignored);
}
void PipeTransport::close() {
    error_code ignored;
    in_.close(ignored);
    out_.close(ignored);
}

}  // namespace hikyaku::net
