// imap_inprocess_test.cpp: imapd's session in process (tests/lib/session_harness.h): every
// transcript of tests/imap/transcripts that needs no TLS and no daemon, run over the memory
// transport against the real session code and the in-memory store, with the same directives as
// imap_transcripts.py (seed, seed-nested, config, storage, quota, expect-mailbox(es),
// expect-subscribed, expect-log; ! client, deliver, repeat, snapshot, unchanged); and what only
// an in-process test can show: LOGIN and AUTHENTICATE refused to a client that is not on
// loopback (LOGINDISABLED, PRIVACYREQUIRED), that client's CAPABILITY, the per-user session
// limit, a large body streamed in many small chunks, the command timeout against a client
// trickling bytes (slowloris) and in IDLE, and failed logins answered alike for an unknown
// user and a wrong password, each after the throttle's delay.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/server/auth_service.h"
#include "imapd/imap_session.h"
#include "imapd/mailbox_view_cache.h"
#include "tests/imap/store_snapshot.h"
#include "tests/lib/session_harness.h"
#include "tests/lib/transcript.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

const std::vector<std::string> kAddresses{"alice@example.test", "bob@example.test"};

std::string source_dir() { return std::getenv("HIKYAKU_SOURCE_DIR"); }

std::string crlf(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

std::string message(const std::string& name) {
    const std::string path = source_dir() + "/tests/imap/messages/" + name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing test data " << path);
    std::stringstream s;
    s << in.rdbuf();
    return crlf(s.str());
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// One connection's share of a transcript: the steps between two "! client" directives.
struct Segment {
    std::string client;
    test::Transcript steps;
};

std::vector<Segment> segments_of(const test::Transcript& transcript) {
    std::vector<Segment> out{{"A", {transcript.name, {}, {}}}};
    for (const auto& step : transcript.steps) {
        if (step.kind == test::TranscriptStep::Kind::directive && step.text.rfind("client ", 0) == 0) {
            out.push_back({words(step.text).at(1), {transcript.name, {}, {}}});
            continue;
        }
        out.back().steps.steps.push_back(step);
    }
    return out;
}

// A world for imapd: the store, the settings of the port 143 role, and client connections.
struct ImapWorld {
    explicit ImapWorld(const std::string& config) : world(config) {
        settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
        settings.view_cache = imap::make_view_cache(world.config().imapd.view_cache_messages);  // as imapd's main
    }
    std::shared_ptr<net::Connection> connect(const std::string& peer = "127.0.0.1") {
        auto environment = world.environment();
        return world.connect(
            [this, environment](std::shared_ptr<net::Connection> c) {
                return imap::run_imap_session(std::move(c), settings, environment);
            },
            peer);
    }
    std::string snapshot() { return test::store_snapshot(world.store(), kAddresses); }
    void deliver(const std::string& raw) { world.deliver(raw, {"alice@example.test"}); }

    test::InProcess world;
    imap::SessionSettings settings;
};

// The [storage] keys go first: InProcess puts its own [storage] table (the path) before them.
std::string config_of(const test::Transcript& t) {
    std::string config;
    for (const auto& c : t.directives("storage")) config += c + "\n";
    config += "[imapd]\n";
    for (const auto& c : t.directives("config")) config += c + "\n";
    config += "[server]\n";
    for (const auto& c : t.directives("server")) config += c + "\n";
    return config;
}

// Runs `transcript` (its segments over their connections) and returns "" or what failed.
std::string run_in_process(const test::Transcript& transcript, test::LogCapture& log) {
    ImapWorld imap(config_of(transcript));
    for (const auto& q : transcript.directives("quota")) {  // ADDRESS BYTES [--messages N]
        auto w = words(q);
        std::optional<std::uint64_t> messages;
        if (w.size() == 4 && w.at(2) == "--messages") messages = std::stoull(w.at(3));
        REQUIRE_MESSAGE((w.size() == 2 || messages), ("bad quota directive: " + q));
        REQUIRE(imap.world.store().set_quota(w.at(0), std::stoull(w.at(1)), messages).ok());
    }
    std::vector<std::string> seeded;
    for (const auto& names : transcript.directives("seed"))
        for (const auto& name : words(names)) {
            seeded.push_back(message(name));
            imap.deliver(seeded.back());
        }
    for (const auto& depth : transcript.directives("seed-nested"))
        imap.deliver(test::nested_multipart(std::stoul(depth)));

    auto substitute = [&](const std::string& line) {
        std::string out = line;
        std::size_t total = 0;
        for (const auto& s : seeded) total += s.size();
        out = std::regex_replace(out, std::regex(R"(\{total\})"), std::to_string(total));
        std::smatch m;
        while (std::regex_search(out, m, std::regex(R"(\{size:(\d+)\})")))
            out = m.prefix().str() + std::to_string(seeded.at(std::stoul(m[1]) - 1).size()) + m.suffix().str();
        return out;
    };
    std::string saved;
    test::DirectiveHandler directive = [&](net::Connection& client,
                                           const std::string& text) -> asio::awaitable<std::string> {
        auto w = words(text);
        if (w.at(0) == "deliver") {
            imap.deliver(message(w.at(1)));
        } else if (w.at(0) == "repeat") {
            const std::string unit = test::unescape(text.substr(text.find(w.at(2), 7 + w.at(1).size())));
            std::string bytes;
            for (long i = 0, n = std::stol(w.at(1)); i < n; ++i) bytes += unit;
            client.write(bytes);
            const bool sent = co_await client.flush();
            if (!sent) co_return "could not send: connection closed";
        } else if (w.at(0) == "snapshot") {
            saved = imap.snapshot();
        } else if (w.at(0) == "unchanged") {
            const std::string now = imap.snapshot();
            if (now != saved) co_return "the store changed:\n--- before\n" + saved + "--- after\n" + now;
        } else {
            co_return "unknown directive " + text;
        }
        co_return std::string();
    };

    std::map<std::string, std::shared_ptr<net::Connection>> clients;
    std::string failure = "did not finish";
    const bool finished = imap.world.run(
        [&]() -> asio::awaitable<void> {
            for (const auto& segment : segments_of(transcript)) {
                auto& client = clients[segment.client];
                if (!client) client = imap.connect();
                failure = co_await test::run_transcript(*client, segment.steps, directive, substitute);
                if (!failure.empty()) co_return;
            }
        },
        std::chrono::seconds(60));
    for (auto& [name, client] : clients) client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });  // let the sessions see the close
    if (!finished) return "did not finish within 60 s: " + failure;
    if (!failure.empty()) return failure;

    const auto after = lines_of(imap.snapshot());
    auto has_line = [&](const std::string& line) { return std::find(after.begin(), after.end(), line) != after.end(); };
    const std::pair<const char*, const char*> kinds[] = {{"mailbox", " "}, {"mailboxes", ": "}, {"subscribed", ": "}};
    for (const auto& [kind, separator] : kinds) {
        for (auto want : transcript.directives(std::string("expect-") + kind)) {
            while (!want.empty() && want.back() == ' ') want.pop_back();
            const bool owned = std::regex_search(want, std::regex("^[^ :]+@[^ :]+[ :]"));
            const std::string full =
                std::string(kind) + " " + (owned ? "" : "alice@example.test" + std::string(separator)) + want;
            if (!has_line(full)) return "the store has no line '" + full + "':\n" + imap.snapshot();
        }
    }
    for (const auto& pattern : transcript.directives("expect-log"))
        if (!log.contains_regex(pattern)) return "no log line matches " + pattern;
    if (log.text().find("alice-pw") != std::string::npos || log.text().find("bob-pw") != std::string::npos)
        return "a password reached the log";
    return {};
}

