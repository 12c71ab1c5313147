// hikyaku-bench: the pieces every network workload shares (net.cpp: SMTP, POP3, idle;
// imap.cpp: IMAP): one io_context on one thread, client connections of the suite's client
// stack (common/net/client.h), error counting, the command line's logins, and the coroutine
// helpers. Included only by the files that need Asio.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/bench.hpp"
#include "common/client/smtp_reply.h"
#include "common/net/client.h"

namespace bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

// One client connection and where it connects. The connection enforces the deadline of
// each operation itself (net::ClientConnection), so no watchdog is needed.
struct Conn {
    tcp::endpoint ep;  // where connect() goes
    std::shared_ptr<hikyaku::net::ClientConnection> c;
    Conn(asio::io_context& io, tcp::endpoint to)
        : ep(to), c(hikyaku::net::ClientConnection::create(io.get_executor())) {}
};

// Errors of a workload: a count and the first few messages for stderr.
struct Errors {
    long count = 0;
    std::vector<std::string> first;
    void add(const std::string& what) {
        ++count;
        if (first.size() < 5) first.push_back(what);
    }
    void print(const char* workload) const {
        if (count == 0) return;
        std::cerr << workload << ": " << count << " error(s); first:\n";
        for (auto& e : first) std::cerr << "  " << e << "\n";
    }
};

struct Ctx {
    asio::io_context io{1};
    tcp::endpoint ep;
    std::chrono::milliseconds op_timeout{30000};
    std::deque<Conn> conns;  // deque: references stay valid as it grows

    Conn& new_conn() { return conns.emplace_back(io, ep); }
    Conn& new_conn(const tcp::endpoint& to) { return conns.emplace_back(io, to); }
    // The deadline of one network operation starting now.
    Clock::time_point deadline() const { return Clock::now() + op_timeout; }
    static void close(Conn& k) { k.c->close(); }
};

// A failed network operation ends the current session of a workload.
inline void check(const hikyaku::net::NetStatus& status) {
    if (!status) throw std::runtime_error(status.message);
}

// A short description of a failure: system errors without Asio's source location.
inline std::string describe(const std::exception& e) {
    if (auto* se = dynamic_cast<const boost::system::system_error*>(&e)) return se->code().message();
    return e.what();
}

// The logins of a workload: --user U[,U...] and the lines of --user-file PATH.
inline std::vector<std::string> users_from(const Args& a) {
    std::vector<std::string> users = a.list("user");
    std::string file = a.str("user-file", "");
    if (!file.empty()) {
        std::ifstream f(file);
        if (!f) throw UsageError("cannot read --user-file " + file);
        std::string line;
        while (std::getline(f, line))
            if (!line.empty()) users.push_back(line);
    }
    return users;
}

inline tcp::endpoint resolve_loopback(const std::string& host, long long port) {
    if (port <= 0 || port > 65535) throw UsageError("--port must be 1..65535");
    asio::io_context io;
    tcp::resolver res(io);
    boost::system::error_code ec;
    auto r = res.resolve(host, std::to_string(port), ec);
    if (ec || r.empty()) throw UsageError("cannot resolve " + host);
    tcp::endpoint ep = r.begin()->endpoint();
    if (!ep.address().is_loopback()) throw UsageError("refusing a non-loopback address: " + ep.address().to_string());
    return ep;
}

inline awaitable<void> sleep_for(Ctx& c, std::chrono::milliseconds d) {
    asio::steady_timer t(c.io);
    t.expires_after(d);
    co_await t.async_wait(use_awaitable);
}

// Waits until a counter of running coroutines drops to zero.
inline awaitable<void> wait_zero(Ctx& c, const long& counter) {
    while (counter > 0) co_await sleep_for(c, 5ms);
}

// Runs `main` on the context until it returns.
inline void run_main(Ctx& c, std::function<awaitable<void>()> main) {
    std::exception_ptr failure;
    asio::co_spawn(
        c.io,
        [&]() -> awaitable<void> {
            try {
                co_await main();
            } catch (...) {
                failure = std::current_exception();
            }
            for (auto& k : c.conns) Ctx::close(k);  // no deadline timer outlives the workload
        },
        asio::detached);
    c.io.run();
    if (failure) std::rethrow_exception(failure);
}

inline awaitable<void> connect(Ctx& c, Conn& k) {
    hikyaku::net::NetStatus status = co_await k.c->connect(k.ep, c.deadline());
    check(status);
}

