// client_connection_test.cpp: the suite's client stack (common/net/client.h and
// blocking_client.h) against scripted loopback servers: line framing and its bound, deadlines
// that bound a whole line however a server trickles it, a read that only ran out of time
// leaving the connection usable, exact-size and parser-driven reads across reads, long
// responses bounded by progress rather than length, connect errors, IPv4, IPv6 and names,
// TLS verified against a CA file with the name or address checked and SNI sent only for
// names, an untrusted or mismatched certificate refused, --insecure, a plaintext server
// answering a handshake, plaintext before STARTTLS discarded, the trace hook, threads with
// one connection each, the asynchronous form, and a memory link.
// Must never: reach beyond loopback, or wait without a bound.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/client/pop3_response.h"
#include "common/client/smtp_reply.h"
#include "common/net/blocking_client.h"
#include "common/net/client.h"
#include "common/net/memory_transport.h"
#include "tests/client/scripted_server.h"

using namespace hikyaku;
using namespace std::chrono_literals;
using net::BlockingClient;
using net::NetErrc;
using test::Peer;
using test::ScriptedServer;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A temporary folder with certificates: "good" for localhost, 127.0.0.1 and ::1; "other"
// for other.example only.
struct Certificates {
    std::string dir;
    std::string good_cert, good_key, other_cert, other_key;
    Certificates() {
        char tmpl[] = "/tmp/hikyaku-client-test-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        dir = tmpl;
        good_cert = dir + "/good.pem";
        good_key = dir + "/good.key";
        other_cert = dir + "/other.pem";
        other_key = dir + "/other.key";
        REQUIRE(test::make_certificate(good_cert, good_key, "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1"));
        REQUIRE(test::make_certificate(other_cert, other_key, "other.example", "DNS:other.example"));
    }
    ~Certificates() { std::filesystem::remove_all(dir); }
};

// A server that does a TLS handshake at once and then says "hello over TLS".
ScriptedServer::Script implicit_tls(SSL_CTX* context, std::string* sni = nullptr) {
    return [context, sni](Peer& p) {
        if (!p.start_tls(context)) return;
        if (sni) *sni = p.sni();
        p.send("hello over TLS\r\n");
        p.line();
    };
}

}  // namespace

TEST_CASE("lines: CRLF and bare LF, a line at the bound, one past it") {
    ScriptedServer server([](Peer& p) {
        p.send("one\r\ntwo\nxxxxx\r\nyyyyyy\r\n");
        p.closed_by_client();
    });
    BlockingClient c(5s);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    std::string line;
    CHECK(c.read_line(line, 5).ok());
    CHECK(line == "one");
    CHECK(c.read_line(line, 5).ok());
    CHECK(line == "two");
    CHECK(c.read_line(line, 5).ok());
    CHECK(line == "xxxxx");
    const net::NetStatus st = c.read_line(line, 5);
    CHECK(st.code == NetErrc::too_long);
    CHECK(st.message == "the server sent a line longer than 5 bytes");
    CHECK_FALSE(c.is_open());
}

TEST_CASE("a deadline bounds the whole line, however the server trickles it") {
    std::atomic<bool> stop{false};
    ScriptedServer server([&stop](Peer& p) {
        for (int i = 0; i < 100 && !stop; ++i) {  // one byte every 50 ms for up to 5 s, never a line end
            if (!p.send("a")) return;
            std::this_thread::sleep_for(50ms);
        }
    });
    BlockingClient c(400ms);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    std::string line;
    const auto t0 = std::chrono::steady_clock::now();
    const net::NetStatus st = c.read_line(line, 4096);
    const double took = seconds_since(t0);
    stop = true;
    CHECK(st.code == NetErrc::timeout);
    CHECK(st.message == "timed out waiting for the server");
    CHECK(took >= 0.35);
    CHECK(took < 2.5);
}

TEST_CASE("a read that only ran out of time leaves the connection usable") {
    ScriptedServer server([](Peer& p) {
        if (p.line() == "go") p.send("late\r\n");
        p.closed_by_client();
    });
    BlockingClient c(5s);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    const net::NetStatus st = c.fill(net::ClientClock::now() + 200ms);
    CHECK(st.code == NetErrc::timeout);
    REQUIRE(c.is_open());
    CHECK(c.write_line("go").ok());
    std::string line;
    CHECK(c.read_line(line, 100).ok());
    CHECK(line == "late");
}

