// smtp_inprocess_test.cpp: smtpd's session in process (tests/lib/session_harness.h): every
// transcript of tests/smtp/transcripts run over the memory transport against the real session
// code and a real store, in milliseconds; and what only an in-process test can show: the
// plaintext-AUTH refusal for a client that is not on loopback, the command deadline against
// a client that trickles bytes (slowloris), and the shared login throttle across connections.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <regex>

#include "common/text/base64.h"
#include "smtpd/smtp_session.h"
#include "tests/lib/session_harness.h"
#include "tests/lib/transcript.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

const char* kConfig = R"(max_message_size = 20000
[smtpd]
hostname = "mx.example.test"
max_errors = 15
)";

struct Smtp {
    test::InProcess world{kConfig};
    std::map<std::string, std::unique_ptr<smtp::SessionSettings>> settings;

    Smtp() {
        REQUIRE(world.store().add_alias("postmaster@example.test", "alice@example.test").ok());
        for (auto role : {smtp::Role::inbound, smtp::Role::submission})
            settings[smtp::role_name(role)] =
                std::make_unique<smtp::SessionSettings>(smtp::SessionSettings::from(world.config(), role));
    }
    std::shared_ptr<net::Connection> connect(const std::string& role, const std::string& peer = "127.0.0.1") {
        const smtp::SessionSettings* s = settings.at(role).get();
        auto environment = world.environment();
        return world.connect(
            [s, environment](std::shared_ptr<net::Connection> c) {
                return smtp::run_smtp_session(std::move(c), *s, environment);
            },
            peer);
    }
    std::size_t count(const std::string& address) {
        auto user = world.store().find_user(address);
        REQUIRE(user.ok());
        auto inbox = world.store().inbox(user->id);
        REQUIRE(inbox.ok());
        return world.store().mailbox_status(inbox->id)->messages;
    }
    std::string last(const std::string& address) {
        auto user = world.store().find_user(address);
        auto inbox = world.store().inbox(user->id);
        const storage::UidRange all[] = {storage::UidRange{}};
        auto entries = world.store().fetch_entries(inbox->id, all);
        REQUIRE(entries.ok());
        REQUIRE_FALSE(entries->empty());
        return *world.store().read_message(inbox->id, entries->back().uid);
    }
};

// The message as the client sent it: without the Return-Path and Received fields on top.
std::string strip_trace_headers(const std::string& raw) {
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = raw.find("\r\n", pos);
        if (end == std::string::npos) return raw.substr(pos);
        std::string name = raw.substr(pos, raw.find(':', pos) - pos);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name != "return-path" && name != "received") return raw.substr(pos);
        pos = end + 2;
        while (pos < raw.size() && (raw[pos] == ' ' || raw[pos] == '\t')) pos = raw.find("\r\n", pos) + 2;
    }
}

// "AUTH PLAIN <base64 of NUL user NUL password>" (RFC 4616).
std::string auth_plain(const std::string& user, const std::string& password) {
    return "AUTH PLAIN " + text::base64_encode(std::string(1, '\0') + user + std::string(1, '\0') + password) + "\r\n";
}

asio::awaitable<net::Line> line(net::Connection& c) { co_return co_await c.read_line(4096); }

asio::awaitable<void> send(net::Connection& c, const std::string& text) {
    c.write(text);
    co_await c.flush();
}

}  // namespace

TEST_CASE("every smtp transcript, in process") {
    Smtp smtp;
    const auto folder = std::string(std::getenv("HIKYAKU_SOURCE_DIR")) + "/tests/smtp/transcripts";
    auto files = test::transcript_files(folder);
    REQUIRE_MESSAGE(files.size() >= 8, "transcripts missing in " << folder);
    for (const auto& path : files) {
        auto transcript = test::load_transcript(path);
        CAPTURE(transcript.name);
        std::map<std::string, std::size_t> baseline;
        for (auto a : {"alice@example.test", "bob@example.test"}) baseline[a] = smtp.count(a);
        auto client = smtp.connect(transcript.directive("role"));
        std::string failure = "did not finish";
        auto directive = [&](net::Connection& c, const std::string& text) -> asio::awaitable<std::string> {
            std::istringstream words(text);
            std::string verb, address;
            words >> verb;
            if (verb == "count") {
                std::size_t want = 0;
                words >> address >> want;
                std::size_t got = smtp.count(address) - baseline[address];
                co_return got == want ? "" : address + " received " + std::to_string(got);
            }
            if (verb == "last" || verb == "header") {
                words >> address;
                std::string rest;
                std::getline(words >> std::ws, rest);
                std::string raw = smtp.last(address);
                if (verb == "last") co_return strip_trace_headers(raw) == test::unescape(rest) ? "" : "stored " + raw;
                co_return std::regex_search(raw, std::regex(rest)) ? "" : "stored " + raw;
            }
            if (verb == "big-data") {
                std::size_t size = 0;
                words >> size;
                std::string body = "Subject: big\r\n\r\n";
                for (std::size_t i = 0; i < size / 100 + 1; ++i) body += std::string(98, 'x') + "\r\n";
                co_await send(c, body + ".\r\n");
                co_return "";
            }
            if (verb == "long-line") {
                std::size_t size = 0;
                words >> size;
                co_await send(c, "NOOP " + std::string(size, 'x') + "\r\n");
                co_return "";
            }
            co_return "unknown directive " + verb;
        };
        bool finished = smtp.world.run([&]() -> asio::awaitable<void> {
            failure = co_await test::run_transcript(*client, transcript, directive);
        });
        CHECK_MESSAGE(finished, transcript.name << " did not finish in time");
        CHECK_MESSAGE(failure.empty(), failure);
        client->close();
    }
}

