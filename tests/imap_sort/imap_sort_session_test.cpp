// imap_sort_session_test.cpp: SORT, UID SORT, SORT RETURN (ESORT), SORT=DISPLAY keys, THREAD
// and UID THREAD through the real IMAP session, in process (tests/lib/session_harness.h over
// the memory store): transcripts of lines sent and responses expected (STYLE 12, 20). Covers
// the capabilities, search keys narrowing the set, the charset (NO [BADCHARSET]), messages
// expunged in between, errors that leave the session usable (STYLE 13), and the state rule
// (not before SELECT).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "imapd/imap_session.h"
#include "tests/lib/session_harness.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

struct Reply {
    std::vector<std::string> untagged;
    std::string tagged;
};

// Sends one command (its literals announced as LITERAL+) and collects the responses until
// the tagged one.
asio::awaitable<Reply> command(net::Connection& c, const std::string& tag, const std::string& text) {
    c.write(tag + " " + text + "\r\n");
    co_await c.flush();
    Reply r;
    for (int i = 0; i < 1000; ++i) {
        net::Line line = co_await c.read_line(1 << 16);
        if (!line.ok()) {
            r.tagged = std::string("<") + net::to_string(line.status) + ">";
            co_return r;
        }
        if (line.text.rfind(tag + " ", 0) == 0) {
            r.tagged = line.text;
            co_return r;
        }
        r.untagged.push_back(line.text);
    }
    co_return r;
}

std::string append(const std::string& date, const std::string& header) {
    const std::string message = header + "\r\nbody\r\n";
    return "APPEND INBOX \"" + date + "\" {" + std::to_string(message.size()) + "+}\r\n" + message;
}

}  // namespace

