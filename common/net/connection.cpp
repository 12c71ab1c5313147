// connection.cpp: bounded reads, deadlines, TLS upgrade (see connection.h).
#include "common/net/connection.h"

#include "common/net/deflate_transport.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <cstring>

namespace hikyaku::net {

namespace {
std::atomic<uint64_t> next_connection_id{1};
// Read in chunks of this size; an idle connection holds no read buffer at all.
constexpr std::size_t read_chunk = 16 * 1024;
// Buffers larger than this are released once drained, so a burst does not pin memory.
constexpr std::size_t keep_capacity = 64 * 1024;
}  // namespace

const char* to_string(ReadStatus status) {
    switch (status) {
        case ReadStatus::ok: return "ok";
        case ReadStatus::too_long: return "line too long";
        case ReadStatus::eof: return "connection closed by client";
        case ReadStatus::timeout: return "timeout";
        case ReadStatus::shutdown: return "server shutting down";
        case ReadStatus::error: return "connection error";
        case ReadStatus::woken: return "woken";
    }
    return "?";
}

Connection::Connection(asio::any_io_executor executor, std::unique_ptr<Transport> transport, std::string peer_address,
                       uint16_t peer_port, uint16_t local_port, unsigned worker)
    : executor_(executor),
      transport_(std::move(transport)),
      watchdog_timer_(executor),
      id_(next_connection_id++),
      peer_address_(std::move(peer_address)),
      peer_port_(peer_port),
      local_port_(local_port),
      worker_(worker) {}

Connection::~Connection() = default;

bool Connection::peer_is_loopback() const {
    const std::string& a = peer_address_;
    return a.rfind("127.", 0) == 0 || a == "::1" || a.rfind("::ffff:127.", 0) == 0 || a == "local";
}

std::string Connection::log_prefix() const {
    return "conn=" + std::to_string(id_) + " peer=" + peer_address_ + ":" + std::to_string(peer_port_);
}

void Connection::arm_deadline() {
    deadline_ = std::min(std::chrono::steady_clock::now() + timeout_, command_deadline_);
    // Wake the watchdog if it sleeps past the new deadline.
    if (watchdog_timer_.expiry() > deadline_) watchdog_timer_.cancel();
}

void Connection::disarm_deadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

asio::awaitable<void> Connection::watchdog() {
    auto self = shared_from_this();  // the watchdog keeps the connection alive until close()
    while (!closed_) {
        watchdog_timer_.expires_at(deadline_);
        error_code ec;
        co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (closed_) break;
        if (std::chrono::steady_clock::now() >= deadline_) {
            timed_out_ = true;
            disarm_deadline();
            transport_->cancel();
        }
    }
}

void Connection::request_shutdown() {
    if (shutdown_requested_ || closed_) return;
    shutdown_requested_ = true;
    transport_->cancel();
}

void Connection::wake() {
    if (closed_) return;
    if (waiting_for_input_) {
        woken_ = true;
        transport_->cancel();
    } else {
        wake_pending_ = true;
    }
}

void Connection::close() {
    if (closed_) return;
    closed_ = true;
    transport_->close();
    watchdog_timer_.cancel();
}

asio::awaitable<ReadStatus> Connection::read_more(Wakeable wakeable) {
    if (shutdown_requested_) co_return ReadStatus::shutdown;
    if (closed_) co_return ReadStatus::error;
    if (wakeable == Wakeable::yes && wake_pending_) {
        wake_pending_ = false;
        co_return ReadStatus::woken;
    }
    // consume() already released a drained buffer; compact one that is far ahead.
    if (in_start_ > keep_capacity) {
        in_.erase(0, in_start_);
        in_start_ = 0;
    }
    error_code ec;
    arm_deadline();
    if (in_.empty() || wakeable == Wakeable::yes) {
        // Wait without a buffer (an idle connection holds none); only this wait can be woken.
        waiting_for_input_ = wakeable == Wakeable::yes;
        co_await transport_->wait_readable(ec);
        waiting_for_input_ = false;
        if (woken_) {
            woken_ = false;
            disarm_deadline();
            if (in_.empty()) std::string().swap(in_);
            if (timed_out_) {
                timed_out_ = false;
                co_return ReadStatus::timeout;
            }
            co_return shutdown_requested_ ? ReadStatus::shutdown : ReadStatus::woken;
        }
    }
    std::size_t old_size = in_.size();
    std::size_t n = 0;
    if (!ec) {
        in_.resize(old_size + read_chunk);
        n = co_await transport_->read_some(asio::buffer(in_.data() + old_size, read_chunk), ec);
    }
    disarm_deadline();
    in_.resize(old_size + n);
    bytes_in_ += n;
    if (in_.empty()) std::string().swap(in_);  // nothing kept: an idle connection holds no buffer
    if (!ec) co_return ReadStatus::ok;
    if (timed_out_) {
        timed_out_ = false;
        co_return ReadStatus::timeout;
    }
    if (shutdown_requested_) co_return ReadStatus::shutdown;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return ReadStatus::eof;
    co_return ReadStatus::error;
}

asio::awaitable<Line> Connection::read_line(std::size_t max_length, Wakeable wakeable) {
    bool discarding = false;    // the current line is already known to be too long
    std::size_t discarded = 0;  // octets of it dropped so far
    std::size_t scanned = 0;    // octets after in_start_ known to hold no LF
    for (;;) {
        std::size_t pos = in_.find('\n', in_start_ + scanned);
        if (pos != std::string::npos) {
            Line line;
            std::size_t end = pos;
            line.bare_lf = !(end > in_start_ && in_[end - 1] == '\r');
            if (!line.bare_lf) --end;
            if (discarding || end - in_start_ > max_length) {
                line.status = ReadStatus::too_long;
                line.bare_lf = false;
            } else {
                line.text.assign(in_, in_start_, end - in_start_);
                line.has_nul = std::memchr(line.text.data(), '\0', line.text.size()) != nullptr;
            }
            consume(pos + 1 - in_start_);
            co_return line;
        }
        std::size_t have = in_.size() - in_start_;
        if (have > max_length + 1) {
            // Over the limit with no end in sight: drop what we have, keep reading to the LF.
            // One trailing CR is kept so a CRLF split across reads is still recognised.
            discarding = true;
            bool keep_cr = in_.back() == '\r';
            discarded += have - (keep_cr ? 1 : 0);
            in_start_ = in_.size() - (keep_cr ? 1 : 0);
            have = keep_cr ? 1 : 0;
            if (discarded > kMaxDiscardedLine) {
                // Reading stops here: a "line" this long is an attack, not a command.
                consume(have);
                Line line{ReadStatus::too_long, {}, false, false};
                line.abandoned = true;
                co_return line;
            }
        }
        scanned = have;
        ReadStatus status = co_await read_more(wakeable);
        if (status != ReadStatus::ok) co_return Line{status, {}, false, false};
    }
}

asio::awaitable<ReadStatus> Connection::read_exact(std::size_t count, std::string& out) {
    while (count > 0) {
        if (in_start_ == in_.size()) {
            ReadStatus status = co_await read_more();
            if (status != ReadStatus::ok) co_return status;
        }
        std::size_t take = std::min(count, in_.size() - in_start_);
        out.append(in_, in_start_, take);
        consume(take);
        count -= take;
    }
    co_return ReadStatus::ok;
}

asio::awaitable<ReadStatus> Connection::fill(Wakeable wakeable) { co_return co_await read_more(wakeable); }

void Connection::consume(std::size_t count) {
    in_start_ += std::min(count, in_.size() - in_start_);
    if (in_start_ == in_.size()) {
        in_start_ = 0;
        if (in_.capacity() > keep_capacity) std::string().swap(in_);
        else in_.clear();
    }
}

asio::awaitable<bool> Connection::flush() {
    if (out_.empty()) co_return !closed_;
    if (closed_) co_return false;
    error_code ec;
    arm_deadline();
    co_await transport_->write_all(asio::buffer(out_), ec);
    disarm_deadline();
    if (!ec) bytes_out_ += out_.size();
    if (out_.capacity() > keep_capacity) std::string().swap(out_);
    else out_.clear();
    if (ec) {
        timed_out_ = false;
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> Connection::start_tls() {
    if (!can_start_tls()) co_return false;
    // RFC 3207 4 / RFC 2595 4: anything the client sent after the command was sent in
    // plaintext and must not be taken as coming through the secure channel.
    discarded_after_starttls_ = in_.size() - in_start_;
    std::string().swap(in_);
    in_start_ = 0;
    auto tls = std::make_unique<TlsTransport>(transport_->release_socket(), tls_context_);
    auto* raw = tls.get();
    transport_ = std::move(tls);
    error_code ec;
    arm_deadline();
    co_await raw->handshake(asio::ssl::stream_base::server, ec);
    disarm_deadline();
    timed_out_ = false;
    co_return !ec;
}

asio::awaitable<bool> Connection::start_tls_client(const std::string& server_name) {
    if (!can_start_tls()) co_return false;
    auto tls = std::make_unique<TlsTransport>(transport_->release_socket(), tls_context_);
    auto* raw = tls.get();
    SSL_set_tlsext_host_name(raw->native_handle(), server_name.c_str());
    SSL_set1_host(raw->native_handle(), server_name.c_str());
    transport_ = std::move(tls);
    error_code ec;
    arm_deadline();
    co_await raw->handshake(asio::ssl::stream_base::client, ec);
    disarm_deadline();
    timed_out_ = false;
    co_return !ec;
}

bool Connection::start_deflate() {
    if (compressed_ || closed_ || !out_.empty()) return false;
    std::string received = in_.substr(in_start_);
    std::string().swap(in_);
    in_start_ = 0;
    transport_ = std::make_unique<DeflateTransport>(std::move(transport_), std::move(received));
    compressed_ = true;
    return true;
}

asio::awaitable<bool> Connection::accept_tls() { co_return co_await start_tls(); }

}  // namespace hikyaku::net
