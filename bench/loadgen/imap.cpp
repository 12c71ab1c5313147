// hikyaku-bench: the IMAP workloads of issue 13 (RFC 9051 / RFC 3501 clients, as coroutines on
// the one thread of net_common.hpp): idle sessions (LOGIN, SELECT INBOX, IDLE: RFC 2177),
// optionally compressed (COMPRESS=DEFLATE, RFC 4978: raw DEFLATE both ways from the octet after
// the tagged OK, through common/net's DeflateTransport); new-mail latency (SMTP 250 to the
// "* n EXISTS" an IDLE client sees); bulk UID FETCH of whole messages; SELECT + UID FETCH
// (FLAGS) of a large mailbox with the server's memory, and SEARCH TEXT; logins per second.
//
// Small responses are read whole by the suite's IMAP response parser (common/client); the bulk
// ones (a FETCH of 10,000 bodies, 100,000 FLAGS lines) line by line with their literals read
// as counted octets, so the one-thread client costs less than the servers it measures.
// Must never: connect anywhere but loopback (resolve_loopback); wait without a deadline;
// count a message or a login the server did not answer OK.
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <string_view>

#include "bench/loadgen/net_common.hpp"
#include "common/client/imap_response.h"
#include "common/mime/compose.h"
#include "common/net/deflate_transport.h"
#include "common/net/transport.h"