// A transcript of its own, run over one connection from `peer`.
std::string run_script(ImapWorld& imap, const std::string& script, const std::string& peer = "127.0.0.1") {
    auto transcript = test::parse_transcript(script, "inline");
    auto client = imap.connect(peer);
    std::string failure = "did not finish";
    const bool finished = imap.world.run(
        [&]() -> asio::awaitable<void> { failure = co_await test::run_transcript(*client, transcript); });
    client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
    return finished ? failure : "did not finish: " + failure;
}

}  // namespace

TEST_CASE("every imap transcript without TLS, in process") {
    auto files = test::transcript_files(source_dir() + "/tests/imap/transcripts");
    REQUIRE_MESSAGE(files.size() >= 10, "transcripts missing");
    int ran = 0;
    for (const auto& path : files) {
        auto transcript = test::load_transcript(path);
        if (transcript.uses_tls() || transcript.directive("role") == "imaps" ||
            !transcript.directives("daemon-only").empty())
            continue;
        CAPTURE(transcript.name);
        test::LogCapture log;
        const std::string failure = run_in_process(transcript, log);
        CHECK_MESSAGE(failure.empty(), transcript.name << ": " << failure);
        ++ran;
    }
    CHECK(ran >= 26);
}

TEST_CASE("a client that is not on loopback: LOGINDISABLED, no AUTH=, LOGIN and AUTHENTICATE refused") {
    ImapWorld imap("[imapd]\n");
    imap.deliver(message("plain.eml"));
    const std::string before = imap.snapshot();
    // No certificate in process, so no STARTTLS either: the client can only go away.
    CHECK(run_script(imap, R"(
S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 LOGINDISABLED LITERAL+ ENABLE ID] hikyaku IMAP4rev2 server ready
C: a CAPABILITY
S: * CAPABILITY IMAP4rev1 IMAP4rev2 LOGINDISABLED LITERAL+ ENABLE ID
S: a OK Capability completed
C: b LOGIN alice@example.test alice-pw
S: b NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections; use STARTTLS
C: c AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==
S: c NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections; use STARTTLS
C: d AUTHENTICATE PLAIN
S: d NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections; use STARTTLS
C: e AUTHENTICATE LOGIN
S: e NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections; use STARTTLS
C: f SELECT INBOX
S: f BAD SELECT: Log in first
C: g LOGOUT
S: * BYE Logging out
S: g OK Logout completed
CLOSED
)",
                     "192.0.2.55") == "");
    CHECK(imap.snapshot() == before);
}

