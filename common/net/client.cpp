// client.cpp: the client end of a connection (see client.h).
#include "common/net/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "common/client/line_scan.h"

namespace hikyaku::net {

namespace {

namespace ssl = asio::ssl;

inline auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Each fill() reads up to this much at once.
constexpr std::size_t kReadChunk = 64 * 1024;
// A line buffer larger than this is given back after use. (The input buffer is given back
// whenever it is drained, so an idle connection of the load generator holds none.)
constexpr std::size_t kKeepCapacity = 64 * 1024;

// DANE (RFC 7671, RFC 7672 3) on a connection not yet shaken hands: `name` is the TLSA base
// domain and the reference identifier for names (RFC 7672 3.2.2); DANE-EE(3) matches skip
// name checks (3.1.1); no partial wildcards such as "mx*.example" (3.2.3). Records OpenSSL
// cannot use (a full certificate that does not parse) are left out; with none left, fail.
NetStatus add_dane_records(SSL* ssl, const std::string& name, const TlsPeerCheck& check) {
    if (SSL_dane_enable(ssl, name.c_str()) <= 0) {
        ERR_clear_error();
        return {NetErrc::tls, "cannot enable DANE for " + name + " (the TLS context is not made for DANE)"};
    }
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int added = 0;
    for (const auto& r : check.tlsa) {
        const auto* data = reinterpret_cast<const unsigned char*>(r.data.data());
        if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, data, r.data.size()) > 0) ++added;
    }
    ERR_clear_error();
    if (added == 0) return {NetErrc::tls, "none of the TLSA records of " + name + " can be used"};
    return {};
}

// "DANE TLSA 3 1 1 matched at depth 0" after a verified handshake; "" without a match.
std::string dane_match(SSL* ssl) {
    std::uint8_t usage = 0, selector = 0, matching = 0;
    const unsigned char* data = nullptr;
    std::size_t length = 0;
    const int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &matching, &data, &length);
    if (depth < 0) return {};
    return "DANE TLSA " + std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(matching) +
           " matched at depth " + std::to_string(depth);
}

bool is_ip_address(const std::string& name) {
    error_code ec;
    (void)asio::ip::make_address(name, ec);
    return !ec;
}

// A plaintext answer to a ClientHello: the server does not speak TLS on this port.
bool is_not_tls_error(const error_code& ec) {
    if (ec.category() != asio::error::get_ssl_category()) return false;
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
           reason == SSL_R_UNKNOWN_PROTOCOL;
}

bool is_closed_error(const error_code& ec) {
    return ec == asio::error::eof || ec == ssl::error::stream_truncated || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

}  // namespace

NetStatus load_client_tls_context(const ClientTlsOptions& options, std::shared_ptr<ssl::context>& context) {
    auto made = std::make_shared<ssl::context>(ssl::context::tls_client);
    error_code ec;
    made->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
    SSL_CTX_set_min_proto_version(made->native_handle(), TLS1_2_VERSION);  // RFC 8996
    if (options.insecure) {
        made->set_verify_mode(ssl::verify_none, ec);
    } else if (options.dane) {
        // No CA store: a certificate is trusted only through the TLSA records start_tls adds
        // (with none added, start_tls refuses to go on rather than trust nothing or anything).
        if (SSL_CTX_dane_enable(made->native_handle()) <= 0)
            return {NetErrc::tls, "cannot enable DANE in the TLS context"};
        made->set_verify_mode(ssl::verify_peer, ec);
    } else {
        if (options.ca_file.empty()) {
            made->set_default_verify_paths(ec);
            if (ec) return {NetErrc::tls, "cannot load the system CA store: " + ec.message()};
        } else {
            made->load_verify_file(options.ca_file, ec);
            if (ec) return {NetErrc::tls, "cannot load CA file " + options.ca_file + ": " + ec.message()};
        }
        made->set_verify_mode(ssl::verify_peer, ec);
    }
    context = std::move(made);
    return {};
}

std::shared_ptr<ClientConnection> ClientConnection::create(asio::any_io_executor executor) {
    return std::shared_ptr<ClientConnection>(new ClientConnection(std::move(executor)));
}

