// fuzz_deflate_transport.cpp: arbitrary octets as a peer's compressed stream (IMAP COMPRESS,
// RFC 4978) read through a Connection: every line comes back bounded, a corrupt stream ends
// in an error, and nothing the input says makes the reader buffer past its limits.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/net/connection.h"
#include "common/net/memory_transport.h"

namespace asio = boost::asio;
using namespace hikyaku;

namespace {

constexpr std::size_t kMaxLine = 1024;

// g++ 12 cannot compile coroutine lambdas here (duplicate symbols): plain functions.
asio::awaitable<void> send_all(std::unique_ptr<net::Transport> peer, std::string input) {
    net::error_code ec;
    co_await peer->write_all(asio::buffer(input), ec);
    peer->close();
}

asio::awaitable<void> read_all(std::shared_ptr<net::Connection> connection) {
    if (!connection->start_deflate()) std::abort();
    for (int lines = 0; lines < 100000; ++lines) {
        auto line = co_await connection->read_line(kMaxLine);
        if (line.ok() && line.text.size() > kMaxLine) std::abort();
        if (connection->buffered().size() > 64 * 1024 + kMaxLine) std::abort();
        if (!line.ok() && line.status != net::ReadStatus::too_long) break;
        if (line.abandoned) break;
    }
    connection->close();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    asio::io_context io;
    auto [peer, ours] = net::make_memory_link(io.get_executor());
    auto connection = std::make_shared<net::Connection>(io.get_executor(), std::move(ours), "127.0.0.1", 1, 143, 0);
    asio::co_spawn(io, send_all(std::move(peer), std::string(reinterpret_cast<const char*>(data), size)),
                   asio::detached);
    asio::co_spawn(io, read_all(connection), asio::detached);
    io.run();
    return 0;
}