inline awaitable<void> write_str(Ctx& c, Conn& k, const std::string& s) {
    hikyaku::net::NetStatus status = co_await k.c->write(s, c.deadline());
    check(status);
}

// ---------------------------------------------------------------- SMTP (smtp, imap-notify)

struct SmtpReply {
    int code = 0;
    std::string text;
};

// One reply, read whole within one deadline by the suite's reply parser.
inline awaitable<SmtpReply> smtp_reply(Ctx& c, Conn& k) {
    hikyaku::client::SmtpReplyParser parser;
    hikyaku::net::NetStatus status = co_await k.c->read_response(parser, c.deadline());
    check(status);
    if (parser.status() != hikyaku::client::SmtpReplyStatus::complete)
        throw std::runtime_error("bad SMTP reply: " + parser.error_message());
    co_return SmtpReply{parser.reply().code, std::to_string(parser.reply().code) + " " + parser.reply().text()};
}

struct Negative : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline awaitable<void> smtp_expect(Ctx& c, Conn& k, const std::string& cmd, int expect_class, const char* what) {
    if (!cmd.empty()) co_await write_str(c, k, cmd);
    SmtpReply r = co_await smtp_reply(c, k);
    if (r.code / 100 != expect_class) throw Negative(std::string(what) + ": " + r.text.substr(0, 120));
}

// Body text of printable 76-character lines, `len` bytes in all, ending with CRLF.
inline std::string make_body(long long len) {
    static const std::string pattern = "The quick brown fox jumps over the lazy dog; 0123456789 hikyaku bench text.";
    std::string out;
    out.reserve(static_cast<size_t>(len) + 8);
    while (static_cast<long long>(out.size()) + 78 <= len) out += pattern.substr(0, 76) + "\r\n";
    long long rest = len - static_cast<long long>(out.size());
    if (rest >= 3) out += pattern.substr(0, static_cast<size_t>(rest - 2)) + "\r\n";
    else if (out.empty()) out = "x\r\n";
    return out;
}

// Memory of the measured processes before and after a workload, per session, as
// `<prefix>.rss_per_conn` and `<prefix>.pss_per_conn` (kB) beside the sums.
inline void report_memory(Report& r, const std::string& prefix, const ProcMem& before, const ProcMem& after,
                          long sessions) {
    r.add(prefix + ".processes_before", static_cast<double>(before.processes), "processes");
    r.add(prefix + ".processes_after", static_cast<double>(after.processes), "processes");
    r.add(prefix + ".rss_before", static_cast<double>(before.rss_kb), "kB");
    r.add(prefix + ".rss_after", static_cast<double>(after.rss_kb), "kB");
    r.add(prefix + ".pss_before", static_cast<double>(before.pss_kb), "kB");
    r.add(prefix + ".pss_after", static_cast<double>(after.pss_kb), "kB");
    double k = sessions > 0 ? static_cast<double>(sessions) : 1;
    r.add(prefix + ".rss_per_conn", static_cast<double>(after.rss_kb - before.rss_kb) / k, "kB");
    r.add(prefix + ".pss_per_conn", static_cast<double>(after.pss_kb - before.pss_kb) / k, "kB");
}

// ---------------------------------------------------------------- idle sessions (idle, imap-idle)

// Sessions opened by at most `parallel` at once, held idle while the servers' memory is
// measured, then each made to answer once more and closed. `open` logs session i in (throws
// on failure); `close` must get an answer after the hold, then logs out.
struct IdleHold {
    long long sessions = 100;
    long long parallel = 200;
    double login_timeout = 300, settle = 1, hold = 5;
    std::string ready_file;  // written with the count once all are logged in
    std::vector<int> pids;   // measured before the first login and after the last (and settle)
    std::vector<std::string> excluded;
    std::function<awaitable<void>(Conn&, std::size_t)> open;
    std::function<awaitable<void>(Conn&)> close;

    long logged_in = 0, alive = 0;
    double login_time = -1;
    ProcMem before, after;
    Errors err;

    std::vector<Conn*> conns;
    std::vector<char> ready;
    std::size_t next = 0;
    long active = 0;
    Clock::time_point login_deadline;
};

