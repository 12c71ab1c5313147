// imap_condstore_test.cpp: imapd's CONDSTORE and QRESYNC (RFC 7162) in process
// (tests/lib/session_harness.h): transcripts over the memory transport against the real
// session and an in-memory store, with a second session making the changes "another client"
// makes. Mod-sequences are read from the store where a step needs one; elsewhere the
// transcripts match them with a pattern.
#include <doctest/doctest.h>

#include "imapd/imap_session.h"
#include "tests/lib/session_harness.h"
#include "tests/lib/transcript.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

std::string message(int n) {
    return "From: a@example.test\r\nTo: alice@example.test\r\nSubject: m" + std::to_string(n) + "\r\nMessage-ID: <m" +
           std::to_string(n) + "@example.test>\r\n\r\nbody " + std::to_string(n) + "\r\n";
}

const char* kSelectData =
    R"(S* ^\* (FLAGS|OK \[PERMANENTFLAGS|\d+ EXISTS|\d+ RECENT|OK \[UNSEEN|OK \[UIDVALIDITY|OK \[UIDNEXT|OK \[MAILBOXID)";

struct Imap {
    test::InProcess world{"[imapd]\n"};
    imap::SessionSettings settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
    storage::MailboxId inbox = 0;
    std::uint32_t uidvalidity = 0;

    explicit Imap(int messages) {
        for (int i = 1; i <= messages; ++i) world.deliver(message(i), {"alice@example.test"});
        auto user = world.store().find_user("alice@example.test");
        REQUIRE(user.ok());
        auto box = world.store().inbox(user->id);
        REQUIRE(box.ok());
        inbox = box->id;
        uidvalidity = box->uidvalidity;
        REQUIRE(world.store().claim_recent(inbox).ok());  // no \Recent in the transcripts
    }
    std::shared_ptr<net::Connection> connect() {
        auto environment = world.environment();
        const imap::SessionSettings* s = &settings;
        return world.connect([s, environment](std::shared_ptr<net::Connection> c) {
            return imap::run_imap_session(std::move(c), *s, environment);
        });
    }
    storage::ModSeq highest() { return world.store().mailbox_status(inbox)->highestmodseq; }
    storage::ModSeq modseq_of(storage::Uid uid) {
        const storage::UidRange one[] = {{uid, uid}};
        auto entries = world.store().fetch_entries(inbox, one);
        REQUIRE(entries.ok());
        REQUIRE(entries->size() == 1);
        return entries->front().modseq;
    }
    // Runs the transcript text over `client`; "" when every step held. "{select-data}" stands
    // for the untagged data of a SELECT that the test does not look at ("-but-modseq": all but
    // HIGHESTMODSEQ, which the next line checks).
    static asio::awaitable<std::string> talk(net::Connection& client, std::string text) {
        replace_all(text, "{select-data}", std::string(kSelectData) + "|OK \\[HIGHESTMODSEQ)");
        replace_all(text, "{select-data-but-modseq}", std::string(kSelectData) + ")");
        co_return co_await test::run_transcript(client, test::parse_transcript(text, "inline"));
    }
    static void replace_all(std::string& text, const std::string& from, const std::string& to) {
        for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    }
};

const char* kLogin = R"(S~ ^\* OK
C: a LOGIN alice@example.test alice-pw
S~ ^a OK \[CAPABILITY .* CONDSTORE QRESYNC
)";

}  // namespace

