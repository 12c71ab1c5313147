// pop3_inprocess_test.cpp: pop3d's session in process (tests/lib/session_harness.h): every
// transcript of tests/pop3/transcripts that needs no TLS, run over the memory transport against
// the real session code and a real store, with the same directives as pop3_transcripts.py
// (seed, config, expect-inbox, expect-seeded, expect-log); and the plaintext refusal for a
// client that is not on loopback, which only an in-process test can show.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "pop3d/pop3_session.h"
#include "tests/lib/session_harness.h"
#include "tests/lib/transcript.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

std::string source_dir() { return std::getenv("HIKYAKU_SOURCE_DIR"); }

std::string crlf(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing test data " << path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Inbox {
    std::vector<std::pair<storage::Uid, std::uint64_t>> entries;
    std::uint32_t uidvalidity = 0;
};

Inbox inbox(storage::Store& store) {
    auto user = store.find_user("alice@example.test");
    auto box = store.inbox(user->id);
    const storage::UidRange all[] = {storage::UidRange{}};
    Inbox out;
    out.uidvalidity = box->uidvalidity;
    auto entries = store.fetch_entries(box->id, all);
    REQUIRE(entries.ok());
    for (const auto& e : *entries) out.entries.emplace_back(e.uid, e.size);
    return out;
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

}  // namespace

TEST_CASE("every pop3 transcript without TLS, in process") {
    auto files = test::transcript_files(source_dir() + "/tests/pop3/transcripts");
    REQUIRE_MESSAGE(files.size() >= 10, "transcripts missing");
    int ran = 0;
    for (const auto& path : files) {
        auto transcript = test::load_transcript(path);
        if (transcript.uses_tls() || transcript.directive("role") == "pop3s") continue;  // daemon-level only
        CAPTURE(transcript.name);
        std::string config = "[pop3d]\n";
        for (const auto& c : transcript.directives("config")) config += c + "\n";
        test::LogCapture log;
        test::InProcess world(config);
        std::vector<std::string> seeded;
        for (const auto& seed : words(transcript.directive("seed"))) {
            seeded.push_back(crlf(read_file(source_dir() + "/tests/pop3/messages/" + seed)));
            world.deliver(seeded.back(), {"alice@example.test"});
        }
        const Inbox before = inbox(world.store());
        auto substitute = [&](const std::string& line) {
            std::string out = line;
            std::size_t total = 0;
            for (const auto& s : seeded) total += s.size();
            out = std::regex_replace(out, std::regex(R"(\{total\})"), std::to_string(total));
            std::smatch m;
            while (std::regex_search(out, m, std::regex(R"(\{size:(\d+)\})")))
                out = m.prefix().str() + std::to_string(seeded.at(std::stoul(m[1]) - 1).size()) + m.suffix().str();
            while (std::regex_search(out, m, std::regex(R"(\{uidl:(\d+)\})"))) {
                char id[24];
                std::snprintf(id, sizeof id, "%08x%08x", before.uidvalidity,
                              before.entries.at(std::stoul(m[1]) - 1).first);
                out = m.prefix().str() + id + m.suffix().str();
            }
            return out;
        };
        auto settings = pop3::SessionSettings::from(world.config(), pop3::Role::pop3);
        auto environment = world.environment();
        auto client = world.connect([&](std::shared_ptr<net::Connection> c) {
            return pop3::run_pop3_session(std::move(c), settings, environment);
        });
        std::string failure = "did not finish";
        CHECK(world.run([&]() -> asio::awaitable<void> {
            failure = co_await test::run_transcript(*client, transcript, {}, substitute);
        }));
        CHECK_MESSAGE(failure.empty(), failure);
        client->close();
        world.run([&]() -> asio::awaitable<void> { co_return; });  // let the session see the close
        const Inbox after = inbox(world.store());
        if (auto n = transcript.directive("expect-inbox"); !n.empty()) CHECK(after.entries.size() == std::stoul(n));
        if (auto want = transcript.directive("expect-seeded"); !want.empty()) {
            std::vector<storage::Uid> expected, got;
            for (const auto& w : words(want)) expected.push_back(before.entries.at(std::stoul(w) - 1).first);
            for (const auto& e : after.entries) got.push_back(e.first);
            CHECK(got == expected);
        }
        for (const auto& pattern : transcript.directives("expect-log"))
            CHECK_MESSAGE(log.contains_regex(pattern), "no log line matches " << pattern);
        CHECK(log.text().find("alice-pw") == std::string::npos);  // no password in the log
        ++ran;
    }
    CHECK(ran >= 10);
}

TEST_CASE("plaintext logins refused from a remote client without TLS") {
    test::InProcess world("[pop3d]\n");
    auto settings = pop3::SessionSettings::from(world.config(), pop3::Role::pop3);
    auto environment = world.environment();
    auto client = world.connect(
        [&](std::shared_ptr<net::Connection> c) { return pop3::run_pop3_session(std::move(c), settings, environment); },
        "192.0.2.55");
    auto transcript = test::parse_transcript(R"(
S: +OK hikyaku POP3 server ready
C: CAPA
S: +OK Capability list follows
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: IMPLEMENTATION hikyaku
S: .
C: USER alice@example.test
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use port 995 (POP3S)
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==
S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use port 995 (POP3S)
C: QUIT
S: +OK hikyaku POP3 server signing off
CLOSED
)",
                                             "remote-plaintext");
    std::string failure = "did not finish";
    CHECK(world.run([&]() -> asio::awaitable<void> { failure = co_await test::run_transcript(*client, transcript); }));
    CHECK_MESSAGE(failure.empty(), failure);
}

TEST_CASE("the auth cache spares argon2 on a second login, and a password change ends it") {
    test::LogCapture log;
    test::InProcess world("[pop3d]\n");
    auto settings = pop3::SessionSettings::from(world.config(), pop3::Role::pop3);
    auto environment = world.environment();
    auto session = [&](std::shared_ptr<net::Connection> c) {
        return pop3::run_pop3_session(std::move(c), settings, environment);
    };
    auto login = [&](const std::string& password, const std::string& reply, const char* name) {
        auto client = world.connect(session);
        auto transcript = test::parse_transcript(
            "S: +OK hikyaku POP3 server ready\n"
            "C: USER alice@example.test\n"
            "S~ ^\\+OK\n"
            "C: PASS " +
                password +
                "\n"
                "S~ " +
                reply +
                "\n"
                "C: QUIT\n"
                "S~ ^\\+OK\n"
                "CLOSED\n",
            name);
        std::string failure = "did not finish";
        CHECK(world.run(
            [&]() -> asio::awaitable<void> { failure = co_await test::run_transcript(*client, transcript); }));
        CHECK_MESSAGE(failure.empty(), name << ": " << failure);
    };
    const std::string cached = "password of alice@example.test recognised from the auth cache";
    login("alice-pw", "^\\+OK", "first");
    CHECK_FALSE(log.text().find(cached) != std::string::npos);
    login("alice-pw", "^\\+OK", "second");
    CHECK(log.text().find(cached) != std::string::npos);

    REQUIRE(world.store().set_password("alice@example.test", "new-pw").ok());
    login("alice-pw", "^-ERR \\[AUTH\\]", "old password after the change");
    login("new-pw", "^\\+OK", "new password");
}