TEST_CASE("sessions per user: at the limit and one past it, and a slot freed by LOGOUT") {
    ImapWorld imap("[imapd]\n");
    imap.settings.max_sessions_per_user = 2;
    std::vector<std::shared_ptr<net::Connection>> clients;
    auto login = test::parse_transcript(R"(
S~ ^\* OK \[CAPABILITY
C: a LOGIN alice@example.test alice-pw
S~ ^a OK \[CAPABILITY .*\] Logged in$
)",
                                        "login");
    auto refused = test::parse_transcript(R"(
S~ ^\* OK \[CAPABILITY
C: a LOGIN alice@example.test alice-pw
S: a NO [LIMIT] Too many sessions for this user
C: b LOGIN bob@example.test bob-pw
S~ ^b OK \[CAPABILITY .*\] Logged in$
C: c LOGOUT
S: * BYE Logging out
S: c OK Logout completed
)",
                                          "refused");
    auto logout =
        test::parse_transcript("C: z LOGOUT\nS: * BYE Logging out\nS: z OK Logout completed\nCLOSED\n", "logout");
    auto again = test::parse_transcript(R"(
S~ ^\* OK \[CAPABILITY
C: a LOGIN alice@example.test alice-pw
S~ ^a OK \[CAPABILITY .*\] Logged in$
)",
                                        "again");
    test::LogCapture log;
    std::string failure = "did not finish";
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
            clients.push_back(imap.connect());
            failure = co_await test::run_transcript(*clients.back(), login);
            if (!failure.empty()) co_return;
        }
        auto third = imap.connect();
        failure = co_await test::run_transcript(*third, refused);
        if (!failure.empty()) co_return;
        failure = co_await test::run_transcript(*clients.front(), logout);
        if (!failure.empty()) co_return;
        auto fourth = imap.connect();
        failure = co_await test::run_transcript(*fourth, again);
        clients.push_back(fourth);
    }));
    CHECK_MESSAGE(failure.empty(), failure);
    CHECK(log.contains_regex("login user=alice@example.test refused: 2 sessions already"));
    for (auto& c : clients) c->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
}