ClientConnection::ClientConnection(asio::any_io_executor executor)
    : executor_(executor), resolver_(executor), socket_(executor), timer_(executor) {}

ClientConnection::~ClientConnection() { close(); }

// --- deadlines ---------------------------------------------------------------------------
// One timer per connection. It is re-aimed only when a deadline comes earlier than the one
// it waits for; when it fires early (the deadline moved on), it waits again. So a busy
// connection touches its timer about once per timeout, not once per operation.

void ClientConnection::arm(ClientClock::time_point deadline) {
    deadline_ = deadline;
    expired_ = false;
    if (deadline == ClientClock::time_point::max()) return;
    if (timer_waiting_ && timer_.expiry() <= deadline) return;
    wait_for_deadline();
}

void ClientConnection::wait_for_deadline() {
    timer_.expires_at(deadline_);  // cancels a pending wait: its handler sees operation_aborted
    timer_waiting_ = true;
    timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        if (auto self = weak.lock()) self->on_timer();
    });
}

void ClientConnection::on_timer() {
    timer_waiting_ = false;
    if (deadline_ == ClientClock::time_point::max()) return;
    if (ClientClock::now() < deadline_) {
        wait_for_deadline();
        return;
    }
    expired_ = true;
    resolver_.cancel();
    error_code ignored;
    socket_.cancel(ignored);
    if (transport_) transport_->cancel();
}

// --- connecting ----------------------------------------------------------------------------

asio::awaitable<NetStatus> ClientConnection::connect(std::string host, std::uint16_t port,
                                                     ClientClock::time_point deadline) {
    close();
    host_ = host;
    const std::string where = host + " port " + std::to_string(port);
    std::vector<asio::ip::tcp::endpoint> endpoints;
    error_code ec;
    const asio::ip::address literal = asio::ip::make_address(host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, port);
    } else {
        arm(deadline);
        auto results = co_await resolver_.async_resolve(host, std::to_string(port), use_ec(ec));
        disarm();
        if (expired_) co_return NetStatus{NetErrc::timeout, "timed out resolving " + host};
        if (ec) co_return NetStatus{NetErrc::resolve, "cannot resolve " + host + ": " + ec.message()};
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    std::string last_error = "no address";
    for (const auto& endpoint : endpoints) {
        ec = co_await try_connect(endpoint, deadline);
        if (!ec) co_return NetStatus{};
        if (expired_) co_return NetStatus{NetErrc::timeout, "timed out connecting to " + where};
        last_error = ec.message();
    }
    co_return NetStatus{NetErrc::connect, "cannot connect to " + where + ": " + last_error};
}

asio::awaitable<NetStatus> ClientConnection::connect(asio::ip::tcp::endpoint endpoint,
                                                     ClientClock::time_point deadline) {
    close();
    host_ = endpoint.address().to_string();
    const std::string where = host_ + " port " + std::to_string(endpoint.port());
    const error_code ec = co_await try_connect(endpoint, deadline);
    if (!ec) co_return NetStatus{};
    if (expired_) co_return NetStatus{NetErrc::timeout, "timed out connecting to " + where};
    co_return NetStatus{NetErrc::connect, "cannot connect to " + where + ": " + ec.message()};
}

asio::awaitable<error_code> ClientConnection::try_connect(asio::ip::tcp::endpoint endpoint,
                                                          ClientClock::time_point deadline) {
    error_code ec;
    arm(deadline);
    co_await socket_.async_connect(endpoint, use_ec(ec));
    disarm();
    if (ec) {
        error_code ignored;
        socket_.close(ignored);
        co_return ec;
    }
    // Commands go out whole, each followed by a wait for the reply: Nagle would only delay them.
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    transport_ = std::make_unique<PlainTransport>(std::move(socket_));
    socket_ = asio::ip::tcp::socket(executor_);
    co_return error_code{};
}

void ClientConnection::adopt(std::unique_ptr<Transport> transport, std::string host) {
    close();
    transport_ = std::move(transport);
    host_ = std::move(host);
}