TEST_CASE("a server that closes in the middle of a line") {
    ScriptedServer server([](Peer& p) { p.send("partial"); });
    BlockingClient c(5s);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    std::string line;
    const net::NetStatus st = c.read_line(line, 100);
    CHECK(st.code == NetErrc::closed);
    CHECK(st.message == "the server closed the connection in the middle of a line");
}

TEST_CASE("exact-size reads and parser-driven reads across several reads") {
    ScriptedServer server([](Peer& p) {
        for (std::string_view piece : {"0123", "456", "789250-a\r", "\n250", " b\r\n"}) {
            p.send(piece);
            std::this_thread::sleep_for(20ms);
        }
        p.closed_by_client();
    });
    BlockingClient c(5s);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    std::string literal;
    CHECK(c.read_exact(10, literal).ok());
    CHECK(literal == "0123456789");
    client::SmtpReplyParser parser;
    CHECK(c.read_response(parser).ok());
    REQUIRE(parser.status() == client::SmtpReplyStatus::complete);
    CHECK(parser.reply().lines == std::vector<std::string>{"a", "b"});
    CHECK(c.buffered().empty());
}

TEST_CASE("a long response may take its time while lines keep coming; a stall still ends it") {
    ScriptedServer server([](Peer& p) {
        p.send("+OK\r\n");
        for (int i = 0; i < 8; ++i) {  // 8 lines, 150 ms apart: longer than the 400 ms timeout in all
            std::this_thread::sleep_for(150ms);
            if (!p.send("line " + std::to_string(i) + "\r\n")) return;
        }
        p.send(".\r\n+OK");  // then the start of a status line that never ends
        p.closed_by_client();
    });
    BlockingClient c(400ms);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    client::Pop3ResponseParser body(client::Pop3Body::keep);
    const auto t0 = std::chrono::steady_clock::now();
    const net::NetStatus st = c.read_long_response(body);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(seconds_since(t0) > 1.0);
    CHECK(body.status() == client::Pop3Status::ok);
    CHECK(body.body_lines() == 8);
    client::Pop3ResponseParser stalled(client::Pop3Body::keep);
    CHECK(c.read_long_response(stalled).code == NetErrc::timeout);
}

TEST_CASE("connect: refused, by name, over IPv6") {
    int free_port;
    {
        ScriptedServer gone([](Peer&) {});
        free_port = gone.port();
    }
    BlockingClient c(5s);
    net::NetStatus st = c.connect("127.0.0.1", static_cast<std::uint16_t>(free_port));
    CHECK(st.code == NetErrc::connect);
    CHECK(st.message == "cannot connect to 127.0.0.1 port " + std::to_string(free_port) + ": Connection refused");

    ScriptedServer v4([](Peer& p) {
        p.send("v4\r\n");
        p.closed_by_client();
    });
    REQUIRE(c.connect("localhost", v4.port()).ok());
    std::string line;
    CHECK(c.read_line(line, 10).ok());
    CHECK(line == "v4");

    ScriptedServer v6(
        [](Peer& p) {
            p.send("v6\r\n");
            p.closed_by_client();
        },
        "::1");
    REQUIRE(v6.port() != 0);
    REQUIRE(c.connect("::1", v6.port()).ok());
    CHECK(c.read_line(line, 10).ok());
    CHECK(line == "v6");
}

TEST_CASE("implicit TLS: verified against a CA file, SNI only for a name") {
    Certificates certs;
    SSL_CTX* context = test::make_server_context(certs.good_cert, certs.good_key);
    REQUIRE(context);
    std::string sni = "unset";
    {
        ScriptedServer server(implicit_tls(context, &sni));
        BlockingClient c(5s);
        std::vector<std::string> trace;
        c.set_trace([&trace](net::TraceEvent e, std::string_view text) {
            if (e == net::TraceEvent::note) trace.emplace_back(text);
        });
        REQUIRE(c.connect("localhost", server.port()).ok());
        net::ClientTlsOptions options;
        options.ca_file = certs.good_cert;
        const net::NetStatus st = c.start_tls(options);
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(c.is_tls());
        std::string line;
        CHECK(c.read_line(line, 100).ok());
        CHECK(line == "hello over TLS");
        CHECK(c.write_line("bye").ok());
        REQUIRE(trace.size() == 1);
        CHECK(trace[0].find("certificate verified for localhost") != std::string::npos);
    }
    CHECK(sni == "localhost");
    {
        ScriptedServer server(implicit_tls(context, &sni));
        BlockingClient c(5s);
        REQUIRE(c.connect("127.0.0.1", server.port()).ok());
        net::ClientTlsOptions options;
        options.ca_file = certs.good_cert;
        const net::NetStatus st = c.start_tls(options);  // the address checked against IP:127.0.0.1
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(c.write_line("bye").ok());
    }
    CHECK(sni.empty());  // RFC 6066 3: no address in SNI
    SSL_CTX_free(context);
}