namespace bench {
namespace {

using hikyaku::client::ImapParseStatus;
using hikyaku::client::ImapResponse;
using hikyaku::client::ImapResponseParser;

constexpr std::size_t kMaxLine = 4 << 20;  // a SEARCH result of a 100,000-message mailbox fits

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}

// One response read whole by the parser within --timeout.
awaitable<ImapResponse> imap_read(Ctx& c, Conn& k) {
    ImapResponseParser parser;
    hikyaku::net::NetStatus status = co_await k.c->read_response(parser, c.deadline());
    check(status);
    if (parser.status() != ImapParseStatus::complete)
        throw std::runtime_error("bad IMAP response: " + parser.error_message());
    co_return parser.take_response();
}

std::string describe_status(const ImapResponse& r) {
    return (r.status + " " + (r.code.empty() ? "" : "[" + r.code + "] ") + r.text).substr(0, 120);
}

// Sends "TAG COMMAND" and reads the responses up to the tagged one, which must be OK; returns
// the untagged ones.
awaitable<std::vector<ImapResponse>> imap_cmd(Ctx& c, Conn& k, const std::string& tag, const std::string& command) {
    co_await write_str(c, k, tag + " " + command + "\r\n");
    std::vector<ImapResponse> untagged;
    for (;;) {
        ImapResponse r = co_await imap_read(c, k);
        if (r.kind == ImapResponse::Kind::tagged && r.tag == tag) {
            if (r.status != "OK") throw Negative(command.substr(0, command.find(' ')) + ": " + describe_status(r));
            break;
        }
        untagged.push_back(std::move(r));
    }
    co_return untagged;
}

// What a bulk command brought: untagged lines, literal octets.
struct Tally {
    long long untagged = 0;
    long long literal_octets = 0;
    long long octets = 0;       // everything received, line ends included
    std::string last_untagged;  // the last untagged line (a SEARCH result)
};

// Reads line by line up to the tagged response to `tag` (which must be OK), literals counted
// and dropped; each line, and each literal, within --timeout.
awaitable<Tally> imap_bulk(Ctx& c, Conn& k, const std::string& tag, std::string& line, std::string& literal) {
    Tally t;
    const std::string prefix = tag + " ";
    for (;;) {
        hikyaku::net::NetStatus status = co_await k.c->read_line(line, kMaxLine, c.deadline());
        check(status);
        t.octets += static_cast<long long>(line.size()) + 2;
        if (line.starts_with(prefix)) {
            std::string_view status_text = std::string_view(line).substr(prefix.size());
            if (status_text != "OK" && !status_text.starts_with("OK ")) throw Negative(line.substr(0, 120));
            co_return t;
        }
        if (line.starts_with("* ")) {
            ++t.untagged;
            t.last_untagged = line.size() < 4096 ? line : line.substr(0, 4096);
        }
        // A line ending in a literal "{N}" goes on after N octets (RFC 9051 4.3).
        while (!line.empty() && line.back() == '}') {
            std::size_t open = line.rfind('{');
            if (open == std::string::npos) break;
            long long n = std::atoll(line.c_str() + open + 1);
            if (n < 0) throw std::runtime_error("bad literal: " + line.substr(0, 80));
            literal.clear();
            status = co_await k.c->read_exact(static_cast<std::size_t>(n), literal, c.deadline());
            check(status);
            t.literal_octets += n;
            t.octets += n;
            status = co_await k.c->read_line(line, kMaxLine, c.deadline());
            check(status);
            t.octets += static_cast<long long>(line.size()) + 2;
        }
    }
}

// ---- opening a session ----------------------------------------------------------------------

// Cancels a raw transport's pending operation when its deadline passes.
struct Canceller {
    hikyaku::net::Transport* transport = nullptr;
    asio::ip::tcp::socket* socket = nullptr;
};

// One response read from a raw transport (the plaintext before COMPRESS), `buf` holding what
// arrived past it.
awaitable<ImapResponse> raw_read(hikyaku::net::Transport& t, std::string& buf) {
    ImapResponseParser parser;
    char chunk[4096];
    for (;;) {
        buf.erase(0, parser.feed(buf));
        if (parser.done()) break;
        boost::system::error_code ec;
        std::size_t n = co_await t.read_some(asio::buffer(chunk), ec);
        if (ec) throw std::runtime_error("reading: " + ec.message());
        buf.append(chunk, n);
    }
    if (parser.status() != ImapParseStatus::complete)
        throw std::runtime_error("bad IMAP response: " + parser.error_message());
    co_return parser.take_response();
}

awaitable<void> raw_cmd(hikyaku::net::Transport& t, std::string& buf, const std::string& tag,
                        const std::string& command) {
    std::string out = tag + " " + command + "\r\n";
    boost::system::error_code ec;
    co_await t.write_all(asio::buffer(out), ec);
    if (ec) throw std::runtime_error("writing: " + ec.message());
    for (;;) {
        ImapResponse r = co_await raw_read(t, buf);
        if (r.kind == ImapResponse::Kind::tagged && r.tag == tag) {
            if (r.status != "OK") throw Negative(command.substr(0, command.find(' ')) + ": " + describe_status(r));
            co_return;
        }
    }
}

// Connects, logs in and turns on COMPRESS=DEFLATE over a raw transport, then hands the
// compressed transport to the connection: from then on k.c reads and writes through zlib.
awaitable<void> open_compressed(Ctx& c, Conn& k, const std::string& user, const std::string& password) {
    auto cancel = std::make_shared<Canceller>();
    asio::steady_timer timer(c.io);
    timer.expires_at(c.deadline());
    timer.async_wait([cancel](const boost::system::error_code& ec) {
        if (ec) return;
        if (cancel->transport) cancel->transport->cancel();
        else if (cancel->socket) cancel->socket->cancel();
    });
    struct Disarm {
        std::shared_ptr<Canceller> c;
        ~Disarm() { c->transport = nullptr, c->socket = nullptr; }
    } disarm{cancel};
    asio::ip::tcp::socket socket(c.io);
    cancel->socket = &socket;
    co_await socket.async_connect(k.ep, use_awaitable);
    auto plain = std::make_unique<hikyaku::net::PlainTransport>(std::move(socket));
    cancel->socket = nullptr;
    cancel->transport = plain.get();
    std::string buf;
    ImapResponse greeting = co_await raw_read(*plain, buf);
    if (greeting.status != "OK") throw std::runtime_error("greeting: " + describe_status(greeting));
    co_await raw_cmd(*plain, buf, "l", "LOGIN " + quoted(user) + " " + quoted(password));
    co_await raw_cmd(*plain, buf, "z", "COMPRESS DEFLATE");
    cancel->transport = nullptr;
    timer.cancel();
    k.c->adopt(std::make_unique<hikyaku::net::DeflateTransport>(std::move(plain), std::move(buf)), "127.0.0.1");
}

struct Opened {
    long long exists = -1;  // from SELECT; -1 when not selected
};

// Connects and logs in (compressed if asked), then SELECT INBOX unless `select` is false.
awaitable<Opened> imap_open(Ctx& c, Conn& k, const std::string& user, const std::string& password, bool compress,
                            bool select) {
    if (compress) {
        co_await open_compressed(c, k, user, password);
    } else {
        co_await connect(c, k);
        ImapResponse greeting = co_await imap_read(c, k);
        if (greeting.status != "OK") throw std::runtime_error("greeting: " + describe_status(greeting));
        co_await imap_cmd(c, k, "l", "LOGIN " + quoted(user) + " " + quoted(password));
    }
    Opened o;
    if (select) {
        std::vector<ImapResponse> untagged = co_await imap_cmd(c, k, "s", "SELECT INBOX");
        for (auto& r : untagged)
            if (r.keyword == "EXISTS" && r.number) o.exists = *r.number;
        if (o.exists < 0) throw std::runtime_error("SELECT INBOX: no EXISTS");
    }
    co_return o;
}

// IDLE (RFC 2177): sends it and waits for the continuation.
awaitable<void> imap_idle_start(Ctx& c, Conn& k) {
    co_await write_str(c, k, "i IDLE\r\n");
    for (;;) {
        ImapResponse r = co_await imap_read(c, k);
        if (r.kind == ImapResponse::Kind::continuation) co_return;
        if (r.kind == ImapResponse::Kind::tagged) throw Negative("IDLE: " + describe_status(r));
    }
}

// DONE, the tagged end of IDLE, then LOGOUT.
awaitable<void> imap_idle_end(Ctx& c, Conn& k) {
    co_await write_str(c, k, "DONE\r\n");
    for (;;) {
        ImapResponse r = co_await imap_read(c, k);
        if (r.kind == ImapResponse::Kind::tagged && r.tag == "i") {
            if (r.status != "OK") throw Negative("IDLE: " + describe_status(r));
            break;
        }
    }
    co_await imap_cmd(c, k, "o", "LOGOUT");
}

long long parse_count(const Args& a, const char* key, long long def, long long lo, long long hi) {
    long long v = a.integer(key, def);
    if (v < lo || v > hi)
        throw UsageError(std::string("--") + key + " must be " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
}

void set_timeout(const Args& a, Ctx& c) {
    c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("timeout", 30) * 1000));
}

