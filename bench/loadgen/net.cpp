// hikyaku-bench: the network workloads (SMTP, POP3, idle connections, wait-delivered) as
// Boost.Asio C++20 coroutines on one thread, over the suite's client stack
// (common/net/client.h: deadlines per operation, bounded reads) and its reply parsers
// (common/client). It and imap.cpp are the files that include Asio (net_common.hpp).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>
#include <unistd.h>

#include "bench/loadgen/net_common.hpp"
#include "common/client/pop3_response.h"
#include "common/mime/compose.h"
#include "common/text/base64.h"

namespace bench {
namespace {

// ---------------------------------------------------------------- SMTP

enum class SmtpMode { rset, reuse, reconnect };

// Where to look for delivered messages: a Maildir, or a POP3 login.
struct Target {
    std::string maildir;
    std::string user;
    long long baseline = 0;
    long long want = 0;
    long long last = -1;
    double done_at = -1;  // seconds since the workload's start, -1 not yet
};

struct Waiter {
    bool pop3 = false;
    tcp::endpoint ep;
    std::string password;
    std::string auth = "user";
    double timeout = 120;
    std::vector<Target> targets;
};

awaitable<void> pop3_login(Ctx& c, Conn& k, const std::string& user, const std::string& pass, const std::string& auth);
awaitable<std::string> pop3_ok(Ctx& c, Conn& k, const std::string& cmd, const char* what);

awaitable<long long> pop3_stat(Ctx& c, Conn& k, const std::string& user, const std::string& pass,
                               const std::string& auth) {
    co_await pop3_login(c, k, user, pass, auth);
    co_await write_str(c, k, "STAT\r\n");
    hikyaku::client::Pop3ResponseParser parser(hikyaku::client::Pop3Body::none);
    hikyaku::net::NetStatus status = co_await k.c->read_response(parser, c.deadline());
    check(status);
    auto drop = hikyaku::client::parse_drop_listing(parser.status_text());
    if (parser.status() != hikyaku::client::Pop3Status::ok || !drop)
        throw std::runtime_error("STAT: " + (parser.status() == hikyaku::client::Pop3Status::ok
                                                 ? "+OK " + parser.status_text()
                                                 : parser.error_message())
                                                .substr(0, 120));
    co_await pop3_ok(c, k, "QUIT\r\n", "QUIT");
    Ctx::close(k);
    co_return static_cast<long long>(drop->messages);
}

// The number of messages a target holds now, -1 if it cannot be read.
awaitable<long long> count_target(Ctx& c, Conn& k, const Waiter& w, const Target& t, Errors* err) {
    if (!w.pop3) co_return count_maildir(t.maildir);
    long long n = -1;
    try {
        n = co_await pop3_stat(c, k, t.user, w.password, w.auth);
    } catch (const std::exception& e) {
        if (err) err->add("STAT " + t.user + ": " + describe(e));
        Ctx::close(k);
    }
    co_return n;
}

// Polls one target until it holds `want` messages or the waiter's deadline passes.
awaitable<void> poll_target(Ctx& c, Waiter& w, Target& t, Clock::time_point t0, Clock::time_point deadline,
                            long& active) {
    Conn& k = c.new_conn(w.ep);
    while (Clock::now() < deadline) {
        t.last = co_await count_target(c, k, w, t, nullptr);
        if (t.last >= t.want) {
            t.done_at = seconds_since(t0);
            break;
        }
        co_await sleep_for(c, w.pop3 ? 50ms : 10ms);
    }
    --active;
}

awaitable<void> wait_all(Ctx& c, Waiter& w, Clock::time_point t0) {
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(w.timeout * 1000));
    long active = static_cast<long>(w.targets.size());
    for (auto& t : w.targets) asio::co_spawn(c.io, poll_target(c, w, t, t0, deadline, active), asio::detached);
    co_await wait_zero(c, active);
}

struct SmtpRun {
    std::vector<std::string> rcpts;
    int per_msg = 1;
    std::string from, helo, date;
    std::string auth_plain;  // "AUTH PLAIN <base64>" after EHLO when --auth is given
    std::string body;        // the message after its header, with the final ".\r\n"
    SmtpMode mode = SmtpMode::rset;
    long long max_count = 0;
    Clock::time_point t0, end;
    long long started = 0, acked = 0;
    size_t rr = 0;
    std::vector<long long> acked_per_rcpt;
    std::vector<double> lat_ms;
    Errors err;
    long active = 0;
};

std::string smtp_header(const SmtpRun& s, long long no, const std::string& to) {
    return "From: <" + s.from + ">\r\nTo: <" + to + ">\r\nSubject: hikyaku-bench message " + std::to_string(no) +
           "\r\nMessage-ID: <" + std::to_string(no) + "." + std::to_string(getpid()) +
           "@bench.test>\r\nDate: " + s.date + "\r\n\r\n";
}

awaitable<void> smtp_client(Ctx& c, SmtpRun& s, Conn& k) {
    bool connected = false;
    std::string message;  // header and body of the message in flight, one write
    int failures = 0;
    while (Clock::now() < s.end && s.started < s.max_count) {
        try {
            auto t_conn = Clock::now();
            if (!connected) {
                co_await connect(c, k);
                co_await smtp_expect(c, k, "", 2, "greeting");
                co_await smtp_expect(c, k, "EHLO " + s.helo + "\r\n", 2, "EHLO");
                if (!s.auth_plain.empty()) co_await smtp_expect(c, k, s.auth_plain, 2, "AUTH");
                connected = true;
            }
            std::vector<size_t> idx;
            for (int j = 0; j < s.per_msg; ++j) idx.push_back(s.rr++ % s.rcpts.size());
            long long no = ++s.started;
            auto t1 = s.mode == SmtpMode::reconnect ? t_conn : Clock::now();
            bool refused = false;
            try {
                co_await smtp_expect(c, k, "MAIL FROM:<" + s.from + ">\r\n", 2, "MAIL");
                for (size_t i : idx) co_await smtp_expect(c, k, "RCPT TO:<" + s.rcpts[i] + ">\r\n", 2, "RCPT");
                co_await smtp_expect(c, k, "DATA\r\n", 3, "DATA");
                message = smtp_header(s, no, s.rcpts[idx[0]]);
                message += s.body;
                co_await write_str(c, k, message);
                co_await smtp_expect(c, k, "", 2, "end of DATA");
            } catch (const Negative& e) {
                s.err.add(describe(e));
                refused = true;
            }
            if (refused) {  // the transaction was refused: start the next one afresh
                co_await smtp_expect(c, k, "RSET\r\n", 2, "RSET");
                continue;
            }
            s.lat_ms.push_back(seconds_since(t1) * 1000);
            ++s.acked;
            for (size_t i : idx) ++s.acked_per_rcpt[i];
            failures = 0;
            if (s.mode == SmtpMode::reconnect) {
                co_await smtp_expect(c, k, "QUIT\r\n", 2, "QUIT");
                Ctx::close(k);
                connected = false;
            } else if (s.mode == SmtpMode::rset) {
                co_await smtp_expect(c, k, "RSET\r\n", 2, "RSET");
            }
        } catch (const std::exception& e) {
            s.err.add(describe(e));
            Ctx::close(k);
            connected = false;
            ++failures;
        }
        if (failures > 0) co_await sleep_for(c, std::chrono::milliseconds(std::min(failures, 10) * 100));
    }
    if (connected) {
        try {
            co_await smtp_expect(c, k, "QUIT\r\n", 2, "QUIT");
        } catch (const std::exception&) {}
    }
    Ctx::close(k);
    --s.active;
}

Waiter parse_waiter(const Args& a, const std::string& prefix, const std::vector<std::string>& default_users,
                    const std::string& host) {
    Waiter w;
    auto maildirs = a.list(prefix + "maildir");
    long long pop3_port = a.integer(prefix + "pop3-port", 0);
    if (prefix.empty()) pop3_port = a.integer("port", 0);
    auto users = a.list(prefix + "user");
    w.password = a.str(prefix + "password", "");
    w.auth = a.str(prefix + "auth", "user");
    w.timeout = a.number(prefix + "timeout", 120);
    if (!maildirs.empty()) {
        for (auto& d : maildirs) w.targets.push_back(Target{d, "", 0, 0, -1, -1});
    } else if (pop3_port > 0) {
        w.pop3 = true;
        w.ep = resolve_loopback(host, pop3_port);
        if (users.empty()) users = default_users;
        for (auto& u : users) w.targets.push_back(Target{"", u, 0, 0, -1, -1});
    }
    return w;
}

}  // namespace

