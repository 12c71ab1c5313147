// test_connection.cpp: the connection core in process: the line reader and its bounds,
// exact reads, pipelining, timeouts, TLS (implicit and STARTTLS), connection limits, both
// server models with 1,000 concurrent clients, graceful shutdown and the blocking pool.
#include <doctest/doctest.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "tests/core/echo_session.h"
#include "tests/core/test_client.h"

using namespace hikyaku;
using test::TestClient;

namespace {

struct EchoServer {
    EchoServer(net::ServerOptions options, test::EchoOptions echo = {}, bool with_tls = false) {
        spdlog::set_level(spdlog::level::warn);
        std::shared_ptr<net::TlsContextHolder> tls;
        if (with_tls) {
            std::string base = "/tmp/hikyaku-core-test-" + std::to_string(::getpid());
            REQUIRE(test::make_self_signed(base + ".crt", base + ".key"));
            tls = *net::TlsContextHolder::load(base + ".crt", base + ".key");
            std::remove((base + ".crt").c_str());
            std::remove((base + ".key").c_str());
        }
        server = std::make_unique<net::Server>(options, tls);
        auto* pool = &server->blocking_pool();
        auto handler = [echo, pool](std::shared_ptr<net::Connection> c) { return test::echo_session(c, echo, pool); };
        server->add_listener({"echo", {{"127.0.0.1", 0}}, false, "-ERR too many connections\r\n", handler});
        if (with_tls)
            server->add_listener({"echo-tls", {{"127.0.0.1", 0}}, true, "-ERR too many connections\r\n", handler});
        REQUIRE(server->bind().ok());
        auto bound = server->bound_addresses();
        port = bound.at(0).second.port;
        if (with_tls) tls_port = bound.at(1).second.port;
        thread = std::thread([this] { server->run(); });
    }
    ~EchoServer() { stop(); }
    void stop() {
        if (thread.joinable()) {
            server->stop();
            thread.join();
        }
    }
    TestClient client(const std::string& source = "") {
        TestClient c;
        REQUIRE(c.connect("127.0.0.1", port, 5000, source));
        return c;
    }
    std::unique_ptr<net::Server> server;
    std::thread thread;
    int port = 0;
    int tls_port = 0;
};

net::ServerOptions concurrent(unsigned workers = 2) {
    net::ServerOptions o;
    o.workers = workers;
    o.max_connections = 5000;
    o.max_connections_per_ip = 5000;
    o.shutdown_grace = std::chrono::seconds(1);
    return o;
}

bool greeting_ok(TestClient& c) { return c.line().rfind("+OK echo", 0) == 0; }

// Polls `event` every few milliseconds until it holds or `bound` has passed: how a test
// waits for something it cannot be told about, instead of sleeping a guessed time.
template <class Event>
bool eventually(Event event, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!event()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

void raise_fd_limit() {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

}  // namespace

TEST_CASE("line reader: CRLF, bare LF, NUL, exact maximum and one over") {
    test::EchoOptions echo;
    echo.max_line = 20;
    EchoServer s(concurrent(), echo);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("hello\r\n");
    CHECK(c.line() == "+OK hello\r\n");
    c.send("bare\n");  // accepted when the protocol allows it
    CHECK(c.line() == "+OK bare\r\n");
    c.send(std::string(20, 'x') + "\r\n");  // exactly the maximum
    CHECK(c.line() == "+OK " + std::string(20, 'x') + "\r\n");
    c.send(std::string(21, 'y') + "\r\n");  // one over
    CHECK(c.line() == "-ERR line too long\r\n");
    c.send(std::string("a\0b", 3) + "\r\n");
    CHECK(c.line() == "-ERR NUL\r\n");
    c.send("still here\r\n");  // a recoverable error: the session goes on
    CHECK(c.line() == "+OK still here\r\n");
    // A CR inside a line is the protocol's business; the reader keeps it.
    c.send("a\rb\r\n");
    CHECK(c.line() == "+OK a\rb\r\n");
}

TEST_CASE("line reader: strict CRLF refuses bare LF") {
    test::EchoOptions echo;
    echo.strict_crlf = true;
    EchoServer s(concurrent(), echo);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("bare\n");
    CHECK(c.line() == "-ERR bare LF\r\n");
    c.send("crlf\r\n");
    CHECK(c.line() == "+OK crlf\r\n");
}

TEST_CASE("line reader: a long line is dropped in bounded memory and answered once") {
    test::EchoOptions echo;
    echo.max_line = 100;
    EchoServer s(concurrent(), echo);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    std::string big(net::kMaxDiscardedLine - 4096, 'z');
    // CR at a chunk edge must still pair with the LF that follows.
    c.send(big + "\r");
    c.send("\nnext\r\n");
    CHECK(c.line() == "-ERR line too long\r\n");
    CHECK(c.line() == "+OK next\r\n");
}

TEST_CASE("line reader: a line past kMaxDiscardedLine is given up without waiting for its end") {
    test::EchoOptions echo;
    echo.max_line = 100;
    EchoServer s(concurrent(), echo);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    // No LF ever comes: reading stops at the bound and the session ends.
    c.send(std::string(net::kMaxDiscardedLine + 64 * 1024, 'z'));
    CHECK(c.line() == "-ERR line too long, closing\r\n");
    CHECK(c.closed_by_peer());
}

TEST_CASE("line reader: a line split across many TCP segments, and pipelined lines") {
    EchoServer s(concurrent());
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    std::string line = "split into single octets\r\n";
    for (char ch : line) {
        c.send(std::string(1, ch));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(c.line() == "+OK split into single octets\r\n");
    c.send("one\r\ntwo\r\nthree\r\n");
    CHECK(c.line() == "+OK one\r\n");
    CHECK(c.line() == "+OK two\r\n");
    CHECK(c.line() == "+OK three\r\n");
}

TEST_CASE("read_exact: literal octets, across segments, CRLF inside") {
    EchoServer s(concurrent());
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("READ 6\r\nab\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c.send("cdQUIT\r\n");
    CHECK(c.line() == "+OK 6 ab\r\n");
    CHECK(c.line() == "cd\r\n");
    CHECK(c.line() == "+OK bye\r\n");
}

TEST_CASE("a client that disconnects mid-line does not disturb the server") {
    EchoServer s(concurrent());
    {
        auto c = s.client();
        REQUIRE(greeting_ok(c));
        c.send("half a li");
    }
    auto d = s.client();
    REQUIRE(greeting_ok(d));
    d.send("ok\r\n");
    CHECK(d.line() == "+OK ok\r\n");
}

TEST_CASE("idle timeout: the session says goodbye and the connection closes") {
    test::EchoOptions echo;
    echo.timeout = std::chrono::milliseconds(200);
    EchoServer s(concurrent(), echo);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("ping\r\n");
    CHECK(c.line() == "+OK ping\r\n");
    auto started = std::chrono::steady_clock::now();
    CHECK(c.line() == "-ERR timeout\r\n");
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(150));
    CHECK(c.closed_by_peer());
}

TEST_CASE("TLS: implicit TLS listener") {
    EchoServer s(concurrent(), {}, true);
    TestClient c;
    REQUIRE(c.connect("127.0.0.1", s.tls_port));
    REQUIRE(c.start_tls());
    REQUIRE(greeting_ok(c));
    c.send("TLS?\r\n");
    CHECK(c.line().rfind("+OK tls=TLSv1.", 0) == 0);
}

TEST_CASE("TLS: STARTTLS discards plaintext pipelined after the command") {
    EchoServer s(concurrent(), {}, true);
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("TLS?\r\n");
    CHECK(c.line() == "+OK plain\r\n");
    // An attacker's injected command rides in the same segment as STARTTLS.
    c.send("STARTTLS\r\nINJECTED\r\n");
    CHECK(c.line() == "+OK begin TLS\r\n");
    REQUIRE(c.start_tls());
    c.send("TLS?\r\n");
    // The first reply over TLS answers TLS?, not INJECTED: it was never executed.
    std::string reply = c.line();
    INFO("reply: ", reply);
    CHECK(reply.rfind("+OK tls=TLSv1.", 0) == 0);
    CHECK(reply.find("discarded=10") != std::string::npos);
}

TEST_CASE("limits: overall and per client address, refused with the protocol's line") {
    auto options = concurrent();
    options.max_connections = 3;
    options.max_connections_per_ip = 2;
    EchoServer s(options);
    auto a1 = s.client("127.0.0.1");
    REQUIRE(greeting_ok(a1));
    auto a2 = s.client("127.0.0.1");
    REQUIRE(greeting_ok(a2));
    auto a3 = s.client("127.0.0.1");  // third from one address
    CHECK(a3.line() == "-ERR too many connections\r\n");
    CHECK(a3.closed_by_peer());
    auto b1 = s.client("127.0.0.2");  // another address: allowed, total now 3
    REQUIRE(greeting_ok(b1));
    auto c1 = s.client("127.0.0.3");  // over the overall cap
    CHECK(c1.line() == "-ERR too many connections\r\n");
    a1.send("QUIT\r\n");
    CHECK(a1.line() == "+OK bye\r\n");
    CHECK(a1.closed_by_peer());
    // The slot comes free when the server has finished closing a1, a moment after a1 sees
    // the close: a new client from the same address is greeted within the bound.
    CHECK(eventually([&] {
        auto a4 = s.client("127.0.0.1");
        return greeting_ok(a4);
    }));
}

TEST_CASE("concurrent model: 1,000 clients served at the same time") {
    raise_fd_limit();
    EchoServer s(concurrent(2));
    std::vector<TestClient> clients;
    clients.reserve(1000);
    for (int i = 0; i < 1000; ++i) clients.push_back(s.client());
    // Every connection is open at once and each gets its greeting and its echo.
    int served = 0;
    std::set<std::string> workers;
    for (int i = 0; i < 1000; ++i) {
        std::string greeting = clients[i].line();
        if (greeting.rfind("+OK echo", 0) != 0) continue;
        workers.insert(greeting.substr(greeting.find("worker=")));
        clients[i].send("n" + std::to_string(i) + "\r\n");
    }
    for (int i = 0; i < 1000; ++i)
        if (clients[i].line() == "+OK n" + std::to_string(i) + "\r\n") ++served;
    CHECK(served == 1000);
    CHECK(workers.size() == 2);  // the dispatcher spread them over both workers
}

TEST_CASE("iterative model: 1,000 clients served one by one") {
    raise_fd_limit();
    auto options = concurrent();
    options.model = ServerModel::iterative;
    EchoServer s(options);
    std::vector<TestClient> clients;
    clients.reserve(1000);
    for (int i = 0; i < 1000; ++i) clients.push_back(s.client());
    int served = 0, waited = 0;
    for (int i = 0; i < 1000; ++i) {
        if (!greeting_ok(clients[i])) continue;
        // While client i is served, client i+1 hears nothing: it waits in the backlog.
        if (i + 1 < 1000 && i % 100 == 0) {
            pollfd p{clients[i + 1].fd(), POLLIN, 0};
            if (::poll(&p, 1, 50) == 0) ++waited;
        }
        clients[i].send("QUIT\r\n");
        if (clients[i].line() == "+OK bye\r\n") ++served;
    }
    CHECK(served == 1000);
    CHECK(waited == 10);
}

TEST_CASE("graceful shutdown: sessions in flight complete, new connections are refused") {
    auto options = concurrent();
    options.shutdown_grace = std::chrono::seconds(5);
    EchoServer s(options);
    auto busy = s.client();
    REQUIRE(greeting_ok(busy));
    busy.send("SLEEP 400\r\n");
    REQUIRE(busy.line() == "+OK sleeping\r\n");  // the request is in flight
    std::thread stopper([&] { s.stop(); });
    CHECK(eventually([&] {  // the listener closes: connections are refused
        TestClient late;
        return !late.connect("127.0.0.1", s.port, 1000);
    }));
    CHECK(busy.line() == "+OK slept\r\n");  // the request in flight finished
    busy.send("QUIT\r\n");
    CHECK(busy.line() == "+OK bye\r\n");
    stopper.join();
}

TEST_CASE("graceful shutdown: after the grace period idle sessions are told to end") {
    auto options = concurrent();
    options.shutdown_grace = std::chrono::seconds(0);
    EchoServer s(options);
    auto idle = s.client();
    REQUIRE(greeting_ok(idle));
    s.stop();
    CHECK(idle.line() == "-ERR shutting down\r\n");
}

TEST_CASE("blocking pool: work runs off the worker and the session resumes on it") {
    EchoServer s(concurrent(1));
    auto c = s.client();
    REQUIRE(greeting_ok(c));
    c.send("BLOCK 50\r\n");
    CHECK(c.line() == "+OK blocked pool=yes resumed=worker\r\n");
}