std::chrono::milliseconds ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// ---- new-mail latency -----------------------------------------------------------------------

struct Watcher {
    Conn* k = nullptr;
    long long baseline = 0;
    std::vector<std::pair<long long, double>> seen;  // (EXISTS n, seconds since t0), as they came
};

struct NotifyRun {
    std::vector<std::string> users;
    std::string password;
    std::vector<Watcher> watchers;
    Clock::time_point t0;
    bool stop = false;
    long active = 0;
    Errors err;
};

// Reads what an IDLE session is told until the run stops, noting each "* n EXISTS"; reads wait
// at most 100 ms so that the stop is seen (a read that only timed out leaves the connection open).
awaitable<void> notify_reader(Ctx& c, NotifyRun& s, Watcher& w) {
    try {
        while (!s.stop) {
            ImapResponseParser parser;
            hikyaku::net::NetStatus status = co_await w.k->c->read_response(parser, Clock::now() + 100ms);
            if (status.code == hikyaku::net::NetErrc::timeout) continue;
            check(status);
            if (parser.status() != ImapParseStatus::complete)
                throw std::runtime_error("bad IMAP response: " + parser.error_message());
            const ImapResponse& r = parser.response();
            if (r.keyword == "EXISTS" && r.number) w.seen.emplace_back(*r.number, seconds_since(s.t0));
        }
        co_await imap_idle_end(c, *w.k);
    } catch (const std::exception& e) {
        s.err.add("IDLE session: " + describe(e));
    }
    Ctx::close(*w.k);
    --s.active;
}