TEST_CASE("TLS refusals: another name, an untrusted certificate, a missing CA file; --insecure") {
    Certificates certs;
    SSL_CTX* other = test::make_server_context(certs.other_cert, certs.other_key);
    SSL_CTX* good = test::make_server_context(certs.good_cert, certs.good_key);
    REQUIRE(other);
    REQUIRE(good);
    {
        ScriptedServer server(implicit_tls(other));
        BlockingClient c(5s);
        REQUIRE(c.connect("127.0.0.1", server.port()).ok());
        net::ClientTlsOptions options;
        options.ca_file = certs.other_cert;  // trusted, but for another name
        const net::NetStatus st = c.start_tls(options);
        CHECK(st.code == NetErrc::tls);
        CHECK(st.message.find("certificate verification failed") != std::string::npos);
        CHECK(st.message.find("mismatch") != std::string::npos);
        CHECK_FALSE(c.is_open());
    }
    {
        ScriptedServer server(implicit_tls(good));
        BlockingClient c(5s);
        REQUIRE(c.connect("localhost", server.port()).ok());
        const net::NetStatus st = c.start_tls({});  // the system store does not know it
        CHECK(st.code == NetErrc::tls);
        CHECK(st.message.find("certificate verification failed") != std::string::npos);
    }
    {
        BlockingClient c(5s);
        ScriptedServer server(implicit_tls(good));
        REQUIRE(c.connect("localhost", server.port()).ok());
        net::ClientTlsOptions options;
        options.ca_file = certs.dir + "/missing.pem";
        const net::NetStatus st = c.start_tls(options);
        CHECK(st.code == NetErrc::tls);
        CHECK(st.message.starts_with("cannot load CA file " + certs.dir + "/missing.pem"));
    }
    {
        ScriptedServer server(implicit_tls(other));
        BlockingClient c(5s);
        std::string note;
        c.set_trace([&note](net::TraceEvent e, std::string_view text) {
            if (e == net::TraceEvent::note) note = text;
        });
        REQUIRE(c.connect("127.0.0.1", server.port()).ok());
        net::ClientTlsOptions options;
        options.insecure = true;
        REQUIRE(c.start_tls(options).ok());
        CHECK(note.find("certificate NOT verified") != std::string::npos);
        std::string line;
        CHECK(c.read_line(line, 100).ok());
        CHECK(c.write_line("bye").ok());
    }
    SSL_CTX_free(other);
    SSL_CTX_free(good);
}

TEST_CASE("a plaintext server answering a TLS handshake") {
    ScriptedServer server([](Peer& p) {
        p.send("220 mx.example ESMTP\r\n");
        p.closed_by_client();
    });
    BlockingClient c(5s);
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    net::ClientTlsOptions options;
    options.insecure = true;
    const net::NetStatus st = c.start_tls(options);
    CHECK(st.code == NetErrc::not_tls);
    CHECK(st.message == "TLS handshake with 127.0.0.1 failed: the server does not speak TLS on this port");
}

TEST_CASE("STARTTLS: plaintext that arrived before the handshake is discarded (RFC 3207 4.2)") {
    Certificates certs;
    SSL_CTX* context = test::make_server_context(certs.good_cert, certs.good_key);
    REQUIRE(context);
    ScriptedServer server([context](Peer& p) {
        p.send("220 go ahead\r\n250 INJECTED before TLS\r\n");
        if (!p.start_tls(context)) return;
        p.send("250 over TLS\r\n");
        p.line();
    });
    BlockingClient c(5s);
    REQUIRE(c.connect("localhost", server.port()).ok());
    std::string line;
    REQUIRE(c.read_line(line, 100).ok());
    CHECK(line == "220 go ahead");
    // The injected line is in the client's buffer (it came with the first line, or now).
    if (c.buffered().empty()) REQUIRE(c.fill(net::ClientClock::now() + 2s).ok());
    REQUIRE(c.buffered().starts_with("250 INJECTED"));
    net::ClientTlsOptions options;
    options.ca_file = certs.good_cert;
    REQUIRE(c.start_tls(options).ok());
    REQUIRE(c.read_line(line, 100).ok());
    CHECK(line == "250 over TLS");
    CHECK(c.write_line("QUIT").ok());
    SSL_CTX_free(context);
}