// The options every idle workload shares (see main.cpp's usage).
inline void parse_idle_options(const Args& a, IdleHold& h) {
    h.sessions = a.integer("connections", 100);
    h.parallel = a.integer("parallel", 200);
    h.hold = a.number("hold", 5);
    h.login_timeout = a.number("login-timeout", 300);
    h.settle = a.number("settle", 1);
    h.ready_file = a.str("ready-file", "");
    for (auto& p : a.list("measure-pid")) h.pids.push_back(std::atoi(p.c_str()));
    h.excluded = a.list("exclude-mapping");
}

inline void check_idle_options(const IdleHold& h) {
    if (h.sessions < 1 || h.sessions > 200000) throw UsageError("--connections must be 1..200000");
    if (h.parallel < 1) throw UsageError("--parallel must be >= 1");
    if (h.hold < 0 || h.hold > 3600) throw UsageError("--hold must be 0..3600");
}

inline awaitable<void> idle_open_worker(IdleHold& h) {
    while (h.next < h.conns.size() && Clock::now() < h.login_deadline) {
        std::size_t i = h.next++;
        Conn& k = *h.conns[i];
        try {
            co_await h.open(k, i);
            h.ready[i] = 1;  // idle now: no operation, so no deadline, until it is used again
            ++h.logged_in;
        } catch (const std::exception& e) {
            h.err.add("connection " + std::to_string(i) + ": " + describe(e));
            Ctx::close(k);
        }
    }
    --h.active;
}

inline awaitable<void> idle_close_worker(IdleHold& h) {
    while (h.next < h.conns.size()) {
        std::size_t i = h.next++;
        if (!h.ready[i]) continue;
        Conn& k = *h.conns[i];
        try {
            co_await h.close(k);
            ++h.alive;
        } catch (const std::exception& e) {
            h.err.add("connection " + std::to_string(i) + " after the hold: " + describe(e));
        }
        Ctx::close(k);
    }
    --h.active;
}

// Runs the whole workload on `c`; `what` names it on stderr.
inline void run_idle_hold(Ctx& c, IdleHold& h, const char* what) {
    if (!h.pids.empty()) h.before = measure_tree(h.pids, h.excluded);
    run_main(c, [&]() -> awaitable<void> {
        for (long long i = 0; i < h.sessions; ++i) h.conns.push_back(&c.new_conn());
        h.ready.assign(static_cast<std::size_t>(h.sessions), 0);
        auto t0 = Clock::now();
        h.login_deadline = t0 + std::chrono::milliseconds(static_cast<long long>(h.login_timeout * 1000));
        long workers = static_cast<long>(std::min(h.parallel, h.sessions));
        h.active = workers;
        for (long i = 0; i < workers; ++i) asio::co_spawn(c.io, idle_open_worker(h), asio::detached);
        co_await wait_zero(c, h.active);
        h.login_time = seconds_since(t0);
        co_await sleep_for(c, std::chrono::milliseconds(static_cast<long long>(h.settle * 1000)));
        if (!h.pids.empty()) h.after = measure_tree(h.pids, h.excluded);
        if (!h.ready_file.empty()) {
            std::ofstream f(h.ready_file);
            f << h.logged_in << "\n";
        }
        std::cerr << what << ": " << h.logged_in << " of " << h.sessions << " connections logged in after "
                  << h.login_time << " s; holding " << h.hold << " s\n";
        co_await sleep_for(c, std::chrono::milliseconds(static_cast<long long>(h.hold * 1000)));
        h.next = 0;
        h.active = workers;
        for (long i = 0; i < workers; ++i) asio::co_spawn(c.io, idle_close_worker(h), asio::detached);
        co_await wait_zero(c, h.active);
    });
}

// The figures as `<prefix>.name`; the exit status (0: every session in and alive after the hold).
inline int report_idle(Report& r, const std::string& prefix, const IdleHold& h, const char* what) {
    r.add(prefix + ".connections", static_cast<double>(h.sessions), "conns");
    r.add(prefix + ".logged_in", static_cast<double>(h.logged_in), "conns");
    r.add(prefix + ".alive_after_hold", static_cast<double>(h.alive), "conns");
    r.add(prefix + ".login_time", h.login_time, "s");
    if (!h.pids.empty()) report_memory(r, prefix, h.before, h.after, h.logged_in);
    r.add(prefix + ".errors", static_cast<double>(h.err.count), "errors");
    h.err.print(what);
    return h.logged_in == h.sessions && h.alive == h.sessions ? 0 : 1;
}

}  // namespace bench