// ---- UID FETCH of whole messages ------------------------------------------------------------

struct FetchRun {
    std::string user, password;
    Clock::time_point end;
    long long passes = 0, msgs = 0, bytes = 0;
    long ready = 0, active = 0;
    bool go = false;
    Errors err;
};

awaitable<void> fetch_client(Ctx& c, FetchRun& s, Conn& k) {
    bool opened = false;
    try {
        co_await imap_open(c, k, s.user, s.password, false, true);
        opened = true;
    } catch (const std::exception& e) {
        s.err.add("login: " + describe(e));
    }
    ++s.ready;
    while (!s.go) co_await sleep_for(c, 1ms);
    std::string line, literal;
    try {
        while (opened && Clock::now() < s.end) {
            co_await write_str(c, k, "f UID FETCH 1:* BODY.PEEK[]\r\n");
            Tally t = co_await imap_bulk(c, k, "f", line, literal);
            if (t.untagged == 0) throw std::runtime_error("the mailbox is empty");
            s.msgs += t.untagged;
            s.bytes += t.literal_octets;
            ++s.passes;
        }
        if (opened) co_await imap_cmd(c, k, "o", "LOGOUT");
    } catch (const std::exception& e) {
        s.err.add(describe(e));
    }
    Ctx::close(k);
    --s.active;
}

// ---- logins ---------------------------------------------------------------------------------

struct LoginRun {
    std::vector<std::string> users;
    std::string password;
    Clock::time_point end;
    long long logins = 0;
    std::vector<double> ms;
    long active = 0;
    Errors err;
};

awaitable<void> login_client(Ctx& c, LoginRun& s, Conn& k, const std::string& user) {
    int failures = 0;
    while (Clock::now() < s.end) {
        try {
            auto t1 = Clock::now();
            co_await imap_open(c, k, user, s.password, false, false);
            s.ms.push_back(seconds_since(t1) * 1000);
            ++s.logins;
            co_await imap_cmd(c, k, "o", "LOGOUT");
            failures = 0;
        } catch (const std::exception& e) {
            s.err.add(user + ": " + describe(e));
            ++failures;
        }
        Ctx::close(k);
        if (failures > 0) co_await sleep_for(c, std::chrono::milliseconds(std::min(failures, 10) * 100));
    }
    --s.active;
}

}  // namespace

int run_imap_idle(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 143));
    set_timeout(a, c);
    std::vector<std::string> users = users_from(a);
    std::string password = a.required("password");
    bool compress = a.flag("compress");
    IdleHold h;
    parse_idle_options(a, h);
    a.check_all_used();
    if (users.empty()) throw UsageError("--user is required");
    check_idle_options(h);
    h.open = [&](Conn& k, std::size_t i) -> awaitable<void> {
        co_await imap_open(c, k, users[i % users.size()], password, compress, true);
        co_await imap_idle_start(c, k);
    };
    h.close = [&](Conn& k) { return imap_idle_end(c, k); };
    run_idle_hold(c, h, "imap-idle");
    return report_idle(r, "imap_idle", h, "imap-idle");
}

