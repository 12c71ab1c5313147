// deflate_transport.cpp: RFC 4978 compression over a Transport (see deflate_transport.h).
#include "common/net/deflate_transport.h"

#include <zlib.h>

#include <boost/system/errc.hpp>

namespace hikyaku::net {

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kWriteChunk = 16 * 1024;
constexpr int kInflateWindowBits = -15;  // raw DEFLATE, the full window any peer may use
constexpr int kDeflateWindowBits = -13;  // raw DEFLATE, 8 KiB: ours to choose (RFC 1951 3.2)
constexpr int kDeflateMemLevel = 6;

error_code corrupt_stream() { return make_error_code(boost::system::errc::illegal_byte_sequence); }
}  // namespace

struct DeflateTransport::Streams {
    z_stream inflate{};
    z_stream deflate{};
    bool inflate_ready = false;
    bool deflate_ready = false;
    ~Streams() {
        if (inflate_ready) inflateEnd(&inflate);
        if (deflate_ready) deflateEnd(&deflate);
    }
};

DeflateTransport::DeflateTransport(std::unique_ptr<Transport> inner, std::string already_received)
    : inner_(std::move(inner)), z_(std::make_unique<Streams>()), in_(std::move(already_received)) {
    compressed_in_ = in_.size();
    z_->inflate_ready = inflateInit2(&z_->inflate, kInflateWindowBits) == Z_OK;
    z_->deflate_ready = deflateInit2(&z_->deflate, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kDeflateWindowBits,
                                     kDeflateMemLevel, Z_DEFAULT_STRATEGY) == Z_OK;
}

DeflateTransport::~DeflateTransport() = default;

bool DeflateTransport::input_pending() const { return in_start_ < in_.size() || output_pending_; }

asio::awaitable<std::size_t> DeflateTransport::read_some(asio::mutable_buffer buffer, error_code& ec) {
    ec = {};
    if (!z_->inflate_ready) {
        ec = make_error_code(boost::system::errc::not_enough_memory);
        co_return 0;
    }
    if (buffer.size() == 0) co_return 0;
    for (;;) {
        if (ended_) {
            ec = asio::error::eof;
            co_return 0;
        }
        if (input_pending()) {
            z_stream& z = z_->inflate;
            z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_start_);
            z.avail_in = static_cast<uInt>(in_.size() - in_start_);
            z.next_out = static_cast<Bytef*>(buffer.data());
            z.avail_out = static_cast<uInt>(buffer.size());
            const int rc = inflate(&z, Z_SYNC_FLUSH);
            in_start_ = in_.size() - z.avail_in;
            if (in_start_ == in_.size()) {
                in_start_ = 0;
                std::string().swap(in_);  // idle connections hold no buffer
            }
            const std::size_t produced = buffer.size() - z.avail_out;
            output_pending_ = z.avail_out == 0;
            if (rc == Z_STREAM_END) ended_ = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                ec = corrupt_stream();
                co_return 0;
            }
            if (produced > 0) co_return produced;
            // A sync-flush marker or a partial block: nothing to hand out yet; read more.
        }
        if (ended_) continue;
        std::string chunk(kReadChunk, '\0');
        const std::size_t n = co_await inner_->read_some(asio::buffer(chunk), ec);
        if (ec) co_return 0;
        chunk.resize(n);
        compressed_in_ += n;
        in_.append(chunk);
    }
}

asio::awaitable<void> DeflateTransport::write_all(asio::const_buffer buffer, error_code& ec) {
    ec = {};
    if (!z_->deflate_ready) {
        ec = make_error_code(boost::system::errc::not_enough_memory);
        co_return;
    }
    z_stream& z = z_->deflate;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<void*>(buffer.data()));
    z.avail_in = static_cast<uInt>(buffer.size());
    std::string out(kWriteChunk, '\0');
    // Compress all of it and end with a sync flush (RFC 4978 4): the peer decodes the reply now.
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        const int rc = deflate(&z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            ec = corrupt_stream();
            co_return;
        }
        const std::size_t produced = out.size() - z.avail_out;
        if (produced > 0) {
            co_await inner_->write_all(asio::buffer(out.data(), produced), ec);
            if (ec) co_return;
            compressed_out_ += produced;
        }
        // Done when all input is taken and deflate had room to spare (the flush is complete).
        if (z.avail_in == 0 && z.avail_out != 0) co_return;
    }
}

asio::awaitable<void> DeflateTransport::wait_readable(error_code& ec) {
    ec = {};
    if (input_pending() || ended_) co_return;
    co_await inner_->wait_readable(ec);
}

}  // namespace hikyaku::net