asio::awaitable<NetStatus> ClientConnection::start_tls(std::shared_ptr<ssl::context> context, std::string server_name,
                                                       ClientClock::time_point deadline, TlsPeerCheck peer_check) {
    tls_summary_.clear();
    if (transport_ && transport_->is_tls()) co_return NetStatus{NetErrc::io, "TLS is already active"};
    if (!transport_ || !transport_->can_start_tls()) co_return not_open();
    // RFC 3207 4.2, RFC 2595 4: nothing read before the handshake came through TLS.
    in_begin_ = in_end_ = 0;
    release_input_if_drained();
    const std::string name = server_name.empty() ? host_ : server_name;
    auto tls = std::make_unique<TlsTransport>(transport_->release_socket(), context);
    TlsTransport* raw = tls.get();
    transport_ = std::move(tls);
    SSL* ssl = raw->native_handle();
    const bool ip = is_ip_address(name);
    if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());  // RFC 6066 3: never an address
    const bool verifying = SSL_CTX_get_verify_mode(context->native_handle()) != SSL_VERIFY_NONE;
    const bool dane = !peer_check.empty();
    if (dane) {
        NetStatus added = add_dane_records(ssl, name, peer_check);
        if (!added) {
            close();
            co_return added;
        }
    } else if (verifying) {
        const int set =
            ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) : SSL_set1_host(ssl, name.c_str());
        if (set != 1) {
            close();
            co_return NetStatus{NetErrc::tls, "cannot check the certificate for the name \"" + name + "\""};
        }
    }
    error_code ec;
    arm(deadline);
    co_await raw->handshake(ssl::stream_base::client, ec);
    disarm();
    if (ec) {
        NetStatus status;
        const long verify = SSL_get_verify_result(ssl);
        if (expired_) {
            status = {NetErrc::timeout, "TLS handshake with " + name + " timed out"};
        } else if (verify != X509_V_OK) {
            status = {NetErrc::tls,
                      "TLS handshake with " + name + " failed: " +
                          (dane ? "DANE certificate check failed: " : "certificate verification failed: ") +
                          X509_verify_cert_error_string(verify)};
        } else if (is_not_tls_error(ec)) {
            status = {NetErrc::not_tls,
                      "TLS handshake with " + name + " failed: the server does not speak TLS on this port"};
        } else if (is_closed_error(ec)) {
            status = {NetErrc::tls, "the server closed the connection during the TLS handshake with " + name};
        } else {
            status = {NetErrc::tls, "TLS handshake with " + name + " failed: " + ec.message()};
        }
        ERR_clear_error();
        close();
        co_return status;
    }
    std::string how = verifying ? "certificate verified for " + name : "certificate NOT verified";
    if (dane) {
        how = dane_match(ssl);
        // The handshake verifies the peer, so it cannot succeed without a match; should it,
        // the connection is not used.
        if (how.empty()) {
            close();
            co_return NetStatus{NetErrc::tls, "TLS handshake with " + name + ": no DANE TLSA record matched"};
        }
    }
    tls_summary_ = raw->tls_version() + ", " + how;
    if (trace_) trace(TraceEvent::note, raw->tls_version() + ", " + raw->tls_cipher() + ", " + how);
    co_return NetStatus{};
}

// --- reading --------------------------------------------------------------------------------

asio::awaitable<NetStatus> ClientConnection::fill(ClientClock::time_point deadline) {
    if (!transport_) co_return not_open();
    if (in_capacity_ - in_end_ < kReadChunk) {
        const std::size_t held = in_end_ - in_begin_;
        if (in_capacity_ < held + kReadChunk) {
            const std::size_t capacity = std::max(held + kReadChunk, in_capacity_ * 2);
            auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
            if (held) std::memcpy(bigger.get(), in_.get() + in_begin_, held);
            in_ = std::move(bigger);
            in_capacity_ = capacity;
        } else if (held) {
            std::memmove(in_.get(), in_.get() + in_begin_, held);
        }
        in_begin_ = 0;
        in_end_ = held;
    }
    error_code ec;
    arm(deadline);
    const std::size_t n = co_await transport_->read_some(asio::buffer(in_.get() + in_end_, kReadChunk), ec);
    disarm();
    if (ec) co_return fail(ec, "waiting for the server", /*keep_open_on_timeout=*/true);
    in_end_ += n;
    co_return NetStatus{};
}