TEST_CASE("CONDSTORE: HIGHESTMODSEQ in SELECT and STATUS, MODSEQ in FETCH, CHANGEDSINCE") {
    Imap imap(3);
    auto client = imap.connect();
    std::string step1, step2, step3;
    const std::string highest = std::to_string(imap.highest());
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        step1 = co_await Imap::talk(*client, std::string(kLogin) + R"(C: s STATUS INBOX (MESSAGES HIGHESTMODSEQ)
S: * STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ )" + highest +
                                                 R"()
S: s OK Status completed
C: b SELECT INBOX
{select-data-but-modseq}
S: * OK [HIGHESTMODSEQ )" + highest + R"(] Highest
S: b OK [READ-WRITE] Select completed
C: c FETCH 1:3 (UID MODSEQ)
S~ ^\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$
S~ ^\* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)$
S~ ^\* 3 FETCH \(UID 3 MODSEQ \(\d+\)\)$
S: c OK Fetch completed
C: d STORE 2 +FLAGS (\Flagged)
S~ ^\* 2 FETCH \(UID 2 MODSEQ \(\d+\) FLAGS \(\\Flagged\)\)$
S: d OK Store completed
)");
        // Enabled by STATUS: UID and MODSEQ in every FETCH a STORE answers with (3.1).
        const std::string m2 = std::to_string(imap.modseq_of(2));
        step2 = co_await Imap::talk(*client, R"(C: e FETCH 1:* (FLAGS) (CHANGEDSINCE )" + highest + R"()
S: * 2 FETCH (FLAGS (\Flagged) MODSEQ ()" + m2 + R"())
S: e OK Fetch completed
C: f UID FETCH 1:* (FLAGS) (CHANGEDSINCE )" + m2 +
                                                 R"()
S: f OK Fetch completed
)");
        // A FETCH that sets \Seen tells the new MODSEQ with the FLAGS.
        step3 = co_await Imap::talk(*client, R"(C: g FETCH 3 (BODY[TEXT])
S: * 3 FETCH (BODY[TEXT] {8}
S: body 3
S~ ^ FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$
S: g OK Fetch completed
C: h LOGOUT
S~ ^\* BYE
S: h OK Logout completed
)");
    }));
    CHECK(step1 == "");
    CHECK(step2 == "");
    CHECK(step3 == "");
}

TEST_CASE("CONDSTORE: the first enabling command while selected sends HIGHESTMODSEQ, once") {
    Imap imap(2);
    auto client = imap.connect();
    std::string result;
    const std::string highest = std::to_string(imap.highest());
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        result = co_await Imap::talk(*client, std::string(kLogin) + R"(C: b EXAMINE INBOX
{select-data-but-modseq}
S: * OK [HIGHESTMODSEQ )" + highest + R"(] Highest
S: b OK [READ-ONLY] Examine completed
C: c FETCH 1 (FLAGS)
S: * 1 FETCH (FLAGS ())
S: c OK Fetch completed
C: d FETCH 1 (MODSEQ)
S: * OK [HIGHESTMODSEQ )" + highest + R"(] Highest
S~ ^\* 1 FETCH \(MODSEQ \(\d+\)\)$
S: d OK Fetch completed
C: e FETCH 2 (MODSEQ)
S~ ^\* 2 FETCH \(MODSEQ \(\d+\)\)$
S: e OK Fetch completed
C: f ENABLE CONDSTORE
S: * ENABLED
S: f OK Enabled
)");
    }));
    CHECK(result == "");
}

TEST_CASE("CONDSTORE: STORE UNCHANGEDSINCE, [MODIFIED] by number or UID, .SILENT still tells MODSEQ") {
    Imap imap(3);
    auto client = imap.connect();
    std::string step1, step2;
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        step1 = co_await Imap::talk(*client, std::string(kLogin) + R"(C: b SELECT INBOX (CONDSTORE)
{select-data-but-modseq}
S~ ^\* OK \[HIGHESTMODSEQ \d+\]
S: b OK [READ-WRITE] Select completed
C: c STORE 2 +FLAGS.SILENT (\Answered)
S~ ^\* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)$
S: c OK Store completed
)");
        // Message 2 changed after this modseq; 1 and 3 did not.
        const std::string before = std::to_string(imap.modseq_of(2) - 1);
        step2 = co_await Imap::talk(*client, "C: d STORE 1:3 (UNCHANGEDSINCE " + before + R"() +FLAGS (\Seen)
S~ ^\* 1 FETCH \(UID 1 MODSEQ \(\d+\) FLAGS \(\\Seen\)\)$
S~ ^\* 3 FETCH \(UID 3 MODSEQ \(\d+\) FLAGS \(\\Seen\)\)$
S: d OK [MODIFIED 2] Conditional STORE failed
C: e UID STORE 2:3 (UNCHANGEDSINCE 1) -FLAGS.SILENT (\Seen)
S: e OK [MODIFIED 2:3] Conditional STORE failed
C: f STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\Flagged)
S: f OK [MODIFIED 1] Conditional STORE failed
C: g FETCH 2 (FLAGS)
S: * 2 FETCH (FLAGS (\Answered))
S: g OK Fetch completed
)");
    }));
    CHECK(step1 == "");
    CHECK(step2 == "");
}