TEST_CASE("a large body is streamed in chunks and arrives whole") {
    ImapWorld imap("[imapd]\n");
    imap.settings.fetch_chunk_size = 1000;  // many chunks
    std::string raw = "From: big@remote.example\r\nSubject: big\r\n\r\n";
    for (int i = 0; raw.size() < 300 * 1024; ++i) raw += "line " + std::to_string(i) + " of a large body\r\n";
    imap.deliver(raw);
    auto client = imap.connect();
    std::string failure = "did not finish";
    std::vector<std::string> literals;
    // Reads "{N}" data that the harness would read as lines: until N octets and the rest of
    // the response line have come; `rest` gets what followed the literal on its last line.
    auto read_literal = [&](std::size_t size, std::string& rest) -> asio::awaitable<std::string> {
        std::string got;
        while (got.size() <= size) {
            net::Line line = co_await client->read_line(1 << 20);
            if (!line.ok()) break;
            got += line.text + "\r\n";
        }
        rest = got.size() > size ? got.substr(size) : "";
        co_return got.substr(0, std::min(size, got.size()));
    };
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        auto start = test::parse_transcript(R"(
S~ ^\* OK
C: a LOGIN alice@example.test alice-pw
S~ ^a OK
C: b EXAMINE INBOX
S* ^\*
S~ ^b OK
)",
                                            "start");
        failure = co_await test::run_transcript(*client, start);
        if (!failure.empty()) co_return;
        const std::pair<std::string, std::size_t> fetches[] = {{"BODY.PEEK[]", raw.size()},
                                                               {"BODY.PEEK[]<100.200000>", 200000}};
        const char* names[] = {"BODY[]", "BODY[]<100>"};
        for (int i = 0; i < 2; ++i) {
            client->write("c FETCH 1 (" + fetches[i].first + ")\r\n");
            co_await client->flush();
            net::Line head = co_await client->read_line(1024);
            const std::string want =
                "* 1 FETCH (" + std::string(names[i]) + " {" + std::to_string(fetches[i].second) + "}";
            if (head.text != want) {
                failure = "expected '" + want + "', got '" + head.text + "'";
                co_return;
            }
            std::string rest;
            literals.push_back(co_await read_literal(fetches[i].second, rest));
            net::Line tagged = co_await client->read_line(1024);
            if (rest != ")\r\n" || tagged.text != "c OK Fetch completed") {
                failure = "after the literal: '" + rest + "' then '" + tagged.text + "'";
                co_return;
            }
        }
        failure.clear();
    }));
    CHECK_MESSAGE(failure.empty(), failure);
    REQUIRE(literals.size() == 2);
    CHECK(literals[0] == raw);
    CHECK(literals[1] == raw.substr(100, 200000));
    client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
}

namespace {

asio::awaitable<std::string> reply_line(net::Connection& client) {
    net::Line l = co_await client.read_line(64 * 1024);
    co_return l.ok() ? l.text : "<" + std::string(l.status == net::ReadStatus::eof ? "eof" : "no line") + ">";
}

asio::awaitable<void> send_line(net::Connection& client, const std::string& text) {
    client.write(text + "\r\n");
    co_await client.flush();
}

}  // namespace