TEST_CASE("SORT and THREAD through the session") {
    test::InProcess world("[imapd]\n");
    auto settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
    auto environment = world.environment();
    auto client = world.connect([&](std::shared_ptr<net::Connection> c) {
        return imap::run_imap_session(std::move(c), settings, environment);
    });
    std::vector<std::pair<std::string, Reply>> log;  // command, reply
    CHECK(world.run([&]() -> asio::awaitable<void> {
        co_await client->read_line(1 << 16);  // greeting
        int n = 0;
        auto run = [&](const std::string& text) -> asio::awaitable<void> {
            const std::string tag = "t" + std::to_string(++n);
            Reply r = co_await command(*client, tag, text);
            log.emplace_back(text, std::move(r));
        };
        co_await run("LOGIN alice@example.test alice-pw");
        co_await run("SORT (DATE) US-ASCII ALL");  // not selected yet
        co_await run("CAPABILITY");
        co_await run(append("22-Feb-2008 17:06:23 +0000",
                            "Message-ID: <a@b>\r\nSubject: foo\r\nFrom: Zed <z@x.org>\r\nTo: b@x.org"));
        co_await run(append("22-Feb-2008 15:06:23 +0000",
                            "Message-ID: <b@b>\r\nReferences: <a@b> <c@b>\r\nSubject: Re: foo\r\nFrom: amy@x.org\r\n"
                            "To: Cat <c@x.org>"));
        co_await run(append("22-Feb-2008 16:06:25 +0000",
                            "Message-ID: <c@b>\r\nReferences: <b@b>\r\nSubject: bar\r\n"
                            "Date: Fri, 22 Feb 2008 18:00:00 +0000\r\nFrom: Bob <bob@x.org>\r\nTo: a@x.org"));
        co_await run("SELECT INBOX");
        co_await run("SORT (DATE) US-ASCII ALL");
        co_await run("SORT (REVERSE ARRIVAL) UTF-8 ALL");
        co_await run("SORT (SUBJECT ARRIVAL) US-ASCII ALL");
        co_await run("SORT (FROM) US-ASCII ALL");
        co_await run("SORT (DISPLAYFROM) US-ASCII ALL");
        co_await run("SORT (DISPLAYTO) US-ASCII ALL");
        co_await run("SORT (ARRIVAL) US-ASCII SUBJECT foo");
        co_await run("UID SORT (ARRIVAL) US-ASCII ALL");
        co_await run("SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) US-ASCII ALL");
        co_await run("UID SORT RETURN (COUNT) (ARRIVAL) US-ASCII UID 1:2");
        co_await run("SORT RETURN () (DATE) US-ASCII DELETED");
        co_await run("SORT (DATE) X-NO-SUCH-CHARSET ALL");
        co_await run("SORT (DATE) US-ASCII BOGUS");
        co_await run("THREAD REFERENCES US-ASCII ALL");
        co_await run("THREAD ORDEREDSUBJECT US-ASCII ALL");
        co_await run("UID THREAD REFERENCES US-ASCII ALL");
        co_await run("THREAD REFERENCES US-ASCII DELETED");
        co_await run("STORE 1 +FLAGS.SILENT (\\Deleted)");
        co_await run("EXPUNGE");
        co_await run("THREAD REFERENCES US-ASCII ALL");
        co_await run("SORT (ARRIVAL) US-ASCII ALL");
        co_await run("LOGOUT");
    }));
    auto reply = [&](const std::string& text) -> const Reply& {
        for (const auto& [sent, r] : log)
            if (sent == text) return r;
        FAIL("not sent: " << text);
        return log.front().second;
    };
    using Lines = std::vector<std::string>;
    CHECK(reply("SORT (DATE) US-ASCII ALL").tagged.find(" BAD ") != std::string::npos);  // the first one
    const Reply& caps = reply("CAPABILITY");
    REQUIRE(caps.untagged.size() == 1);
    for (const char* cap : {" SORT ", " SORT=DISPLAY ", " ESORT ", " THREAD=ORDEREDSUBJECT ", " THREAD=REFERENCES"})
        CHECK(caps.untagged[0].find(cap) != std::string::npos);
    // 1: arrived 17:06, no Date; 2: arrived 15:06, no Date; 3: arrived 16:06, sent 18:00
    const auto& sorts = log;
    auto find_after_select = [&](const std::string& text) -> const Reply& {
        bool selected = false;
        for (const auto& [sent, r] : sorts) {
            if (sent == "SELECT INBOX") selected = true;
            if (selected && sent == text) return r;
        }
        FAIL("not sent: " << text);
        return log.front().second;
    };
    CHECK(find_after_select("SORT (DATE) US-ASCII ALL").untagged == Lines{"* SORT 2 1 3"});
    CHECK(find_after_select("SORT (DATE) US-ASCII ALL").tagged.find("OK Sort completed") != std::string::npos);
    CHECK(reply("SORT (REVERSE ARRIVAL) UTF-8 ALL").untagged == Lines{"* SORT 1 3 2"});
    CHECK(reply("SORT (SUBJECT ARRIVAL) US-ASCII ALL").untagged == Lines{"* SORT 3 2 1"});
    CHECK(reply("SORT (FROM) US-ASCII ALL").untagged == Lines{"* SORT 2 3 1"});
    CHECK(reply("SORT (DISPLAYFROM) US-ASCII ALL").untagged == Lines{"* SORT 2 3 1"});
    CHECK(reply("SORT (DISPLAYTO) US-ASCII ALL").untagged == Lines{"* SORT 3 1 2"});
    CHECK(reply("SORT (ARRIVAL) US-ASCII SUBJECT foo").untagged == Lines{"* SORT 2 1"});
    CHECK(reply("UID SORT (ARRIVAL) US-ASCII ALL").untagged == Lines{"* SORT 2 3 1"});
    const Reply& esort = reply("SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) US-ASCII ALL");
    REQUIRE(esort.untagged.size() == 1);
    CHECK(esort.untagged[0].find("MIN 2 MAX 1 COUNT 3 ALL 2:3,1") != std::string::npos);
    CHECK(esort.untagged[0].rfind("* ESEARCH (TAG \"t", 0) == 0);
    const Reply& uid_esort = reply("UID SORT RETURN (COUNT) (ARRIVAL) US-ASCII UID 1:2");
    REQUIRE(uid_esort.untagged.size() == 1);
    CHECK(uid_esort.untagged[0].find(") UID COUNT 2") != std::string::npos);
    const Reply& none = reply("SORT RETURN () (DATE) US-ASCII DELETED");
    REQUIRE(none.untagged.size() == 1);
    CHECK(none.untagged[0].find("ALL") == std::string::npos);
    CHECK(reply("SORT (DATE) X-NO-SUCH-CHARSET ALL").tagged.find("NO [BADCHARSET") != std::string::npos);
    CHECK(reply("SORT (DATE) US-ASCII BOGUS").tagged.find(" BAD ") != std::string::npos);
    // thread.mbox of imaptest, then without message 1
    // (message 3's Date puts its thread last)
    CHECK(reply("THREAD REFERENCES US-ASCII ALL").untagged == Lines{"* THREAD (1)(3 2)"});
    CHECK(reply("THREAD ORDEREDSUBJECT US-ASCII ALL").untagged == Lines{"* THREAD (2 1)(3)"});
    CHECK(reply("UID THREAD REFERENCES US-ASCII ALL").untagged == Lines{"* THREAD (1)(3 2)"});
    CHECK(reply("THREAD REFERENCES US-ASCII DELETED").untagged == Lines{"* THREAD"});
    CHECK(reply("EXPUNGE").tagged.find("OK") != std::string::npos);
    Reply after;
    int seen = 0;
    for (const auto& [sent, r] : log)
        if (sent == "THREAD REFERENCES US-ASCII ALL" && ++seen == 2) after = r;
    CHECK(after.untagged == Lines{"* THREAD (2 1)"});
    CHECK(log.back().first == "LOGOUT");
    CHECK(log.back().second.tagged.find("OK") != std::string::npos);
}