TEST_CASE("the trace hook sees lines sent (masked when asked), lines read and data") {
    ScriptedServer server([](Peer& p) {
        p.send("+OK ready\r\n");
        p.line();
        p.line();
        p.send("+OK welcome\r\n");
        p.closed_by_client();
    });
    BlockingClient c(5s);
    std::vector<std::pair<net::TraceEvent, std::string>> seen;
    c.set_trace([&seen](net::TraceEvent e, std::string_view text) { seen.emplace_back(e, std::string(text)); });
    REQUIRE(c.connect("127.0.0.1", server.port()).ok());
    std::string line;
    REQUIRE(c.read_line(line, 100).ok());
    REQUIRE(c.write_line("PASS s3cret", "PASS ****").ok());
    REQUIRE(c.write("raw data\r\n").ok());
    REQUIRE(c.read_line(line, 100).ok());
    REQUIRE(seen.size() == 4);
    CHECK(seen[0] == std::pair{net::TraceEvent::received, std::string("+OK ready")});
    CHECK(seen[1] == std::pair{net::TraceEvent::sent, std::string("PASS ****")});
    CHECK(seen[2] == std::pair{net::TraceEvent::data, std::string("raw data\r\n")});
    CHECK(seen[3] == std::pair{net::TraceEvent::received, std::string("+OK welcome")});
}

TEST_CASE("threads, each with its own connection") {
    ScriptedServer server([](Peer& p) {
        const std::string name = p.line();
        p.send("hello " + name + "\r\n");
        p.closed_by_client();
    });
    constexpr int kThreads = 4;
    std::vector<std::string> answers(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&answers, &server, i] {
            BlockingClient c(5s);
            if (!c.connect("127.0.0.1", server.port()).ok()) return;
            if (!c.write_line("t" + std::to_string(i)).ok()) return;
            std::string line;
            if (c.read_line(line, 100).ok()) answers[static_cast<std::size_t>(i)] = line;
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) CHECK(answers[static_cast<std::size_t>(i)] == "hello t" + std::to_string(i));
    CHECK(server.accepted() == kThreads);
}

TEST_CASE("the asynchronous form: two connections on one thread") {
    ScriptedServer server([](Peer& p) {
        p.send("220 a\r\n");
        p.send("250-b\r\n250 c\r\n");
        p.closed_by_client();
    });
    boost::asio::io_context io;
    std::vector<std::string> got;
    auto session = [&]() -> boost::asio::awaitable<void> {
        auto c = net::ClientConnection::create(io.get_executor());
        const auto deadline = net::ClientClock::now() + 5s;
        net::NetStatus st = co_await c->connect("127.0.0.1", server.port(), deadline);
        if (!st) co_return;
        std::string line;
        st = co_await c->read_line(line, 100, deadline);
        if (!st) co_return;
        client::SmtpReplyParser parser;
        st = co_await c->read_response(parser, deadline);
        if (!st) co_return;
        got.push_back(line + "|" + parser.reply().text());
        c->close();
    };
    boost::asio::co_spawn(io, session(), boost::asio::detached);
    boost::asio::co_spawn(io, session(), boost::asio::detached);
    io.run_for(10s);
    CHECK(got == std::vector<std::string>{"220 a|b c", "220 a|b c"});
}

TEST_CASE("over a memory link: a client driven without a socket, deadlines included") {
    boost::asio::io_context io;
    auto [client_end, server_end] = net::make_memory_link(io.get_executor());
    auto c = net::ClientConnection::create(io.get_executor());
    c->adopt(std::move(client_end), "memory");
    std::vector<std::string> got;
    net::NetStatus timed_out;
    auto session = [&]() -> boost::asio::awaitable<void> {
        net::error_code ec;
        const std::string greeting = "+OK ready\r\n";
        co_await server_end->write_all(boost::asio::buffer(greeting), ec);
        std::string line;
        net::NetStatus st = co_await c->read_line(line, 100, net::ClientClock::now() + 5s);
        if (st) got.push_back(line);
        // Nothing more comes: the deadline ends the wait.
        timed_out = co_await c->read_line(line, 100, net::ClientClock::now() + 100ms);
        c->close();
    };
    boost::asio::co_spawn(io, session(), boost::asio::detached);
    io.run_for(10s);
    CHECK(got == std::vector<std::string>{"+OK ready"});
    CHECK(timed_out.code == NetErrc::timeout);
}