TEST_CASE("slowloris: a command trickling in a byte at a time is cut off at the command timeout") {
    // The command timeout is the autologout time ([imapd] autologout, here 1 s): the whole
    // command must arrive within it, however often single bytes come.
    ImapWorld imap("[imapd]\nautologout = 1\n");
    auto client = imap.connect();
    std::string greeting, reply, after;
    bool still_trickling = false;
    const auto started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration took{};
    CHECK(imap.world.run(
        [&]() -> asio::awaitable<void> {
            greeting = co_await reply_line(*client);
            bool done = false;
            asio::co_spawn(
                imap.world.io(),
                [&]() -> asio::awaitable<void> {
                    asio::steady_timer tick(imap.world.io());
                    const std::string command = "a LOGIN alice@example.test alice-pw-and-more-and-more";
                    for (std::size_t i = 0; i < command.size() && !done; ++i) {
                        client->write(command.substr(i, 1));
                        const bool sent = co_await client->flush();
                        if (!sent) break;
                        tick.expires_after(std::chrono::milliseconds(100));
                        boost::system::error_code ec;
                        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    }
                },
                asio::detached);
            reply = co_await reply_line(*client);
            took = std::chrono::steady_clock::now() - started;
            still_trickling = !done;
            done = true;
            after = co_await reply_line(*client);
        },
        std::chrono::seconds(15)));
    CHECK(greeting.rfind("* OK ", 0) == 0);
    CHECK(reply == "* BYE Autologout; idle for too long");
    CHECK(after == "<eof>");
    CHECK(still_trickling);
    CHECK(took < std::chrono::seconds(4));  // 52 bytes at 10 a second would take 5.2 s
    client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
}