int run_smtp(const Args& a, Report& r) {
    Ctx c;
    std::string host = a.str("host", "127.0.0.1");
    c.ep = resolve_loopback(host, a.integer("port", 25));
    c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("timeout", 30) * 1000));
    SmtpRun s;
    int clients = static_cast<int>(a.integer("clients", 1));
    long long size = a.integer("size", 4096);
    double duration = a.number("duration", 10);
    s.rcpts = a.list("rcpt");
    s.per_msg = static_cast<int>(a.integer("rcpts-per-msg", 1));
    s.from = a.str("from", "bench@bench.test");
    s.helo = a.str("helo", "bench.localhost");
    if (std::string auth = a.str("auth", ""); !auth.empty()) {
        // USER:PASSWORD, for submission (a queue for other domains): AUTH PLAIN on loopback.
        const auto colon = auth.find(':');
        if (colon == std::string::npos) throw UsageError("--auth needs USER:PASSWORD");
        std::string cred;
        cred += '\0';
        cred += auth.substr(0, colon);
        cred += '\0';
        cred += auth.substr(colon + 1);
        s.auth_plain = "AUTH PLAIN " + hikyaku::text::base64_encode(cred) + "\r\n";
    }
    s.max_count = a.integer("count", 1000000);
    std::string mode = a.str("mode", "rset");
    Waiter w = parse_waiter(a, "wait-", s.rcpts, host);
    a.check_all_used();
    if (s.rcpts.empty()) throw UsageError("--rcpt is required");
    if (clients < 1 || clients > 100000) throw UsageError("--clients must be 1..100000");
    if (size < 64 || size > (32 << 20)) throw UsageError("--size must be 64..33554432");
    if (s.per_msg < 1 || s.per_msg > static_cast<int>(s.rcpts.size()))
        throw UsageError("--rcpts-per-msg must be 1..number of --rcpt");
    if (mode == "rset") s.mode = SmtpMode::rset;
    else if (mode == "reuse") s.mode = SmtpMode::reuse;
    else if (mode == "reconnect") s.mode = SmtpMode::reconnect;
    else throw UsageError("--mode must be rset, reuse or reconnect");
    bool e2e = !w.targets.empty();
    if (e2e && w.targets.size() != s.rcpts.size())
        throw UsageError("give one --wait-maildir or --wait-user per --rcpt");
    s.date = hikyaku::mime::format_rfc5322_date(std::time(nullptr));
    long long hdr_len = static_cast<long long>(smtp_header(s, 1000000, s.rcpts[0]).size());
    s.body = make_body(std::max(3LL, size - hdr_len)) + ".\r\n";
    s.acked_per_rcpt.assign(s.rcpts.size(), 0);

    double load_elapsed = 0, delivered_at = -1;
    Errors werr;
    run_main(c, [&]() -> awaitable<void> {
        if (e2e) {  // what the mailboxes hold before the load
            Conn& k = c.new_conn(w.ep);
            for (auto& t : w.targets) {
                long long n = co_await count_target(c, k, w, t, &werr);
                t.baseline = n < 0 ? 0 : n;
            }
        }
        s.t0 = Clock::now();
        s.end = s.t0 + std::chrono::milliseconds(static_cast<long long>(duration * 1000));
        std::vector<Conn*> ks;
        for (int i = 0; i < clients; ++i) ks.push_back(&c.new_conn());
        s.active = clients;
        for (int i = 0; i < clients; ++i)
            asio::co_spawn(c.io, smtp_client(c, s, *ks[static_cast<size_t>(i)]), asio::detached);
        co_await wait_zero(c, s.active);
        load_elapsed = seconds_since(s.t0);
        if (e2e) {
            for (size_t i = 0; i < w.targets.size(); ++i)
                w.targets[i].want = w.targets[i].baseline + s.acked_per_rcpt[i];
            co_await wait_all(c, w, s.t0);
            delivered_at = 0;
            for (auto& t : w.targets) delivered_at = t.done_at < 0 ? -1 : std::max(delivered_at, t.done_at);
            if (delivered_at < 0) {
                for (auto& t : w.targets)
                    if (t.done_at < 0)
                        werr.add("not delivered in time: " + (t.user.empty() ? t.maildir : t.user) + " has " +
                                 std::to_string(t.last) + " of " + std::to_string(t.want));
            }
        }
    });
    r.add("smtp.clients", clients, "clients");
    r.add("smtp.acked", static_cast<double>(s.acked), "msgs");
    r.add("smtp.elapsed", load_elapsed, "s");
    r.add("smtp.rate", load_elapsed > 0 ? s.acked / load_elapsed : 0, "msgs/s");
    r.add("smtp.p50", percentile(s.lat_ms, 50), "ms");
    r.add("smtp.p99", percentile(s.lat_ms, 99), "ms");
    r.add("smtp.errors", static_cast<double>(s.err.count), "errors");
    if (e2e) {
        r.add("smtp.delivered_elapsed", delivered_at, "s");
        r.add("smtp.delivered_rate", delivered_at > 0 ? s.acked / delivered_at : 0, "msgs/s");
        r.add("smtp.delivery_lag", delivered_at > 0 ? delivered_at - load_elapsed : -1, "s");
    }
    s.err.print("smtp");
    werr.print("smtp wait");
    bool ok = s.acked > 0 && s.err.count == 0 && (!e2e || delivered_at > 0);
    return ok ? 0 : 1;
}