TEST_CASE("CONDSTORE: SEARCH MODSEQ answers with the highest modseq of the matches") {
    Imap imap(4);
    auto client = imap.connect();
    std::string step1, step2;
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        step1 = co_await Imap::talk(*client, std::string(kLogin) + R"(C: b SELECT INBOX
{select-data}
S: b OK [READ-WRITE] Select completed
C: c STORE 3 +FLAGS.SILENT (\Seen)
S: c OK Store completed
C: d STORE 1 +FLAGS.SILENT (\Seen)
S: d OK Store completed
)");
        const std::string m1 = std::to_string(imap.modseq_of(1)), m3 = std::to_string(imap.modseq_of(3));
        step2 = co_await Imap::talk(*client, "C: e SEARCH SEEN MODSEQ " + m3 + R"(
S~ ^\* OK \[HIGHESTMODSEQ \d+\]
S: * SEARCH 1 3 (MODSEQ )" + m1 + R"()
S: e OK Search completed
C: f SEARCH SEEN
S: * SEARCH 1 3
S: f OK Search completed
C: g SEARCH MODSEQ 999999
S: * SEARCH
S: g OK Search completed
C: h SEARCH RETURN (MIN) MODSEQ "/flags/\\seen" all 1
S: * ESEARCH (TAG "h") MIN 1 MODSEQ )" + std::to_string(imap.modseq_of(1)) +
                                                 R"(
S: h OK Search completed
C: i SEARCH RETURN (MAX) SEEN MODSEQ 1
S: * ESEARCH (TAG "i") MAX 3 MODSEQ )" + m3 + R"(
S: i OK Search completed
C: j UID SEARCH RETURN (ALL COUNT) SEEN MODSEQ 1
S: * ESEARCH (TAG "j") UID COUNT 2 ALL 1,3 MODSEQ )" +
                                                 m1 + R"(
S: j OK Search completed
)");
    }));
    CHECK(step1 == "");
    CHECK(step2 == "");
}