TEST_CASE("IDLE is bounded by the autologout time too") {
    ImapWorld imap("[imapd]\nautologout = 1\n");
    CHECK(run_script(imap, R"(
S~ ^\* OK
C: a LOGIN alice@example.test alice-pw
S~ ^a OK
C: b SELECT INBOX
S* ^\* 
S: b OK [READ-WRITE] Select completed
C: c IDLE
S: + idling
S: * BYE Autologout; idle for too long
CLOSED
)") == "");
}

TEST_CASE("failed logins: the same reply for an unknown user and a wrong password, after the throttle's delay") {
    ImapWorld imap("[imapd]\n");
    server::AuthSettings auth;
    auth.threads = 1;
    auth.cost = storage::PasswordCost{256, 1, 1};
    auth.throttle.first_delay = std::chrono::milliseconds(200);
    auth.throttle.max_delay = std::chrono::milliseconds(400);
    imap.world.services().auth = std::make_unique<server::AuthService>(imap.world.store(), auth);
    imap.deliver(message("plain.eml"));
    const std::string before = imap.snapshot();
    auto client = imap.connect();
    // Tag-less replies and how long each took, per attempt.
    std::vector<std::pair<std::string, std::chrono::steady_clock::duration>> answers;
    const char* attempts[] = {
        "LOGIN nobody@example.test alice-pw",                           // unknown user, existing domain
        "LOGIN alice@example.test wrong-pw",                            // wrong password
        "LOGIN nobody@elsewhere.example alice-pw",                      // unknown domain
        "AUTHENTICATE PLAIN AG5vYm9keUBleGFtcGxlLnRlc3QAYWxpY2UtcHc=",  // \0nobody@example.test\0alice-pw
        "AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZy1wdw==",  // \0alice@example.test\0wrong-pw
    };
    std::string last;
    CHECK(imap.world.run(
        [&]() -> asio::awaitable<void> {
            co_await reply_line(*client);
            int n = 0;
            for (const char* attempt : attempts) {
                const std::string tag = "t" + std::to_string(++n);
                const auto started = std::chrono::steady_clock::now();
                co_await send_line(*client, tag + " " + attempt);
                const std::string reply = co_await reply_line(*client);
                answers.emplace_back(reply.substr(std::min(reply.size(), tag.size())),
                                     std::chrono::steady_clock::now() - started);
            }
            co_await send_line(*client, "z LOGIN alice@example.test alice-pw");
            last = co_await reply_line(*client);
        },
        std::chrono::seconds(30)));
    REQUIRE(answers.size() == std::size(attempts));
    for (const auto& [reply, took] : answers) {
        CHECK(reply == " NO [AUTHENTICATIONFAILED] Authentication failed");
        CHECK(took >= std::chrono::milliseconds(200));
    }
    CHECK(last.rfind("z OK [CAPABILITY ", 0) == 0);  // the right password still gets in
    CHECK(imap.snapshot() == before);
    client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
}

TEST_CASE("NOTIFY: more pending mailboxes than the session holds overflow to NOTIFY NONE (RFC 5465 5.8)") {
    ImapWorld imap("[imapd]\n");
    imap.settings.notify_max_pending = 1;
    // A waits in the middle of its APPEND (events are never sent into a partly received
    // command) while B changes two other mailboxes: two pending, one more than A holds.
    auto a_before = test::parse_transcript(R"(
S~ ^\* OK \[CAPABILITY
C: a1 LOGIN alice@example.test alice-pw
S~ ^a1 OK
C: a2 NOTIFY SET (personal (MessageNew MessageExpunge))
S: a2 OK NOTIFY completed
C: a3 APPEND INBOX {5}
S: + Ready for literal data
)",
                                           "a-before");
    auto b = test::parse_transcript(R"(
S~ ^\* OK \[CAPABILITY
C: b1 LOGIN alice@example.test alice-pw
S~ ^b1 OK
C+ b2 APPEND Drafts {6+}\r\ndraft!\r\n
S~ ^b2 OK \[APPENDUID
C+ b3 APPEND Sent {5+}\r\nsent!\r\n
S~ ^b3 OK \[APPENDUID
)",
                                    "b");
    // A's APPEND completes: the overflow comes before its tagged reply, and no STATUS at all.
    // Afterwards NOTIFY is NONE: B's next change reaches A as nothing, which the NOOP reply
    // (sent after B's APPEND completed) shows.
    auto a_after = test::parse_transcript(R"(
C+ hello\r\n
S: * OK [NOTIFICATIONOVERFLOW] Too many events; NOTIFY is now NONE
S~ ^a3 OK \[APPENDUID
)",
                                          "a-after");
    auto b_again = test::parse_transcript(R"(
C+ b4 APPEND Trash {6+}\r\ntrash!\r\n
S~ ^b4 OK \[APPENDUID
)",
                                          "b-again");
    auto a_last = test::parse_transcript("C: a4 NOOP\nS: a4 OK NOOP completed\n", "a-last");
    test::LogCapture log;
    std::string failure = "did not finish";
    std::shared_ptr<net::Connection> a, b_client;
    const bool finished = imap.world.run(
        [&]() -> asio::awaitable<void> {
            a = imap.connect();
            b_client = imap.connect();
            failure = co_await test::run_transcript(*a, a_before);
            if (!failure.empty()) co_return;
            failure = co_await test::run_transcript(*b_client, b);
            if (!failure.empty()) co_return;
            failure = co_await test::run_transcript(*a, a_after);
            if (!failure.empty()) co_return;
            failure = co_await test::run_transcript(*b_client, b_again);
            if (!failure.empty()) co_return;
            failure = co_await test::run_transcript(*a, a_last);
        },
        std::chrono::seconds(30));
    a->close();
    b_client->close();
    imap.world.run([&]() -> asio::awaitable<void> { co_return; });
    CHECK(finished);
    CHECK_MESSAGE(failure.empty(), failure);
    CHECK(log.contains_regex("NOTIFY overflow"));
}