int run_wait_delivered(const Args& a, Report& r) {
    Ctx c;
    std::string host = a.str("host", "127.0.0.1");
    c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("op-timeout", 30) * 1000));
    long long count = a.integer("count", -1);
    Waiter w = parse_waiter(a, "", {}, host);
    a.check_all_used();
    if (count < 0) throw UsageError("--count is required");
    if (w.targets.empty()) throw UsageError("give --maildir DIR... or --port P --user U... --password PW");
    auto t0 = Clock::now();
    auto deadline = t0 + std::chrono::milliseconds(static_cast<long long>(w.timeout * 1000));
    long long total = 0;
    double done = -1;
    Errors err;
    run_main(c, [&]() -> awaitable<void> {
        Conn& k = c.new_conn(w.ep);
        while (Clock::now() < deadline) {
            total = 0;
            for (auto& t : w.targets) {
                long long n = co_await count_target(c, k, w, t, &err);
                if (n > 0) total += n;
            }
            if (total >= count) {
                done = seconds_since(t0);
                break;
            }
            co_await sleep_for(c, w.pop3 ? 50ms : 10ms);
        }
    });
    r.add("wait.count", static_cast<double>(total), "msgs");
    r.add("wait.elapsed", done, "s");
    if (done < 0) err.print("wait-delivered");
    return done >= 0 ? 0 : 1;
}