TEST_CASE("QRESYNC: ENABLE, VANISHED instead of EXPUNGE, UID FETCH VANISHED, SELECT QRESYNC") {
    Imap imap(6);
    auto client = imap.connect();
    auto other = imap.connect();
    std::string step1, step2, step3, step4, step5;
    const std::string uidvalidity = std::to_string(imap.uidvalidity);
    std::string offline;  // the modseq the client remembers
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        step1 = co_await Imap::talk(*client, std::string(kLogin) + R"(C: b SELECT INBOX (QRESYNC (1 1))
S: b BAD QRESYNC parameter needs ENABLE QRESYNC first
C: c ENABLE QRESYNC
S: * ENABLED QRESYNC
S: c OK Enabled
C: d SELECT INBOX
{select-data}
S: d OK [READ-WRITE] Select completed
)");
        offline = std::to_string(imap.highest());
        // Another client: 2 and 5 expunged, 3 flagged.
        step2 = co_await Imap::talk(*other, std::string(kLogin) + R"(C: b SELECT INBOX
{select-data}
S: b OK [READ-WRITE] Select completed
C: c STORE 2,5 +FLAGS.SILENT (\Deleted)
S: c OK Store completed
C: d EXPUNGE
S: * 5 EXPUNGE
S: * 2 EXPUNGE
S: d OK Expunge completed
C: e STORE 2 +FLAGS.SILENT (\Flagged)
S: e OK Store completed
)");
        // The expunges as one VANISHED (after a command by number only at its end), the
        // flag change with UID and MODSEQ.
        step3 = co_await Imap::talk(*client, R"(C: e NOOP
S: * VANISHED 2,5
S~ ^\* 2 FETCH \(UID 3 MODSEQ \(\d+\) FLAGS \(\\Flagged\)\)$
S: e OK NOOP completed
C: f UID FETCH 1:* (FLAGS) (CHANGEDSINCE )" + offline +
                                                 R"( VANISHED)
S: * VANISHED (EARLIER) 2,5
S~ ^\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$
S: f OK Fetch completed
C: g UID FETCH 1:* (FLAGS) (CHANGEDSINCE )" + offline +
                                                 R"( VANISHED)
S: * VANISHED (EARLIER) 2,5
S~ ^\* 2 FETCH \(UID 3
S: g OK Fetch completed
C: h STORE 1 +FLAGS.SILENT (\Deleted)
S~ ^\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$
S: h OK Store completed
C: i EXPUNGE
S: * VANISHED 1
S~ ^i OK \[HIGHESTMODSEQ \d+\] Expunge completed$
)");
        // Back from "a week offline" with what it knew then: UIDs 1:6 at `offline`.
        step4 = co_await Imap::talk(*client, "C: j SELECT INBOX (QRESYNC (" + uidvalidity + " " + offline + R"( 1:6))
S: * OK [CLOSED] Previous mailbox closed
{select-data}
S: * VANISHED (EARLIER) 1:2,5
S~ ^\* 1 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$
S: j OK [READ-WRITE] Select completed
C: k SELECT INBOX (QRESYNC ()" + uidvalidity + " " +
                                                 offline + R"( 4:6))
S: * OK [CLOSED] Previous mailbox closed
{select-data}
S: * VANISHED (EARLIER) 5
S~ ^\* 1 FETCH \(UID 3
S: k OK [READ-WRITE] Select completed
)");
        // Another UIDVALIDITY: a plain SELECT. A modseq from now on: nothing to tell.
        step5 = co_await Imap::talk(*client, "C: l EXAMINE INBOX (QRESYNC (" + std::to_string(imap.uidvalidity + 1) +
                                                 " " + offline + R"( 1:6))
S: * OK [CLOSED] Previous mailbox closed
{select-data}
S: l OK [READ-ONLY] Examine completed
C: m EXAMINE INBOX (QRESYNC ()" + uidvalidity + " " +
                                                 std::to_string(imap.highest()) + R"())
S: * OK [CLOSED] Previous mailbox closed
{select-data}
S: m OK [READ-ONLY] Examine completed
C: n FETCH 1:* (UID)
S: * 1 FETCH (UID 3)
S: * 2 FETCH (UID 4)
S: * 3 FETCH (UID 6)
S: n OK Fetch completed
)");
    }));
    CHECK(step1 == "");
    CHECK(step2 == "");
    CHECK(step3 == "");
    CHECK(step4 == "");
    CHECK(step5 == "");
}

TEST_CASE("QRESYNC: VANISHED in UID FETCH needs ENABLE QRESYNC; the session goes on") {
    Imap imap(2);
    auto client = imap.connect();
    std::string result;
    const std::string before = std::to_string(imap.modseq_of(1) - 1);
    CHECK(imap.world.run([&]() -> asio::awaitable<void> {
        result = co_await Imap::talk(*client, std::string(kLogin) + R"(C: b SELECT INBOX
{select-data}
S: b OK [READ-WRITE] Select completed
C: c UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
S: c BAD VANISHED needs ENABLE QRESYNC first
C: d UID FETCH 1:* (FLAGS) (CHANGEDSINCE )" + before +
                                                  R"()
S~ ^\* OK \[HIGHESTMODSEQ \d+\]
S~ ^\* 1 FETCH \(UID 1 FLAGS \(\) MODSEQ \(\d+\)\)$
S~ ^\* 2 FETCH \(UID 2 FLAGS \(\) MODSEQ \(\d+\)\)$
S: d OK Fetch completed
C: e EXPUNGE
S: e OK Expunge completed
)");
    }));
    CHECK(result == "");
}
