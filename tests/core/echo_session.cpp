// echo_session.cpp: the echo test protocol (see echo_session.h).
#include "tests/core/echo_session.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <thread>

namespace hikyaku::test {

namespace asio = boost::asio;

static bool parse_number(std::string_view text, std::size_t& out) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && p == text.data() + text.size();
}

asio::awaitable<void> echo_session(std::shared_ptr<net::Connection> conn, EchoOptions options,
                                   net::BlockingPool* pool) {
    conn->set_timeout(options.timeout);
    conn->write("+OK echo conn=" + std::to_string(conn->id()) + " worker=" + std::to_string(conn->worker()) + "\r\n");
    // co_await results go into variables: g++ 12 miscompiles `if (!co_await ...)`.
    bool ok = co_await conn->flush();
    if (!ok) co_return;
    for (;;) {
        net::Line line = co_await conn->read_line(options.max_line);
        switch (line.status) {
            case net::ReadStatus::ok: break;
            case net::ReadStatus::too_long:
                if (line.abandoned) {
                    conn->write("-ERR line too long, closing\r\n");
                    co_await conn->flush();
                    co_return;
                }
                conn->write("-ERR line too long\r\n");
                goto reply;
            case net::ReadStatus::timeout:
                conn->write("-ERR timeout\r\n");
                co_await conn->flush();
                co_return;
            case net::ReadStatus::shutdown:
                conn->write("-ERR shutting down\r\n");
                co_await conn->flush();
                co_return;
            default: co_return;
        }
        if (line.has_nul) {
            conn->write("-ERR NUL\r\n");
        } else if (line.bare_lf && options.strict_crlf) {
            conn->write("-ERR bare LF\r\n");
        } else if (line.text == "QUIT") {
            conn->write("+OK bye\r\n");
            co_await conn->flush();
            co_return;
        } else if (line.text == "STARTTLS") {
            if (!conn->can_start_tls()) {
                conn->write("-ERR no TLS\r\n");
            } else {
                conn->write("+OK begin TLS\r\n");
                ok = co_await conn->flush();
                if (!ok) co_return;
                ok = co_await conn->start_tls();
                if (!ok) co_return;
                continue;
            }
        } else if (line.text == "TLS?") {
            conn->write(conn->is_tls() ? "+OK tls=" + conn->tls_version() +
                                             " discarded=" + std::to_string(conn->discarded_after_starttls()) + "\r\n"
                                       : std::string("+OK plain\r\n"));
        } else if (line.text.rfind("READ ", 0) == 0) {
            std::size_t n = 0;
            if (!parse_number(std::string_view(line.text).substr(5), n) || n > 1 << 20) {
                conn->write("-ERR bad count\r\n");
            } else {
                std::string data;
                auto status = co_await conn->read_exact(n, data);
                if (status != net::ReadStatus::ok) co_return;
                conn->write("+OK " + std::to_string(n) + " " + data + "\r\n");
            }
        } else if (line.text.rfind("SLEEP ", 0) == 0 || line.text.rfind("BLOCK ", 0) == 0) {
            std::size_t ms = 0;
            if (!parse_number(std::string_view(line.text).substr(6), ms) || ms > 60000) {
                conn->write("-ERR bad time\r\n");
            } else if (line.text[0] == 'S') {
                // Said at once, so a test knows the request is in flight without sleeping.
                conn->write("+OK sleeping\r\n");
                ok = co_await conn->flush();
                if (!ok) co_return;
                asio::steady_timer timer(conn->executor(), std::chrono::milliseconds(ms));
                boost::system::error_code ec;
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                conn->write("+OK slept\r\n");
            } else {
                auto worker_thread = std::this_thread::get_id();
                bool elsewhere = co_await pool->run([ms, worker_thread] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                    return std::this_thread::get_id() != worker_thread;
                });
                bool back = std::this_thread::get_id() == worker_thread;
                conn->write(std::string("+OK blocked pool=") + (elsewhere ? "yes" : "no") +
                            " resumed=" + (back ? "worker" : "other") + "\r\n");
            }
        } else {
            conn->write("+OK " + line.text + "\r\n");
        }
    reply:
        // Pipelining: answer a batch at once, once the client's input is drained.
        if (!conn->has_buffered_input()) {
            ok = co_await conn->flush();
            if (!ok) co_return;
        }
    }
}

}  // namespace hikyaku::test