void ClientConnection::consume(std::size_t count) {
    in_begin_ += std::min(count, in_end_ - in_begin_);
    release_input_if_drained();
}

void ClientConnection::release_input_if_drained() {
    if (in_begin_ != in_end_) return;
    in_begin_ = in_end_ = 0;
    in_.reset();
    in_capacity_ = 0;
}

asio::awaitable<NetStatus> ClientConnection::read_line(std::string& line, std::size_t max_length,
                                                       ClientClock::time_point deadline) {
    for (;;) {
        std::string_view text;
        std::size_t length = 0;
        const client::LineScan scan = client::scan_line(buffered(), max_length, text, length);
        if (scan == client::LineScan::line) {
            line.assign(text);
            consume(length);
            trace(TraceEvent::received, line);
            co_return NetStatus{};
        }
        if (scan == client::LineScan::too_long) {
            close();
            co_return NetStatus{NetErrc::too_long,
                                "the server sent a line longer than " + std::to_string(max_length) + " bytes"};
        }
        const bool partial = in_end_ != in_begin_;
        NetStatus status = co_await fill(deadline);
        if (!status) {
            if (status.code == NetErrc::closed && partial) status.message += " in the middle of a line";
            co_return status;
        }
    }
}

asio::awaitable<NetStatus> ClientConnection::read_exact(std::size_t count, std::string& out,
                                                        ClientClock::time_point deadline) {
    while (count > 0) {
        if (in_begin_ == in_end_) {
            NetStatus status = co_await fill(deadline);
            if (!status) co_return status;
        }
        const std::size_t take = std::min(count, in_end_ - in_begin_);
        out.append(in_.get() + in_begin_, take);
        consume(take);
        count -= take;
    }
    co_return NetStatus{};
}

// --- writing --------------------------------------------------------------------------------

asio::awaitable<NetStatus> ClientConnection::send(std::string_view bytes, ClientClock::time_point deadline) {
    if (!transport_) co_return not_open();
    error_code ec;
    arm(deadline);
    co_await transport_->write_all(asio::buffer(bytes.data(), bytes.size()), ec);
    disarm();
    if (ec) co_return fail(ec, "sending to the server", /*keep_open_on_timeout=*/false);
    co_return NetStatus{};
}

asio::awaitable<NetStatus> ClientConnection::write_line(std::string_view line, ClientClock::time_point deadline,
                                                        std::string_view trace_as) {
    trace(TraceEvent::sent, trace_as.empty() ? line : trace_as);
    out_.assign(line);
    out_ += "\r\n";
    NetStatus status = co_await send(out_, deadline);
    if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
    co_return status;
}

asio::awaitable<NetStatus> ClientConnection::write(std::string_view bytes, ClientClock::time_point deadline) {
    trace(TraceEvent::data, bytes);
    co_return co_await send(bytes, deadline);
}

// --- state ------------------------------------------------------------------------------------

NetStatus ClientConnection::fail(const error_code& ec, std::string_view doing, bool keep_open_on_timeout) {
    NetStatus status;
    if (expired_) status = {NetErrc::timeout, "timed out " + std::string(doing)};
    else if (is_closed_error(ec)) status = {NetErrc::closed, "the server closed the connection"};
    else status = {NetErrc::io, std::string(doing) + ": " + ec.message()};
    ERR_clear_error();
    if (transport_ && !(expired_ && keep_open_on_timeout)) {
        transport_->close();
        transport_.reset();
    }
    return status;
}

NetStatus ClientConnection::not_open() const { return {NetErrc::io, "not connected"}; }

void ClientConnection::close() {
    if (transport_) {
        transport_->close();
        transport_.reset();
    }
    error_code ignored;
    socket_.close(ignored);
    resolver_.cancel();
    in_begin_ = in_end_ = 0;
    in_.reset();
    in_capacity_ = 0;
    disarm();
    // A closed connection leaves no timer behind (an io_context with none runs out of work).
    timer_.cancel();
    timer_waiting_ = false;
}

}  // namespace hikyaku::net
