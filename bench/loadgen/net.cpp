// hikyaku-bench: the network workloads (SMTP, POP3, idle connections, wait-delivered) as
// Boost.Asio C++20 coroutines on one thread. This is the only file that includes Asio.
#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "bench/loadgen/bench.hpp"

namespace bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

// One client connection. Its deadline bounds the network operation in progress: the
// watchdog closes the socket when it passes, which aborts the pending operation.
struct Conn {
  tcp::endpoint ep;  // where connect() goes
  tcp::socket sock;
  asio::streambuf buf{64u << 20};
  Clock::time_point deadline = Clock::time_point::max();
  Conn(asio::io_context& io, tcp::endpoint to) : ep(to), sock(io) {}
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
  bool stop = false;

  Conn& new_conn() { return conns.emplace_back(io, ep); }
  Conn& new_conn(const tcp::endpoint& to) { return conns.emplace_back(io, to); }
  void arm(Conn& k) const { k.deadline = Clock::now() + op_timeout; }
  static void disarm(Conn& k) { k.deadline = Clock::time_point::max(); }
  static void close(Conn& k) {
    boost::system::error_code ec;
    k.sock.close(ec);
    k.buf.consume(k.buf.size());
    disarm(k);
  }
};

// A short description of a failure: system errors without Asio's source location.
std::string describe(const std::exception& e) {
  if (auto* se = dynamic_cast<const boost::system::system_error*>(&e)) return se->code().message();
  return e.what();
}

// The logins of a workload: --user U[,U...] and the lines of --user-file PATH.
std::vector<std::string> users_from(const Args& a) {
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

tcp::endpoint resolve_loopback(const std::string& host, long long port) {
  if (port <= 0 || port > 65535) throw UsageError("--port must be 1..65535");
  asio::io_context io;
  tcp::resolver res(io);
  boost::system::error_code ec;
  auto r = res.resolve(host, std::to_string(port), ec);
  if (ec || r.empty()) throw UsageError("cannot resolve " + host);
  tcp::endpoint ep = r.begin()->endpoint();
  if (!ep.address().is_loopback())
    throw UsageError("refusing a non-loopback address: " + ep.address().to_string());
  return ep;
}

// Closes connections whose operation has run past its deadline; ends when ctx.stop is set.
awaitable<void> watchdog(Ctx& c) {
  asio::steady_timer t(c.io);
  while (!c.stop) {
    t.expires_after(100ms);
    co_await t.async_wait(use_awaitable);
    auto now = Clock::now();
    for (auto& k : c.conns)
      if (k.deadline < now && k.sock.is_open()) {
        boost::system::error_code ec;
        k.sock.close(ec);
      }
  }
}

awaitable<void> sleep_for(Ctx& c, std::chrono::milliseconds d) {
  asio::steady_timer t(c.io);
  t.expires_after(d);
  co_await t.async_wait(use_awaitable);
}

// Waits until a counter of running coroutines drops to zero.
awaitable<void> wait_zero(Ctx& c, const long& counter) {
  while (counter > 0) co_await sleep_for(c, 5ms);
}

// Runs `main` and the watchdog on the context until main returns.
void run_main(Ctx& c, std::function<awaitable<void>()> main) {
  std::exception_ptr failure;
  asio::co_spawn(c.io, watchdog(c), asio::detached);
  asio::co_spawn(c.io, [&]() -> awaitable<void> {
    try {
      co_await main();
    } catch (...) {
      failure = std::current_exception();
    }
    c.stop = true;
  }, asio::detached);
  c.io.run();
  if (failure) std::rethrow_exception(failure);
}

awaitable<void> connect(Ctx& c, Conn& k) {
  Ctx::close(k);
  c.arm(k);
  co_await k.sock.async_connect(k.ep, use_awaitable);
  k.sock.set_option(tcp::no_delay(true));
}

awaitable<std::string> read_line(Ctx& c, Conn& k) {
  c.arm(k);
  size_t n = co_await asio::async_read_until(k.sock, k.buf, "\r\n", use_awaitable);
  auto b = asio::buffers_begin(k.buf.data());
  std::string line(b, b + static_cast<std::ptrdiff_t>(n - 2));
  k.buf.consume(n);
  c.disarm(k);
  co_return line;
}

awaitable<void> write_str(Ctx& c, Conn& k, const std::string& s) {
  c.arm(k);
  co_await asio::async_write(k.sock, asio::buffer(s), use_awaitable);
  c.disarm(k);
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63]; out += t[v >> 6 & 63]; out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63]; out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += t[v >> 18 & 63]; out += t[v >> 12 & 63]; out += t[v >> 6 & 63]; out += '=';
  }
  return out;
}