int run_imap_notify(const Args& a, Report& r) {
    Ctx c;
    std::string host = a.str("host", "127.0.0.1");
    c.ep = resolve_loopback(host, a.integer("port", 143));
    tcp::endpoint smtp_ep = resolve_loopback(host, a.integer("smtp-port", 25));
    set_timeout(a, c);
    NotifyRun s;
    s.users = users_from(a);
    s.password = a.required("password");
    long long messages = parse_count(a, "messages", 1000, 1, 10000000);
    long long size = parse_count(a, "size", 4096, 256, 1 << 20);
    double interval = a.number("interval", 0);
    double wait_timeout = a.number("wait-timeout", 60);
    long long parallel = parse_count(a, "parallel", 20, 1, 100000);
    a.check_all_used();
    if (s.users.empty())
        throw UsageError("--user is required (one IDLE session each; the messages go to them in turn)");

    std::vector<double> acked_at(static_cast<std::size_t>(messages), -1);  // seconds since t0
    std::vector<long long> expect(static_cast<std::size_t>(messages), 0);  // EXISTS that shows it
    long long sent = 0, unseen = 0;
    std::vector<double> lat_ms;
    Errors smtp_err;
    run_main(c, [&]() -> awaitable<void> {
        s.watchers.resize(s.users.size());
        std::size_t next = 0;
        long opening = static_cast<long>(std::min<long long>(parallel, static_cast<long long>(s.users.size())));
        long left = opening;
        auto opener = [&]() -> awaitable<void> {
            while (next < s.watchers.size()) {
                std::size_t i = next++;
                Watcher& w = s.watchers[i];
                w.k = &c.new_conn();
                try {
                    Opened o = co_await imap_open(c, *w.k, s.users[i], s.password, false, true);
                    w.baseline = o.exists;
                    co_await imap_idle_start(c, *w.k);
                } catch (const std::exception& e) {
                    s.err.add(s.users[i] + ": " + describe(e));
                    Ctx::close(*w.k);
                    w.k = nullptr;
                }
            }
            --left;
        };
        for (long i = 0; i < opening; ++i) asio::co_spawn(c.io, opener(), asio::detached);
        co_await wait_zero(c, left);
        if (s.err.count > 0) co_return;
        s.t0 = Clock::now();
        s.active = static_cast<long>(s.watchers.size());
        for (auto& w : s.watchers) asio::co_spawn(c.io, notify_reader(c, s, w), asio::detached);

        // One SMTP client, each message after the 250 of the one before, to the users in turn.
        Conn& k = c.new_conn(smtp_ep);
        std::vector<long long> per_user(s.users.size(), 0);
        std::string date = hikyaku::mime::format_rfc5322_date(std::time(nullptr));
        std::string body = make_body(std::max(256LL, size - 300)) + ".\r\n";
        try {
            co_await connect(c, k);
            co_await smtp_expect(c, k, "", 2, "greeting");
            co_await smtp_expect(c, k, "EHLO bench.localhost\r\n", 2, "EHLO");
            for (long long m = 0; m < messages; ++m) {
                std::size_t u = static_cast<std::size_t>(m) % s.users.size();
                co_await smtp_expect(c, k, "MAIL FROM:<bench@bench.test>\r\n", 2, "MAIL");
                co_await smtp_expect(c, k, "RCPT TO:<" + s.users[u] + ">\r\n", 2, "RCPT");
                co_await smtp_expect(c, k, "DATA\r\n", 3, "DATA");
                std::string msg = "From: <bench@bench.test>\r\nTo: <" + s.users[u] + ">\r\nSubject: new mail " +
                                  std::to_string(m) + "\r\nDate: " + date + "\r\n\r\n" + body;
                co_await write_str(c, k, msg);
                co_await smtp_expect(c, k, "", 2, "end of DATA");
                acked_at[static_cast<std::size_t>(m)] = seconds_since(s.t0);
                expect[static_cast<std::size_t>(m)] = s.watchers[u].baseline + ++per_user[u];
                ++sent;
                if (interval > 0) co_await sleep_for(c, ms(interval));
            }
            co_await smtp_expect(c, k, "QUIT\r\n", 2, "QUIT");
        } catch (const std::exception& e) {
            smtp_err.add(describe(e));
        }
        Ctx::close(k);

        // Until every message sent has shown in its session, or the wait ends.
        auto wait_end = Clock::now() + ms(wait_timeout);
        for (;;) {
            long long missing = 0;
            for (long long m = 0; m < sent; ++m) {
                const Watcher& w = s.watchers[static_cast<std::size_t>(m) % s.users.size()];
                if (w.seen.empty() || w.seen.back().first < expect[static_cast<std::size_t>(m)]) ++missing;
            }
            if (missing == 0 || Clock::now() >= wait_end) break;
            co_await sleep_for(c, 10ms);
        }
        s.stop = true;
        co_await wait_zero(c, s.active);
    });
    // A message shows with the first EXISTS at or past its number (a server may announce two
    // arrivals in one EXISTS); before its 250 counts as 0 ms.
    for (long long m = 0; m < sent; ++m) {
        const Watcher& w = s.watchers[static_cast<std::size_t>(m) % s.users.size()];
        auto it = std::find_if(w.seen.begin(), w.seen.end(),
                               [&](const auto& p) { return p.first >= expect[static_cast<std::size_t>(m)]; });
        if (it == w.seen.end()) {
            ++unseen;
            continue;
        }
        lat_ms.push_back(std::max(0.0, it->second - acked_at[static_cast<std::size_t>(m)]) * 1000);
    }
    r.add("notify.sessions", static_cast<double>(s.users.size()), "sessions");
    r.add("notify.sent", static_cast<double>(sent), "msgs");
    r.add("notify.unseen", static_cast<double>(unseen), "msgs");
    r.add("notify.p50", percentile(lat_ms, 50), "ms");
    r.add("notify.p95", percentile(lat_ms, 95), "ms");
    r.add("notify.p99", percentile(lat_ms, 99), "ms");
    r.add("notify.max", percentile(lat_ms, 100), "ms");
    r.add("notify.errors", static_cast<double>(s.err.count + smtp_err.count), "errors");
    s.err.print("imap-notify");
    smtp_err.print("imap-notify smtp");
    return sent == messages && unseen == 0 && s.err.count == 0 && smtp_err.count == 0 ? 0 : 1;
}

