// memory_transport.cpp: the in-process byte pipe (see memory_transport.h).
#include "common/net/memory_transport.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <string>

namespace hikyaku::net {

namespace {

// One direction of the link: bytes written and not yet read, and the reader's wait.
struct Direction {
    explicit Direction(asio::any_io_executor executor) : signal(executor) {}
    std::string bytes;
    bool closed = false;
    asio::steady_timer signal;  // the reader sleeps on it; the writer cancels it to wake it
};

class MemoryTransport final : public Transport {
public:
    MemoryTransport(std::shared_ptr<Direction> in, std::shared_ptr<Direction> out)
        : in_(std::move(in)), out_(std::move(out)) {}
    ~MemoryTransport() override { close(); }

    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
        co_await wait_readable(ec);
        if (ec) co_return 0;
        if (in_->bytes.empty()) {
            ec = asio::error::eof;
            co_return 0;
        }
        std::size_t n = std::min(buffer.size(), in_->bytes.size());
        std::memcpy(buffer.data(), in_->bytes.data(), n);
        in_->bytes.erase(0, n);
        co_return n;
    }

    asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) override {
        if (out_->closed || closed_) {
            ec = asio::error::broken_pipe;
            co_return;
        }
        out_->bytes.append(static_cast<const char*>(buffer.data()), buffer.size());
        out_->signal.cancel();
        co_return;
    }

    asio::awaitable<void> wait_readable(error_code& ec) override {
        while (in_->bytes.empty() && !in_->closed && !closed_) {
            in_->signal.expires_at(asio::steady_timer::time_point::max());
            error_code ignored;
            waiting_ = true;
            co_await in_->signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            waiting_ = false;
            if (cancelled_) {
                cancelled_ = false;
                ec = asio::error::operation_aborted;
                co_return;
            }
        }
        if (closed_) ec = asio::error::bad_descriptor;
    }

    // Like a socket's cancel(): ends the pending wait, if any, with operation_aborted.
    void cancel() override {
        if (!waiting_) return;
        cancelled_ = true;
        in_->signal.cancel();
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        out_->closed = true;
        out_->signal.cancel();
        in_->signal.cancel();
    }

private:
    std::shared_ptr<Direction> in_;
    std::shared_ptr<Direction> out_;
    bool waiting_ = false;
    bool cancelled_ = false;
    bool closed_ = false;
};

}  // namespace

std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_memory_link(asio::any_io_executor executor) {
    auto a_to_b = std::make_shared<Direction>(executor);
    auto b_to_a = std::make_shared<Direction>(executor);
    return {std::make_unique<MemoryTransport>(b_to_a, a_to_b), std::make_unique<MemoryTransport>(a_to_b, b_to_a)};
}

}  // namespace hikyaku::net