TEST_CASE("AUTH over plaintext from a remote client: not offered, 538 if tried") {
    Smtp smtp;
    auto client = smtp.connect("submission", "192.0.2.7");
    std::vector<std::string> ehlo;
    std::string auth_reply;
    CHECK(smtp.world.run([&]() -> asio::awaitable<void> {
        co_await line(*client);
        co_await send(*client, "EHLO remote.example\r\n");
        for (;;) {
            net::Line l = co_await line(*client);
            if (!l.ok()) break;
            ehlo.push_back(l.text);
            if (l.text.rfind("250 ", 0) == 0) break;
        }
        co_await send(*client, auth_plain("alice@example.test", "alice-pw"));
        auth_reply = (co_await line(*client)).text;
    }));
    for (const auto& l : ehlo) CHECK(l.find("AUTH") == std::string::npos);
    CHECK(auth_reply == "538 5.7.11 Encryption required for requested authentication mechanism");
}

TEST_CASE("slowloris: a command trickling in a byte at a time is cut off at the command timeout") {
    test::InProcess world("[smtpd]\nhostname = \"mx.example.test\"\ncommand_timeout = 1\n");
    auto settings = smtp::SessionSettings::from(world.config(), smtp::Role::inbound);
    auto environment = world.environment();
    auto client = world.connect([&](std::shared_ptr<net::Connection> c) {
        return smtp::run_smtp_session(std::move(c), settings, environment);
    });
    std::string reply;
    bool still_trickling = false;
    CHECK(world.run(
        [&]() -> asio::awaitable<void> {
            co_await line(*client);
            // One byte every 100 ms for 10 s, never a line end: every read gets a byte well within
            // the timeout, but the command as a whole does not arrive in time.
            bool done = false;
            asio::co_spawn(
                world.io(),
                [&]() -> asio::awaitable<void> {
                    asio::steady_timer tick(world.io());
                    for (int i = 0; i < 100 && !done; ++i) {
                        client->write("N");
                        const bool sent = co_await client->flush();
                        if (!sent) break;
                        tick.expires_after(std::chrono::milliseconds(100));
                        boost::system::error_code ec;
                        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    }
                },
                asio::detached);
            net::Line l = co_await line(*client);
            reply = l.text;
            still_trickling = !done;
            done = true;
            net::Line after = co_await line(*client);
            CHECK(after.status == net::ReadStatus::eof);
        },
        std::chrono::seconds(15)));
    CHECK(reply == "421 4.4.2 mx.example.test Error: timeout exceeded");
    CHECK(still_trickling);
}

TEST_CASE("brute force from many connections shares one throttle; the owner elsewhere gets in") {
    Smtp smtp;
    server::AuthSettings auth;
    auth.threads = 1;
    auth.cost = storage::PasswordCost{256, 1, 1};
    auth.throttle.first_delay = std::chrono::milliseconds(50);
    auth.throttle.max_delay = std::chrono::milliseconds(100);
    smtp.world.services().auth = std::make_unique<server::AuthService>(smtp.world.store(), auth);
    const std::string wrong = auth_plain("alice@example.test", "guess");
    const std::string right = auth_plain("alice@example.test", "alice-pw");
    constexpr int kConnections = 5, kGuesses = 2;
    std::vector<std::shared_ptr<net::Connection>> attackers;
    for (int i = 0; i < kConnections; ++i) attackers.push_back(smtp.connect("submission", "127.0.0.66"));
    int refused = 0;
    std::string owner_reply;
    const auto started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration attack_took{};
    CHECK(smtp.world.run(
        [&]() -> asio::awaitable<void> {
            int running = kConnections;
            asio::steady_timer all_done(smtp.world.io(), asio::steady_timer::time_point::max());
            for (auto& c : attackers) {
                asio::co_spawn(
                    smtp.world.io(),
                    [&, c]() -> asio::awaitable<void> {
                        co_await line(*c);
                        co_await send(*c, "EHLO x\r\n");
                        for (;;) {
                            net::Line l = co_await line(*c);
                            if (!l.ok() || l.text.rfind("250 ", 0) == 0) break;
                        }
                        for (int g = 0; g < kGuesses; ++g) {
                            co_await send(*c, wrong);
                            net::Line l = co_await line(*c);
                            if (l.text.rfind("535 ", 0) == 0) ++refused;
                        }
                        if (--running == 0) all_done.cancel();
                    },
                    asio::detached);
            }
            boost::system::error_code ec;
            co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            attack_took = std::chrono::steady_clock::now() - started;
            // The owner, from another address, logs in.
            auto owner = smtp.connect("submission", "127.0.0.1");
            co_await line(*owner);
            co_await send(*owner, "EHLO owner\r\n");
            for (;;) {
                net::Line l = co_await line(*owner);
                if (!l.ok() || l.text.rfind("250 ", 0) == 0) break;
            }
            co_await send(*owner, right);
            owner_reply = (co_await line(*owner)).text;
        },
        std::chrono::seconds(30)));
    CHECK(refused == kConnections * kGuesses);
    // Ten guesses from one address take turns: 50 ms after the first failure, then 100 ms,
    // so they cannot all land at once however many connections carry them.
    CHECK(attack_took >= std::chrono::milliseconds(50 + 100 * (kConnections * kGuesses - 2)));
    CHECK(owner_reply == "235 2.7.0 Authentication successful");
    CHECK(smtp.world.services().auth->throttle().failures("127.0.0.66", server::LoginThrottle::Clock::now()) ==
          kConnections * kGuesses);
}