int run_imap_fetch(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 143));
    set_timeout(a, c);
    FetchRun s;
    s.user = a.required("user");
    s.password = a.required("password");
    long clients = static_cast<long>(parse_count(a, "clients", 1, 1, 10000));
    double duration = a.number("duration", 10);
    a.check_all_used();
    double elapsed = 0;
    run_main(c, [&]() -> awaitable<void> {
        s.active = clients;
        for (long i = 0; i < clients; ++i) asio::co_spawn(c.io, fetch_client(c, s, c.new_conn()), asio::detached);
        while (s.ready < clients) co_await sleep_for(c, 1ms);
        auto t0 = Clock::now();  // every client logged in and selected: only the FETCHes are timed
        s.end = t0 + ms(duration);
        s.go = true;
        co_await wait_zero(c, s.active);
        elapsed = seconds_since(t0);
    });
    r.add("fetch.clients", static_cast<double>(clients), "clients");
    r.add("fetch.passes", static_cast<double>(s.passes), "passes");
    r.add("fetch.msgs", static_cast<double>(s.msgs), "msgs");
    r.add("fetch.elapsed", elapsed, "s");
    r.add("fetch.rate", elapsed > 0 ? static_cast<double>(s.msgs) / elapsed : 0, "msgs/s");
    r.add("fetch.mbps", elapsed > 0 ? static_cast<double>(s.bytes) / elapsed / 1e6 : 0, "MB/s");
    r.add("fetch.errors", static_cast<double>(s.err.count), "errors");
    s.err.print("imap-fetch");
    return s.passes > 0 && s.err.count == 0 ? 0 : 1;
}