// ---------------------------------------------------------------- POP3

namespace {

// Sends `cmd` (unless empty) and reads a single-line response; "+OK" returns its text.
awaitable<std::string> pop3_ok(Ctx& c, Conn& k, const std::string& cmd, const char* what) {
    if (!cmd.empty()) co_await write_str(c, k, cmd);
    hikyaku::client::Pop3ResponseParser parser(hikyaku::client::Pop3Body::none);
    hikyaku::net::NetStatus status = co_await k.c->read_response(parser, c.deadline());
    check(status);
    if (parser.status() != hikyaku::client::Pop3Status::ok)
        throw std::runtime_error(std::string(what) + ": " + parser.error_message().substr(0, 120));
    co_return parser.status_text();
}

awaitable<void> pop3_login(Ctx& c, Conn& k, const std::string& user, const std::string& pass, const std::string& auth) {
    co_await connect(c, k);
    co_await pop3_ok(c, k, "", "greeting");
    if (auth == "plain") {
        std::string cred = std::string(1, '\0') + user + std::string(1, '\0') + pass;
        co_await pop3_ok(c, k, "AUTH PLAIN " + hikyaku::text::base64_encode(cred) + "\r\n", "AUTH PLAIN");
    } else {
        co_await pop3_ok(c, k, "USER " + user + "\r\n", "USER");
        co_await pop3_ok(c, k, "PASS " + pass + "\r\n", "PASS");
    }
}

// RETR one message, its body read line by line (each within --timeout) and only counted (the parser
// finds line ends with memchr: a byte-by-byte search cost this one-thread client more CPU
// than the servers it measures); returns the octets of the message, un-stuffed, with CRLFs.
awaitable<size_t> pop3_retr(Ctx& c, Conn& k, long long i) {
    co_await write_str(c, k, "RETR " + std::to_string(i) + "\r\n");
    hikyaku::client::Pop3ResponseParser parser(hikyaku::client::Pop3Body::count);
    hikyaku::net::NetStatus status = co_await k.c->read_long_response(parser, c.op_timeout);
    check(status);
    if (parser.status() != hikyaku::client::Pop3Status::ok)
        throw std::runtime_error("RETR: " + parser.error_message().substr(0, 120));
    co_return parser.body_octets();
}

struct Pop3Run {
    std::vector<std::string> users;
    std::string password, auth;
    Clock::time_point end;
    long long passes = 0;
    long long msgs = 0, bytes = 0, sessions = 0;
    std::vector<double> login_ms;
    Errors err;
    long active = 0;
};

awaitable<void> pop3_user(Ctx& c, Pop3Run& s, Conn& k, const std::string& user) {
    long long pass = 0;
    int failures = 0;
    while (Clock::now() < s.end && (s.passes == 0 || pass < s.passes)) {
        try {
            auto t1 = Clock::now();
            co_await pop3_login(c, k, user, s.password, s.auth);
            s.login_ms.push_back(seconds_since(t1) * 1000);
            std::string st = co_await pop3_ok(c, k, "STAT\r\n", "STAT");
            long long n = std::atoll(st.c_str());
            if (n <= 0) {
                s.err.add("maildrop of " + user + " is empty");
                break;
            }
            for (long long i = 1; i <= n && Clock::now() < s.end; ++i) {
                s.bytes += static_cast<long long>(co_await pop3_retr(c, k, i));
                ++s.msgs;
            }
            co_await pop3_ok(c, k, "QUIT\r\n", "QUIT");
            Ctx::close(k);
            ++s.sessions;
            ++pass;
            failures = 0;
        } catch (const std::exception& e) {
            s.err.add(user + ": " + describe(e));
            Ctx::close(k);
            ++failures;
        }
        if (failures > 0) co_await sleep_for(c, std::chrono::milliseconds(std::min(failures, 10) * 100));
    }
    Ctx::close(k);
    --s.active;
}

}  // namespace