// ---------------------------------------------------------------- SMTP

struct SmtpReply {
  int code = 0;
  std::string text;
};

awaitable<SmtpReply> smtp_reply(Ctx& c, Conn& k) {
  for (int i = 0; i < 1000; ++i) {
    std::string l = co_await read_line(c, k);
    if (l.size() < 3 || l[0] < '1' || l[0] > '5') throw std::runtime_error("bad SMTP reply: " + l.substr(0, 80));
    if (l.size() > 3 && l[3] == '-') continue;
    co_return SmtpReply{std::atoi(l.substr(0, 3).c_str()), l};
  }
  throw std::runtime_error("SMTP reply of more than 1000 lines");
}

struct Negative : std::runtime_error {
  using std::runtime_error::runtime_error;
};

awaitable<void> smtp_expect(Ctx& c, Conn& k, const std::string& cmd, int expect_class, const char* what) {
  if (!cmd.empty()) co_await write_str(c, k, cmd);
  SmtpReply r = co_await smtp_reply(c, k);
  if (r.code / 100 != expect_class) throw Negative(std::string(what) + ": " + r.text.substr(0, 120));
}

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

awaitable<long long> pop3_stat(Ctx& c, Conn& k, const std::string& user, const std::string& pass,
                               const std::string& auth) {
  co_await pop3_login(c, k, user, pass, auth);
  co_await write_str(c, k, "STAT\r\n");
  std::string l = co_await read_line(c, k);
  if (l.rfind("+OK", 0) != 0) throw std::runtime_error("STAT: " + l.substr(0, 120));
  long long n = std::atoll(l.c_str() + 3);
  co_await write_str(c, k, "QUIT\r\n");
  co_await read_line(c, k);
  Ctx::close(k);
  co_return n;
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
  std::string body;  // the message after its header, with the final ".\r\n"
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

std::string rfc5322_date() {
  char b[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return b;
}

std::string smtp_header(const SmtpRun& s, long long no, const std::string& to) {
  return "From: <" + s.from + ">\r\nTo: <" + to + ">\r\nSubject: hikyaku-bench message " + std::to_string(no) +
         "\r\nMessage-ID: <" + std::to_string(no) + "." + std::to_string(getpid()) + "@bench.test>\r\nDate: " +
         s.date + "\r\n\r\n";
}

// Body text of printable 76-character lines, `len` bytes in all, ending with CRLF.
std::string make_body(long long len) {
  static const std::string pattern = "The quick brown fox jumps over the lazy dog; 0123456789 hikyaku bench text.";
  std::string out;
  out.reserve(static_cast<size_t>(len) + 8);
  while (static_cast<long long>(out.size()) + 78 <= len) out += pattern.substr(0, 76) + "\r\n";
  long long rest = len - static_cast<long long>(out.size());
  if (rest >= 3) out += pattern.substr(0, static_cast<size_t>(rest - 2)) + "\r\n";
  else if (out.empty()) out = "x\r\n";
  return out;
}

awaitable<void> smtp_client(Ctx& c, SmtpRun& s, Conn& k) {
  bool connected = false;
  int failures = 0;
  while (Clock::now() < s.end && s.started < s.max_count) {
    try {
      auto t_conn = Clock::now();
      if (!connected) {
        co_await connect(c, k);
        co_await smtp_expect(c, k, "", 2, "greeting");
        co_await smtp_expect(c, k, "EHLO " + s.helo + "\r\n", 2, "EHLO");
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
        std::string hdr = smtp_header(s, no, s.rcpts[idx[0]]);
        std::array<asio::const_buffer, 2> bufs{asio::buffer(hdr), asio::buffer(s.body)};
        c.arm(k);
        co_await asio::async_write(k.sock, bufs, use_awaitable);
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
    } catch (const std::exception&) {
    }
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
  s.max_count = a.integer("count", 1000000);
  std::string mode = a.str("mode", "rset");
  Waiter w = parse_waiter(a, "wait-", s.rcpts, host);
  a.check_all_used();
  if (s.rcpts.empty()) throw UsageError("--rcpt is required");
  if (clients < 1 || clients > 100000) throw UsageError("--clients must be 1..100000");
  if (size < 64 || size > (32 << 20)) throw UsageError("--size must be 64..33554432");
  if (s.per_msg < 1 || s.per_msg > static_cast<int>(s.rcpts.size())) throw UsageError("--rcpts-per-msg must be 1..number of --rcpt");
  if (mode == "rset") s.mode = SmtpMode::rset;
  else if (mode == "reuse") s.mode = SmtpMode::reuse;
  else if (mode == "reconnect") s.mode = SmtpMode::reconnect;
  else throw UsageError("--mode must be rset, reuse or reconnect");
  bool e2e = !w.targets.empty();
  if (e2e && w.targets.size() != s.rcpts.size())
    throw UsageError("give one --wait-maildir or --wait-user per --rcpt");
  s.date = rfc5322_date();
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
    for (int i = 0; i < clients; ++i) asio::co_spawn(c.io, smtp_client(c, s, *ks[static_cast<size_t>(i)]), asio::detached);
    co_await wait_zero(c, s.active);
    load_elapsed = seconds_since(s.t0);
    if (e2e) {
      for (size_t i = 0; i < w.targets.size(); ++i) w.targets[i].want = w.targets[i].baseline + s.acked_per_rcpt[i];
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

awaitable<std::string> pop3_ok(Ctx& c, Conn& k, const std::string& cmd, const char* what) {
  if (!cmd.empty()) co_await write_str(c, k, cmd);
  std::string l = co_await read_line(c, k);
  if (l.rfind("+OK", 0) != 0 && !(l.rfind("+ ", 0) == 0 || l == "+"))
    throw std::runtime_error(std::string(what) + ": " + l.substr(0, 120));
  co_return l;
}

awaitable<void> pop3_login(Ctx& c, Conn& k, const std::string& user, const std::string& pass, const std::string& auth) {
  co_await connect(c, k);
  co_await pop3_ok(c, k, "", "greeting");
  if (auth == "plain") {
    std::string cred = std::string(1, '\0') + user + std::string(1, '\0') + pass;
    co_await pop3_ok(c, k, "AUTH PLAIN " + base64(cred) + "\r\n", "AUTH PLAIN");
  } else {
    co_await pop3_ok(c, k, "USER " + user + "\r\n", "USER");
    co_await pop3_ok(c, k, "PASS " + pass + "\r\n", "PASS");
  }
}

// The end of a multi-line response ("\r\n.\r\n", or "." alone on the first line) in what has
// arrived, searched with memmem from where the last search stopped. asio's read_until compares
// byte by byte and cost this one-thread client more CPU than the servers it measures.
awaitable<size_t> read_multiline_body(Ctx& c, Conn& k) {
  static constexpr std::string_view terminator = "\r\n.\r\n";
  c.arm(k);
  size_t searched = 0;  // bytes of k.buf already known to hold no terminator start
  for (;;) {
    auto data = k.buf.data();
    const char* p = static_cast<const char*>(data.data());
    const size_t n = data.size();
    if (n >= 3 && std::memcmp(p, ".\r\n", 3) == 0) {  // empty body
      k.buf.consume(3);
      c.disarm(k);
      co_return 0;
    }
    if (n >= terminator.size()) {
      const void* hit = memmem(p + searched, n - searched, terminator.data(), terminator.size());
      if (hit) {
        const size_t end = static_cast<size_t>(static_cast<const char*>(hit) - p) + terminator.size();
        k.buf.consume(end);
        c.disarm(k);
        co_return end - 3;
      }
      searched = n - (terminator.size() - 1);
    }
    size_t got = co_await k.sock.async_read_some(k.buf.prepare(256 * 1024), use_awaitable);
    k.buf.commit(got);
  }
}

// RETR one message; returns the octets of the message as sent (dot-stuffed, with CRLFs).
awaitable<size_t> pop3_retr(Ctx& c, Conn& k, long long i) {
  co_await pop3_ok(c, k, "RETR " + std::to_string(i) + "\r\n", "RETR");
  co_return co_await read_multiline_body(c, k);
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
      long long n = std::atoll(st.c_str() + 3);
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
    for (size_t i = 0; i < s.users.size(); ++i) asio::co_spawn(c.io, pop3_user(c, s, *ks[i], s.users[i]), asio::detached);
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

namespace {

struct IdleRun {
  std::vector<std::string> users;
  std::string password, auth;
  std::vector<Conn*> conns;
  std::vector<char> ready;
  size_t next = 0;
  long logged_in = 0, alive = 0;
  Clock::time_point login_deadline;
  Errors err;
  long active = 0;
};

awaitable<void> idle_login_worker(Ctx& c, IdleRun& s) {
  while (s.next < s.conns.size() && Clock::now() < s.login_deadline) {
    size_t i = s.next++;
    Conn& k = *s.conns[i];
    try {
      co_await pop3_login(c, k, s.users[i % s.users.size()], s.password, s.auth);
      Ctx::disarm(k);  // now idle: no deadline until it is used again
      s.ready[i] = 1;
      ++s.logged_in;
    } catch (const std::exception& e) {
      s.err.add("connection " + std::to_string(i) + ": " + describe(e));
      Ctx::close(k);
    }
  }
  --s.active;
}

awaitable<void> idle_quit_worker(Ctx& c, IdleRun& s) {
  while (s.next < s.conns.size()) {
    size_t i = s.next++;
    if (!s.ready[i]) continue;
    Conn& k = *s.conns[i];
    try {
      co_await pop3_ok(c, k, "NOOP\r\n", "NOOP after hold");
      ++s.alive;
      co_await pop3_ok(c, k, "QUIT\r\n", "QUIT");
    } catch (const std::exception& e) {
      s.err.add("connection " + std::to_string(i) + ": " + describe(e));
    }
    Ctx::close(k);
  }
  --s.active;
}

}  // namespace

int run_idle(const Args& a, Report& r) {
  Ctx c;
  c.ep = resolve_loopback(a.str("host", "127.0.0.1"), a.integer("port", 110));
  c.op_timeout = std::chrono::milliseconds(static_cast<long long>(a.number("timeout", 30) * 1000));
  IdleRun s;
  long long n = a.integer("connections", 100);
  s.users = users_from(a);
  s.password = a.required("password");
  s.auth = a.str("auth", "user");
  long long parallel = a.integer("parallel", 200);
  double hold = a.number("hold", 5);
  double login_timeout = a.number("login-timeout", 300);
  double settle = a.number("settle", 1);
  std::string ready_file = a.str("ready-file", "");
  std::vector<int> pids;
  for (auto& p : a.list("measure-pid")) pids.push_back(std::atoi(p.c_str()));
  std::vector<std::string> excluded = a.list("exclude-mapping");
  a.check_all_used();
  if (s.users.empty()) throw UsageError("--user is required");
  if (n < 1 || n > 200000) throw UsageError("--connections must be 1..200000");
  if (parallel < 1) throw UsageError("--parallel must be >= 1");
  if (hold < 0 || hold > 3600) throw UsageError("--hold must be 0..3600");

  ProcMem before, after;
  if (!pids.empty()) before = measure_tree(pids, excluded);
  double login_time = -1;
  run_main(c, [&]() -> awaitable<void> {
    for (long long i = 0; i < n; ++i) s.conns.push_back(&c.new_conn());
    s.ready.assign(static_cast<size_t>(n), 0);
    auto t0 = Clock::now();
    s.login_deadline = t0 + std::chrono::milliseconds(static_cast<long long>(login_timeout * 1000));
    long workers = static_cast<long>(std::min<long long>(parallel, n));
    s.active = workers;
    for (long i = 0; i < workers; ++i) asio::co_spawn(c.io, idle_login_worker(c, s), asio::detached);
    co_await wait_zero(c, s.active);
    login_time = seconds_since(t0);
    co_await sleep_for(c, std::chrono::milliseconds(static_cast<long long>(settle * 1000)));
    if (!pids.empty()) after = measure_tree(pids, excluded);
    if (!ready_file.empty()) {
      std::ofstream f(ready_file);
      f << s.logged_in << "\n";
    }
    std::cerr << "idle: " << s.logged_in << " of " << n << " connections logged in after " << login_time
              << " s; holding " << hold << " s\n";
    co_await sleep_for(c, std::chrono::milliseconds(static_cast<long long>(hold * 1000)));
    s.next = 0;
    s.active = workers;
    for (long i = 0; i < workers; ++i) asio::co_spawn(c.io, idle_quit_worker(c, s), asio::detached);
    co_await wait_zero(c, s.active);
  });
  r.add("idle.connections", static_cast<double>(n), "conns");
  r.add("idle.logged_in", static_cast<double>(s.logged_in), "conns");
  r.add("idle.alive_after_hold", static_cast<double>(s.alive), "conns");
  r.add("idle.login_time", login_time, "s");
  if (!pids.empty()) {
    r.add("idle.processes_before", static_cast<double>(before.processes), "processes");
    r.add("idle.processes_after", static_cast<double>(after.processes), "processes");
    r.add("idle.rss_before", static_cast<double>(before.rss_kb), "kB");
    r.add("idle.rss_after", static_cast<double>(after.rss_kb), "kB");
    r.add("idle.pss_before", static_cast<double>(before.pss_kb), "kB");
    r.add("idle.pss_after", static_cast<double>(after.pss_kb), "kB");
    double k = s.logged_in > 0 ? static_cast<double>(s.logged_in) : 1;
    r.add("idle.rss_per_conn", (after.rss_kb - before.rss_kb) / k, "kB");
    r.add("idle.pss_per_conn", (after.pss_kb - before.pss_kb) / k, "kB");
  }
  r.add("idle.errors", static_cast<double>(s.err.count), "errors");
  s.err.print("idle");
  return s.logged_in == n && s.alive == n ? 0 : 1;
}

}  // namespace bench
