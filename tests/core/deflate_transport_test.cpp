// deflate_transport_test.cpp: RFC 4978 compression under a Connection, over a memory link:
// lines and large blocks both ways, octets the peer sent before compression was turned on
// on this side, a corrupt stream (an error, not data), a compressed bomb read in the line
// limit's bounded steps, and a second start refused.
#include <doctest/doctest.h>
#include <zlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "common/net/connection.h"
#include "common/net/memory_transport.h"

using namespace hikyaku;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct Pair {
    asio::io_context io;
    std::shared_ptr<net::Connection> a;
    std::shared_ptr<net::Connection> b;
    Pair() {
        auto [one, two] = net::make_memory_link(io.get_executor());
        a = std::make_shared<net::Connection>(io.get_executor(), std::move(one), "127.0.0.1", 1, 143, 0);
        b = std::make_shared<net::Connection>(io.get_executor(), std::move(two), "127.0.0.1", 2, 143, 0);
        a->set_timeout(5s);
        b->set_timeout(5s);
    }
    // Runs `body` to its end (bounded).
    void run(std::function<asio::awaitable<void>()> body) {
        bool finished = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await body();
                finished = true;
                a->close();
                b->close();
            },
            asio::detached);
        io.run_for(20s);
        REQUIRE(finished);
    }
};

// Raw DEFLATE of `text` with a sync flush, as a peer would send it.
std::string deflate_raw(const std::string& text) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, text.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    const std::size_t produced = static_cast<std::size_t>(z.total_out);
    deflateEnd(&z);
    return out.substr(0, produced);
}

}  // namespace

TEST_CASE("lines and a large block go both ways compressed") {
    Pair p;
    std::string big(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    p.run([&]() -> asio::awaitable<void> {
        REQUIRE(p.a->start_deflate());
        REQUIRE(p.b->start_deflate());
        CHECK(p.a->is_compressed());
        CHECK_FALSE(p.a->start_deflate());  // once only
        p.a->write("a1 NOOP\r\n");
        bool sent = co_await p.a->flush();
        REQUIRE(sent);
        auto line = co_await p.b->read_line(1000);
        CHECK(line.ok());
        CHECK(line.text == "a1 NOOP");
        p.b->write(big);
        p.b->write("\r\nend\r\n");
        sent = co_await p.b->flush();
        REQUIRE(sent);
        std::string got;
        auto status = co_await p.a->read_exact(big.size(), got);
        CHECK(status == net::ReadStatus::ok);
        CHECK(got == big);
        line = co_await p.a->read_line(10);
        CHECK(line.text.empty());
        line = co_await p.a->read_line(10);
        CHECK(line.text == "end");
    });
}

TEST_CASE("what is written is raw DEFLATE that any reader decodes, and smaller") {
    Pair p;
    std::string text;
    for (int i = 0; i < 20000; ++i)
        text += "* " + std::to_string(i) + " FETCH (FLAGS (\\Seen) UID " + std::to_string(i) + ")\r\n";
    std::string inflated;
    std::size_t wire = 0;
    p.run([&]() -> asio::awaitable<void> {
        REQUIRE(p.a->start_deflate());
        p.a->write(text);
        bool sent = co_await p.a->flush();
        REQUIRE(sent);
        z_stream z{};
        REQUIRE(inflateInit2(&z, -15) == Z_OK);
        // Each flush ends with a sync flush: everything written decodes from what arrived.
        for (int reads = 0; inflated.size() < text.size() && reads < 10000; ++reads) {
            auto status = co_await p.b->fill();
            if (status != net::ReadStatus::ok) break;
            std::string in(p.b->buffered());
            p.b->consume(in.size());
            wire += in.size();
            z.next_in = reinterpret_cast<Bytef*>(in.data());
            z.avail_in = static_cast<uInt>(in.size());
            while (z.avail_in > 0) {
                char out[65536];
                z.next_out = reinterpret_cast<Bytef*>(out);
                z.avail_out = sizeof out;
                const int rc = inflate(&z, Z_SYNC_FLUSH);
                REQUIRE((rc == Z_OK || rc == Z_BUF_ERROR));
                inflated.append(out, sizeof out - z.avail_out);
                if (rc == Z_BUF_ERROR) break;
            }
        }
        inflateEnd(&z);
    });
    CHECK(inflated == text);
    CHECK(wire * 4 < text.size());
}

TEST_CASE("octets buffered before compression starts are read as compressed") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        // The peer's command and, in the same write, its first compressed command.
        p.a->write("a COMPRESS DEFLATE\r\n" + deflate_raw("b NOOP\r\nc LOGOUT\r\n"));
        bool sent = co_await p.a->flush();
        REQUIRE(sent);
        auto line = co_await p.b->read_line(100);
        CHECK(line.text == "a COMPRESS DEFLATE");
        REQUIRE(p.b->start_deflate());
        line = co_await p.b->read_line(100);
        CHECK(line.text == "b NOOP");
        line = co_await p.b->read_line(100);
        CHECK(line.text == "c LOGOUT");
    });
}

TEST_CASE("a corrupt stream is an error, never data") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        REQUIRE(p.b->start_deflate());
        p.a->write(std::string("\xff\xff\xff\xff garbage that is not DEFLATE\r\n", 35));
        bool sent = co_await p.a->flush();
        REQUIRE(sent);
        auto line = co_await p.b->read_line(100);
        CHECK(line.status == net::ReadStatus::error);
        CHECK(line.text.empty());
    });
}

TEST_CASE("a compressed bomb is read in bounded steps: a line past the limit is given up") {
    Pair p;
    // 64 MiB of one letter, no line end: DEFLATE makes it about 64 KiB.
    const std::string bomb = deflate_raw(std::string(64 * 1024 * 1024, 'A'));
    CHECK(bomb.size() < 200 * 1024);
    p.run([&]() -> asio::awaitable<void> {
        REQUIRE(p.b->start_deflate());
        p.a->write(bomb);
        bool sent = co_await p.a->flush();
        REQUIRE(sent);
        auto line = co_await p.b->read_line(8192);
        CHECK(line.status == net::ReadStatus::too_long);
        CHECK(line.abandoned);  // at kMaxDiscardedLine, not after 64 MiB
        CHECK(p.b->buffered().size() < 64 * 1024);
    });
}

TEST_CASE("start_deflate refuses while replies are still queued") {
    Pair p;
    p.a->write("* OK pending\r\n");
    CHECK_FALSE(p.a->start_deflate());
    CHECK_FALSE(p.a->is_compressed());
}