int run_pop3(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 110));
    c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("timeout", 30) * 1000));
    Pop3Run s;
    s.users = users_from(a);
    s.password = a.required("password");
    s.auth = a.str("auth", "user");
    s.passes = a.integer("passes", 0);
    double duration = a.number("duration", 10);
    a.check_all_used();
    if (s.users.empty()) throw UsageError("--user is required");
    if (s.auth != "user" && s.auth != "plain") throw UsageError("--auth must be user or plain");
    double elapsed = 0;
    run_main(c, [&]() -> awaitable<void> {
        auto t0 = Clock::now();
        s.end = t0 + std::chrono::milliseconds(static_cast<long long>(duration * 1000));
        std::vector<Conn*> ks;
        for (size_t i = 0; i < s.users.size(); ++i) ks.push_back(&c.new_conn());
        s.active = static_cast<long>(s.users.size());
        for (size_t i = 0; i < s.users.size(); ++i)
            asio::co_spawn(c.io, pop3_user(c, s, *ks[i], s.users[i]), asio::detached);
        co_await wait_zero(c, s.active);
        elapsed = seconds_since(t0);
    });
    r.add("pop3.users", static_cast<double>(s.users.size()), "users");
    r.add("pop3.msgs", static_cast<double>(s.msgs), "msgs");
    r.add("pop3.sessions", static_cast<double>(s.sessions), "sessions");
    r.add("pop3.elapsed", elapsed, "s");
    r.add("pop3.rate", elapsed > 0 ? s.msgs / elapsed : 0, "msgs/s");
    r.add("pop3.mbps", elapsed > 0 ? s.bytes / elapsed / 1e6 : 0, "MB/s");
    r.add("pop3.login_p50", percentile(s.login_ms, 50), "ms");
    r.add("pop3.errors", static_cast<double>(s.err.count), "errors");
    s.err.print("pop3");
    return s.msgs > 0 && s.err.count == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- idle

namespace {}  // namespace

int run_idle(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 110));
    c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("timeout", 30) * 1000));
    std::vector<std::string> users = users_from(a);
    std::string password = a.required("password");
    std::string auth = a.str("auth", "user");
    IdleHold h;
    parse_idle_options(a, h);
    a.check_all_used();
    if (users.empty()) throw UsageError("--user is required");
    check_idle_options(h);
    h.open = [&](Conn& k, std::size_t i) { return pop3_login(c, k, users[i % users.size()], password, auth); };
    h.close = [&](Conn& k) -> awaitable<void> {
        co_await pop3_ok(c, k, "NOOP\r\n", "NOOP after hold");
        co_await pop3_ok(c, k, "QUIT\r\n", "QUIT");
    };
    run_idle_hold(c, h, "idle");
    return report_idle(r, "idle", h, "idle");
}

}  // namespace bench