int run_imap_sync(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 143));
    set_timeout(a, c);
    std::string user = a.required("user"), password = a.required("password");
    long runs = static_cast<long>(parse_count(a, "runs", 3, 1, 1000));
    std::string word = a.str("search", "");
    long long changes = a.integer("resync", 0);
    std::vector<int> pids;
    for (auto& p : a.list("measure-pid")) pids.push_back(std::atoi(p.c_str()));
    std::vector<std::string> excluded = a.list("exclude-mapping");
    a.check_all_used();
    std::vector<double> select_ms, fetch_ms, total_ms, search_ms, resync_ms, resync_octets;
    long long resync_lines = -1;
    double first_ms = -1;
    long long exists = -1, flag_lines = -1, hits = -1;
    bool condstore = false;
    ProcMem before, after;
    Errors err;
    run_main(c, [&]() -> awaitable<void> {
        std::string line, literal;
        for (long run = 0; run <= runs; ++run) {  // run 0 warms the server up (its caches, Dovecot's index)
            Conn& k = c.new_conn();
            try {
                // Memory before the first session (the warm-up) and after the last FETCH: what the
                // server holds for one session of the mailbox, one-off allocations and caches included
                // (Dovecot's imap process is new each time; hikyaku's imapd reuses what it freed).
                if (!pids.empty() && run == 0) before = measure_tree(pids, excluded);
                co_await imap_open(c, k, user, password, false, false);
                std::vector<ImapResponse> caps = co_await imap_cmd(c, k, "c", "CAPABILITY");
                for (auto& resp : caps)
                    if (hikyaku::client::has_capability(hikyaku::client::parse_capabilities(resp), "CONDSTORE"))
                        condstore = true;
                auto t0 = Clock::now();
                co_await write_str(c, k, "s SELECT INBOX\r\n");
                Tally sel = co_await imap_bulk(c, k, "s", line, literal);
                (void)sel;
                auto t1 = Clock::now();
                co_await write_str(c, k, "f UID FETCH 1:* (FLAGS)\r\n");
                Tally f = co_await imap_bulk(c, k, "f", line, literal);
                auto t2 = Clock::now();
                if (!pids.empty()) after = measure_tree(pids, excluded);
                flag_lines = f.untagged;
                double sel_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
                double all_ms = std::chrono::duration<double, std::milli>(t2 - t0).count();
                if (run == 0) {
                    first_ms = all_ms;
                } else {
                    select_ms.push_back(sel_ms);
                    fetch_ms.push_back(all_ms - sel_ms);
                    total_ms.push_back(all_ms);
                }
                co_await imap_cmd(c, k, "o", "LOGOUT");
                exists = f.untagged;
            } catch (const std::exception& e) {
                err.add(describe(e));
            }
            Ctx::close(k);
        }
        // CONDSTORE resync (RFC 7162 3.1): one session changes the flags of `changes` messages
        // spread over the mailbox; then, timed, a client that knew the mailbox up to the modseq
        // before that SELECTs it and asks only for what changed since.
        std::string uid_set;
        if (changes > 0 && exists > 0) {
            long long step = std::max(1LL, exists / changes);
            for (long long i = 1; i <= changes && i * step <= exists; ++i)
                uid_set += (uid_set.empty() ? "" : ",") + std::to_string(i * step);
        }
        for (long run = 0; !uid_set.empty() && condstore && run <= runs; ++run) {
            Conn& a_conn = c.new_conn();
            Conn& b_conn = c.new_conn();
            try {
                co_await imap_open(c, a_conn, user, password, false, false);
                std::vector<ImapResponse> sel = co_await imap_cmd(c, a_conn, "s", "SELECT INBOX (CONDSTORE)");
                std::optional<std::uint64_t> known;
                for (auto& resp : sel)
                    if (resp.code == "HIGHESTMODSEQ") known = hikyaku::client::code_number(resp);
                if (!known) throw std::runtime_error("SELECT (CONDSTORE): no HIGHESTMODSEQ");
                co_await imap_cmd(
                    c, a_conn, "u",
                    std::string("UID STORE ") + uid_set + (run % 2 ? " -" : " +") + "FLAGS.SILENT (\\Flagged)");
                co_await imap_cmd(c, a_conn, "o", "LOGOUT");
                co_await imap_open(c, b_conn, user, password, false, false);
                auto t0 = Clock::now();
                co_await write_str(c, b_conn, "s SELECT INBOX (CONDSTORE)\r\n");
                Tally sel_b = co_await imap_bulk(c, b_conn, "s", line, literal);
                co_await write_str(c, b_conn,
                                   "f UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(*known) + ")\r\n");
                Tally f = co_await imap_bulk(c, b_conn, "f", line, literal);
                if (run > 0) {
                    resync_ms.push_back(seconds_since(t0) * 1000);
                    resync_octets.push_back(static_cast<double>(sel_b.octets + f.octets));
                }
                resync_lines = f.untagged;
                co_await imap_cmd(c, b_conn, "o", "LOGOUT");
            } catch (const std::exception& e) {
                err.add("resync: " + describe(e));
            }
            Ctx::close(a_conn);
            Ctx::close(b_conn);
        }
        // SEARCH after the memory was measured: what a search reads is not the sync's memory.
        for (long run = 0; !word.empty() && run <= runs; ++run) {  // run 0 warms up again
            Conn& k = c.new_conn();
            try {
                co_await imap_open(c, k, user, password, false, true);
                auto t3 = Clock::now();
                co_await write_str(c, k, "q SEARCH TEXT " + word + "\r\n");
                Tally q = co_await imap_bulk(c, k, "q", line, literal);
                if (run > 0) search_ms.push_back(seconds_since(t3) * 1000);
                std::string_view res = q.last_untagged;
                hits = res.starts_with("* SEARCH") ? std::count(res.begin(), res.end(), ' ') - 1 : -1;
                co_await imap_cmd(c, k, "o", "LOGOUT");
            } catch (const std::exception& e) {
                err.add("SEARCH: " + describe(e));
            }
            Ctx::close(k);
        }
    });
    r.add("sync.messages", static_cast<double>(exists), "msgs");
    r.add("sync.first_ms", first_ms, "ms");
    r.add("sync.select_ms", percentile(select_ms, 50), "ms");
    r.add("sync.fetch_ms", percentile(fetch_ms, 50), "ms");
    r.add("sync.total_ms", percentile(total_ms, 50), "ms");
    if (!pids.empty()) {
        r.add("sync.rss_delta", static_cast<double>(after.rss_kb - before.rss_kb), "kB");
        r.add("sync.pss_delta", static_cast<double>(after.pss_kb - before.pss_kb), "kB");
    }
    if (!word.empty()) {
        r.add("search.ms", percentile(search_ms, 50), "ms");
        r.add("search.hits", static_cast<double>(hits), "msgs");
    }
    r.add("sync.condstore", condstore ? 1 : 0, "announced");
    if (changes > 0 && condstore) {
        r.add("resync.ms", percentile(resync_ms, 50), "ms");
        r.add("resync.octets", percentile(resync_octets, 50), "octets");
        r.add("resync.changed", static_cast<double>(resync_lines), "msgs");
    }
    r.add("sync.errors", static_cast<double>(err.count), "errors");
    err.print("imap-sync");
    return err.count == 0 && flag_lines > 0 && (changes == 0 || !condstore || resync_lines > 0) ? 0 : 1;
}

