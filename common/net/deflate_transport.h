// deflate_transport.h: a Transport that compresses what it writes and decompresses what it
// reads over another Transport (IMAP COMPRESS=DEFLATE, RFC 4978): raw DEFLATE (RFC 1951),
// no zlib or gzip header, each write ended with a sync flush so the peer can decode every
// reply as soon as it arrives (RFC 4978 4). It sits above TLS, never below it.
//
// Memory: the decompressor keeps the 32 KiB window any peer may use; the compressor uses a
// 8 KiB window (any DEFLATE reader decodes a smaller window) and memLevel 6, about 64 KiB
// in all, allocated only once the session turns compression on. No read buffer is held
// while the connection is idle.
// Must never: return more bytes than the caller's buffer holds (a compressed bomb is read in
// the caller's bounded steps, like plaintext); take a corrupt stream as data (it is an error);
// block.
#pragma once

#include <memory>
#include <string>

#include "common/net/transport.h"

namespace hikyaku::net {

class DeflateTransport final : public Transport {
public:
    // `already_received`: compressed octets the connection had buffered past the command.
    DeflateTransport(std::unique_ptr<Transport> inner, std::string already_received);
    ~DeflateTransport() override;

    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override;
    asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) override;
    asio::awaitable<void> wait_readable(error_code& ec) override;
    void cancel() override { inner_->cancel(); }
    void close() override { inner_->close(); }
    bool is_tls() const override { return inner_->is_tls(); }
    std::string tls_version() const override { return inner_->tls_version(); }
    std::string tls_cipher() const override { return inner_->tls_cipher(); }

    // Compressed octets received and sent (for the log line at the end of a session).
    std::uint64_t compressed_in() const { return compressed_in_; }
    std::uint64_t compressed_out() const { return compressed_out_; }

private:
    struct Streams;  // the zlib state, kept out of this header
    bool input_pending() const;

    std::unique_ptr<Transport> inner_;
    std::unique_ptr<Streams> z_;
    std::string in_;  // compressed input not yet given to the decompressor
    std::size_t in_start_ = 0;
    bool output_pending_ = false;  // the last inflate filled its buffer: more may be waiting
    bool ended_ = false;           // the peer ended its compressed stream
    std::uint64_t compressed_in_ = 0;
    std::uint64_t compressed_out_ = 0;
};

}  // namespace hikyaku::net