int run_imap_login(const Args& a, Report& r) {
    Ctx c;
    c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 143));
    set_timeout(a, c);
    LoginRun s;
    s.users = users_from(a);
    s.password = a.required("password");
    long clients = static_cast<long>(parse_count(a, "clients", 100, 1, 100000));
    double duration = a.number("duration", 10);
    a.check_all_used();
    if (s.users.empty()) throw UsageError("--user is required");
    double elapsed = 0;
    run_main(c, [&]() -> awaitable<void> {
        auto t0 = Clock::now();
        s.end = t0 + ms(duration);
        s.active = clients;
        for (long i = 0; i < clients; ++i)
            asio::co_spawn(c.io,
                           login_client(c, s, c.new_conn(), s.users[static_cast<std::size_t>(i) % s.users.size()]),
                           asio::detached);
        co_await wait_zero(c, s.active);
        elapsed = seconds_since(t0);
    });
    r.add("login.clients", static_cast<double>(clients), "clients");
    r.add("login.logins", static_cast<double>(s.logins), "logins");
    r.add("login.elapsed", elapsed, "s");
    r.add("login.rate", elapsed > 0 ? static_cast<double>(s.logins) / elapsed : 0, "logins/s");
    r.add("login.p50", percentile(s.ms, 50), "ms");
    r.add("login.p99", percentile(s.ms, 99), "ms");
    r.add("login.errors", static_cast<double>(s.err.count), "errors");
    s.err.print("imap-login");
    return s.logins > 0 && s.err.count == 0 ? 0 : 1;
}

}  // namespace bench
