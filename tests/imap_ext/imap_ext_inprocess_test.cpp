// imap_ext_inprocess_test.cpp: imapd's extensions of issue 13 in process
// (tests/lib/session_harness.h, the memory store): each is announced and does what its RFC
// says, checked through the session as a client sees it. RFC 5032 (WITHIN), RFC 6154 3
// (CREATE-SPECIAL-USE), RFC 9208 (QUOTA), RFC 8474 (OBJECTID), RFC 8514 (SAVEDATE), RFC 8970
// (PREVIEW), RFC 3502 (MULTIAPPEND), RFC 6855 (UTF8=ACCEPT).
// Must never: depend on the wall clock for a verdict (the session's clock is fixed here; the
// store's save dates are only checked to lie between two readings).
#include <doctest/doctest.h>

#include <regex>

#include "imapd/imap_date.h"
#include "imapd/imap_session.h"
#include "tests/lib/session_harness.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

// 2023-11-14 22:13:20 UTC, the harness's delivery date.
constexpr std::int64_t kDeliveryTime = 1700000000;

struct Imap {
    test::InProcess world;
    imap::SessionSettings settings;
    std::chrono::sys_seconds now{std::chrono::seconds(kDeliveryTime + 3600)};
    std::shared_ptr<net::Connection> client;
    unsigned next_tag = 1;

    explicit Imap(const std::string& config = "") : world(config) {
        settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
        settings.clock = [this] { return now; };
        client = connect();
        REQUIRE(greeting(*client).rfind("* OK", 0) == 0);
        REQUIRE(ok(command(*client, "LOGIN alice@example.test alice-pw")));
    }
    std::shared_ptr<net::Connection> connect() {
        auto environment = world.environment();
        const imap::SessionSettings* s = &settings;
        return world.connect([s, environment](std::shared_ptr<net::Connection> c) {
            return imap::run_imap_session(std::move(c), *s, environment);
        });
    }
    std::string greeting(net::Connection& c) {
        std::string line;
        REQUIRE(world.run([&]() -> asio::awaitable<void> { line = (co_await c.read_line(65536)).text; }));
        return line;
    }
    // Sends "tag text" and returns every line up to and including the tagged one.
    std::vector<std::string> command(net::Connection& c, const std::string& text) {
        const std::string tag = "t" + std::to_string(next_tag++);
        std::vector<std::string> lines;
        const bool finished = world.run([&]() -> asio::awaitable<void> {
            c.write(tag + " " + text + "\r\n");
            const bool sent = co_await c.flush();
            if (!sent) co_return;
            for (int i = 0; i < 10000; ++i) {
                net::Line l = co_await c.read_line(1 << 20);
                if (!l.ok()) co_return;
                lines.push_back(l.text);
                if (l.text.rfind(tag + " ", 0) == 0) co_return;
            }
        });
        REQUIRE(finished);
        REQUIRE_MESSAGE(!lines.empty(), text);
        // The tag is replaced by "T" so the tests read the same whatever the numbering.
        lines.back() = "T" + lines.back().substr(tag.size());
        return lines;
    }
    std::vector<std::string> command(const std::string& text) { return command(*client, text); }
    static bool ok(const std::vector<std::string>& lines) { return lines.back().rfind("T OK", 0) == 0; }
    // The one untagged line matching `pattern` (searched), or "".
    static std::string find(const std::vector<std::string>& lines, const std::string& pattern) {
        const std::regex re(pattern, std::regex::icase);
        for (const auto& l : lines)
            if (std::regex_search(l, re)) return l;
        return "";
    }
    std::string capabilities() { return find(command("CAPABILITY"), "^\\* CAPABILITY "); }
    void deliver(const std::string& subject, const std::string& body = "hello\r\n") {
        world.deliver("From: a@example.test\r\nSubject: " + subject + "\r\n\r\n" + body, {"alice@example.test"});
    }
};

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

// ---- WITHIN (RFC 5032) ---------------------------------------------------------------------------

TEST_CASE("WITHIN: OLDER and YOUNGER count seconds back from the session's now, by INTERNALDATE") {
    Imap imap;
    CHECK(imap.capabilities().find(" WITHIN") != std::string::npos);
    REQUIRE(imap.ok(imap.command("SELECT INBOX")));
    // Three messages, 3 hours, 1 hour and 10 seconds old.
    for (int age : {10800, 3600, 10}) {
        const auto when = std::chrono::system_clock::to_time_t(imap.now - std::chrono::seconds(age));
        std::tm tm{};
        gmtime_r(&when, &tm);
        char date[64];
        std::strftime(date, sizeof date, "%d-%b-%Y %H:%M:%S +0000", &tm);
        const std::string message = "Subject: age " + std::to_string(age) + "\r\n\r\nx\r\n";
        REQUIRE(imap.ok(imap.command("APPEND INBOX \"" + std::string(date) + "\" {" + std::to_string(message.size()) +
                                     "+}\r\n" + message)));
    }
    auto search = [&](const std::string& keys) { return imap.find(imap.command("SEARCH " + keys), "^\\* SEARCH"); };
    CHECK(search("OLDER 3600") == "* SEARCH 1 2");  // exactly 3600 s old is OLDER 3600
    CHECK(search("OLDER 3601") == "* SEARCH 1");
    CHECK(search("YOUNGER 3600") == "* SEARCH 3");  // YOUNGER is strictly younger
    CHECK(search("YOUNGER 3601") == "* SEARCH 2 3");
    CHECK(search("YOUNGER 5") == "* SEARCH");
    CHECK(search("NOT OLDER 10800") == "* SEARCH 2 3");
    // The clock moves: the same key finds more.
    imap.now += std::chrono::seconds(7200);
    CHECK(search("OLDER 7210") == "* SEARCH 1 2 3");
    // RFC 5032 4: the interval is nz-number.
    CHECK(imap.command("SEARCH OLDER 0").back().rfind("T BAD", 0) == 0);
    CHECK(imap.command("SEARCH YOUNGER x").back().rfind("T BAD", 0) == 0);
}

// ---- CREATE-SPECIAL-USE (RFC 6154 3) ---------------------------------------------------------------

TEST_CASE("CREATE-SPECIAL-USE: CREATE (USE (...)) sets the attribute; NO [USEATTR] creates nothing") {
    Imap imap;
    CHECK(imap.capabilities().find(" CREATE-SPECIAL-USE") != std::string::npos);
    // A new user has Sent, Drafts, Trash, Junk and Archive; free \\Sent and \\Trash first.
    REQUIRE(imap.ok(imap.command("DELETE Sent")));
    REQUIRE(imap.ok(imap.command("DELETE Trash")));
    auto created = imap.command("CREATE Outbox (USE (\\Sent))");
    REQUIRE_MESSAGE(imap.ok(created), joined(created));
    CHECK(imap.find(imap.command("LIST \"\" Outbox RETURN (SPECIAL-USE)"), "^\\* LIST") ==
          "* LIST (\\HasNoChildren \\Sent) \"/\" Outbox");
    // The attribute is case-insensitive.
    REQUIRE(imap.ok(imap.command("CREATE Bin (USE (\\trash))")));
    CHECK(imap.find(imap.command("LIST (SPECIAL-USE) \"\" *"), "Bin") == "* LIST (\\HasNoChildren \\Trash) \"/\" Bin");
    // Already used by another mailbox.
    CHECK(imap.command("CREATE Sent2 (USE (\\Sent))").back() == "T NO [USEATTR] \\Sent is already used by Outbox");
    CHECK(imap.command("CREATE Drafts2 (USE (\\Drafts))").back() ==
          "T NO [USEATTR] \\Drafts is already used by Drafts");
    // Not one the store can hold (\\All, \\Flagged: virtual mailboxes; an unknown one; two).
    CHECK(imap.command("CREATE Everything (USE (\\All))").back().rfind("T NO [USEATTR]", 0) == 0);
    CHECK(imap.command("CREATE Starred (USE (\\Flagged))").back().rfind("T NO [USEATTR]", 0) == 0);
    CHECK(imap.command("CREATE Odd (USE (\\Whatever))").back().rfind("T NO [USEATTR]", 0) == 0);
    CHECK(imap.command("CREATE Two (USE (\\Sent \\Junk))").back().rfind("T NO [USEATTR]", 0) == 0);
    // None of the refused ones exists.
    const std::string listing = joined(imap.command("LIST \"\" *"));
    for (const char* name : {"Sent2", "Drafts2", "Everything", "Starred", "Odd", "Two"})
        CHECK_MESSAGE(listing.find(std::string("\" ") + name + "\n") == std::string::npos, name);
    // Syntax: USE needs a list of attributes.
    CHECK(imap.command("CREATE X (USE ())").back().rfind("T BAD", 0) == 0);
    CHECK(imap.command("CREATE X (USE \\Sent)").back().rfind("T BAD", 0) == 0);
}

// ---- QUOTA (RFC 9208) --------------------------------------------------------------------------------

TEST_CASE("QUOTA: one root per user with STORAGE in KiB and MESSAGE from the store; SETQUOTA refused") {
    Imap imap;
    const std::string caps = imap.capabilities();
    CHECK(caps.find(" QUOTA ") != std::string::npos);
    CHECK(caps.find(" QUOTA=RES-STORAGE") != std::string::npos);
    CHECK(caps.find(" QUOTA=RES-MESSAGE") != std::string::npos);

    SUBCASE("no limit: no quota root") {
        auto lines = imap.command("GETQUOTAROOT INBOX");
        CHECK(joined(lines) == "* QUOTAROOT INBOX\nT OK Getquotaroot completed\n");
        CHECK(imap.command("GETQUOTA \"\"").back().rfind("T NO [NONEXISTENT]", 0) == 0);
    }
    SUBCASE("a limit: usage rounded up, the limit down, both in KiB") {
        REQUIRE(imap.world.store().set_quota("alice@example.test", 10 * 1024 + 1000).ok());
        imap.deliver("one", std::string(1500, 'x') + "\r\n");
        auto usage = imap.world.store().quota_usage(imap.world.store().find_user("alice@example.test")->id);
        REQUIRE(usage.ok());
        const std::string used = std::to_string((usage->used_bytes + 1023) / 1024);
        auto lines = imap.command("GETQUOTAROOT inbox");
        CHECK(joined(lines) ==
              "* QUOTAROOT INBOX \"\"\n* QUOTA \"\" (STORAGE " + used + " 10)\nT OK Getquotaroot completed\n");
        CHECK(joined(imap.command("GETQUOTA \"\"")) ==
              "* QUOTA \"\" (STORAGE " + used + " 10)\nT OK Getquota completed\n");
        CHECK(imap.command("GETQUOTA \"other\"").back().rfind("T NO [NONEXISTENT]", 0) == 0);
        REQUIRE(imap.ok(imap.command("CREATE Archive")));
        CHECK(imap.find(imap.command("GETQUOTAROOT Archive"), "QUOTAROOT") == "* QUOTAROOT Archive \"\"");
        CHECK(imap.command("GETQUOTAROOT Missing").back().rfind("T NO [NONEXISTENT]", 0) == 0);

        // [OVERQUOTA]: an APPEND that does not fit is refused before its data is sent, and a
        // COPY that does not fit is refused whole.
        auto append = imap.command("APPEND INBOX {20000}");
        CHECK(append.back().rfind("T NO [OVERQUOTA]", 0) == 0);
        const std::string big = "Subject: big\r\n\r\n" + std::string(6000, 'y') + "\r\n";
        REQUIRE(imap.ok(imap.command("APPEND INBOX {" + std::to_string(big.size()) + "+}\r\n" + big)));
        REQUIRE(imap.ok(imap.command("SELECT INBOX")));
        CHECK(imap.command("COPY 2 Archive").back().rfind("T NO [OVERQUOTA]", 0) == 0);
        CHECK(imap.find(imap.command("STATUS Archive (MESSAGES)"), "STATUS") == "* STATUS Archive (MESSAGES 0)");
    }
    SUBCASE("a message limit alone: MESSAGE only; with a byte limit too: both") {
        const auto alice = imap.world.store().find_user("alice@example.test")->id;
        imap.deliver("one", "x\r\n");
        REQUIRE(imap.world.store().set_quota("alice@example.test", 0, 2).ok());
        CHECK(joined(imap.command("GETQUOTAROOT INBOX")) ==
              "* QUOTAROOT INBOX \"\"\n* QUOTA \"\" (MESSAGE 1 2)\nT OK Getquotaroot completed\n");
        REQUIRE(imap.world.store().set_quota("alice@example.test", 4096).ok());  // the message limit stays
        const std::string used = std::to_string((imap.world.store().quota_usage(alice)->used_bytes + 1023) / 1024);
        CHECK(joined(imap.command("GETQUOTA \"\"")) ==
              "* QUOTA \"\" (STORAGE " + used + " 4 MESSAGE 1 2)\nT OK Getquota completed\n");
        // The second message fills the quota; a third is refused before its data, and a
        // MULTIAPPEND of two when one fits stores neither.
        REQUIRE(imap.ok(imap.command("APPEND INBOX {14+}\r\nSubject: x\r\n\r\n")));
        CHECK(imap.command("APPEND INBOX {14}").back() == "T NO [OVERQUOTA] Message quota reached");
        REQUIRE(imap.ok(imap.command("SELECT INBOX")));
        REQUIRE(imap.ok(imap.command("STORE 2 +FLAGS.SILENT (\\Deleted)")));
        REQUIRE(imap.ok(imap.command("EXPUNGE")));
        CHECK(imap.command("APPEND INBOX {14+}\r\nSubject: y\r\n\r\n {14+}\r\nSubject: z\r\n\r\n")
                  .back()
                  .rfind("T NO [OVERQUOTA]", 0) == 0);
        CHECK(imap.world.store().quota_usage(alice)->messages == 1);
        REQUIRE(imap.world.store().set_quota("alice@example.test", 0, 0).ok());
        CHECK(joined(imap.command("GETQUOTAROOT INBOX")) == "* QUOTAROOT INBOX\nT OK Getquotaroot completed\n");
    }
    SUBCASE("SETQUOTA is the administrator's") {
        CHECK(imap.command("SETQUOTA \"\" (STORAGE 512)").back().rfind("T NO [NOPERM]", 0) == 0);
        CHECK(imap.command("SETQUOTA \"\" (MESSAGE 100)").back().rfind("T NO [NOPERM]", 0) == 0);
        CHECK(imap.command("SETQUOTA \"\" ()").back().rfind("T NO [NOPERM]", 0) == 0);
        CHECK(imap.command("SETQUOTA \"\" (STORAGE)").back().rfind("T BAD", 0) == 0);
        CHECK(imap.command("GETQUOTA").back().rfind("T BAD", 0) == 0);
    }
}

// ---- OBJECTID (RFC 8474) -----------------------------------------------------------------------------

TEST_CASE("OBJECTID: MAILBOXID on CREATE, SELECT and STATUS, kept by RENAME; EMAILID shared by copies") {
    Imap imap;
    CHECK(imap.capabilities().find(" OBJECTID") != std::string::npos);
    auto created = imap.command("CREATE Projects");
    REQUIRE(imap.ok(created));
    std::smatch m;
    const std::string tagged = created.back();
    REQUIRE(std::regex_search(tagged, m, std::regex("^T OK \\[MAILBOXID \\((M[0-9]+)\\)\\]")));
    const std::string id = m[1];
    CHECK(imap.find(imap.command("STATUS Projects (MAILBOXID MESSAGES)"), "STATUS") ==
          "* STATUS Projects (MAILBOXID (" + id + ") MESSAGES 0)");
    CHECK(imap.find(imap.command("SELECT Projects"), "MAILBOXID") == "* OK [MAILBOXID (" + id + ")] Mailbox ID");
    REQUIRE(imap.ok(imap.command("UNSELECT")));
    REQUIRE(imap.ok(imap.command("RENAME Projects Work")));
    CHECK(imap.find(imap.command("EXAMINE Work"), "MAILBOXID") == "* OK [MAILBOXID (" + id + ")] Mailbox ID");
    // Another mailbox has another id; one created again under the old name has a new one.
    const std::string inbox = imap.find(imap.command("STATUS INBOX (MAILBOXID)"), "STATUS");
    CHECK(inbox.find("(MAILBOXID (" + id + "))") == std::string::npos);
    auto again = imap.command("CREATE Projects");
    REQUIRE(imap.ok(again));
    CHECK(again.back().find(id) == std::string::npos);
    CHECK(imap.find(imap.command("LIST \"\" Work RETURN (STATUS (MAILBOXID))"), "STATUS") ==
          "* STATUS Work (MAILBOXID (" + id + "))");

    imap.deliver("first");
    imap.deliver("second");
    REQUIRE(imap.ok(imap.command("SELECT INBOX")));
    auto fetched = imap.command("FETCH 1:2 (EMAILID THREADID)");
    REQUIRE(fetched.size() == 3);
    std::smatch e1, e2;
    REQUIRE(std::regex_search(fetched[0], e1,
                              std::regex("^\\* 1 FETCH \\(EMAILID \\(([A-Za-z0-9_-]+)\\) THREADID NIL\\)$")));
    REQUIRE(std::regex_search(fetched[1], e2,
                              std::regex("^\\* 2 FETCH \\(EMAILID \\(([A-Za-z0-9_-]+)\\) THREADID NIL\\)$")));
    const std::string first = e1[1], second = e2[1];
    CHECK(first != second);
    // COPY and MOVE keep the EMAILID (the store's one stored copy).
    REQUIRE(imap.ok(imap.command("COPY 1 Work")));
    REQUIRE(imap.ok(imap.command("COPY 1 INBOX")));
    CHECK(imap.find(imap.command("FETCH 3 EMAILID"), "FETCH") == "* 3 FETCH (EMAILID (" + first + "))");
    CHECK(imap.find(imap.command("SEARCH EMAILID " + first), "SEARCH") == "* SEARCH 1 3");
    CHECK(imap.find(imap.command("UID SEARCH EMAILID " + second), "SEARCH") == "* SEARCH 2");
    CHECK(imap.find(imap.command("SEARCH EMAILID Enone"), "SEARCH") == "* SEARCH");
    CHECK(imap.find(imap.command("SEARCH THREADID T1"), "SEARCH") == "* SEARCH");
    REQUIRE(imap.ok(imap.command("EXAMINE Work")));
    CHECK(imap.find(imap.command("FETCH 1 (EMAILID)"), "FETCH") == "* 1 FETCH (EMAILID (" + first + "))");
    // RFC 8474 6: the argument is an objectid.
    CHECK(imap.command("SEARCH EMAILID \"x\"").back().rfind("T BAD", 0) == 0);
    CHECK(imap.command("SEARCH EMAILID").back().rfind("T BAD", 0) == 0);
}

// ---- SAVEDATE (RFC 8514) -----------------------------------------------------------------------------

TEST_CASE("SAVEDATE: when the message was saved in this mailbox, by delivery, APPEND, COPY and MOVE") {
    Imap imap;
    CHECK(imap.capabilities().find(" SAVEDATE") != std::string::npos);
    const auto wall = [] {
        return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    };
    const auto before = wall();
    imap.deliver("delivered");  // internal date 2023-11-14, saved now
    const std::string message = "Subject: appended\r\n\r\nx\r\n";
    REQUIRE(imap.ok(imap.command("APPEND INBOX \"01-Jan-2001 00:00:00 +0000\" {" + std::to_string(message.size()) +
                                 "+}\r\n" + message)));
    REQUIRE(imap.ok(imap.command("CREATE Kept")));
    REQUIRE(imap.ok(imap.command("SELECT INBOX")));
    REQUIRE(imap.ok(imap.command("COPY 1:2 Kept")));
    REQUIRE(imap.ok(imap.command("MOVE 2 Kept")));
    const auto after = wall();
    // Every save date lies between the two readings, whatever the internal date says.
    auto saved = [&](const std::string& line) {
        std::smatch m;
        REQUIRE_MESSAGE(std::regex_search(line, m, std::regex("SAVEDATE \"([^\"]+)\"")), line);
        auto parsed = imap::parse_date_time(m[1].str());
        REQUIRE(parsed);
        return parsed->utc;
    };
    for (const char* box : {"INBOX", "Kept"}) {
        REQUIRE(imap.ok(imap.command(std::string("EXAMINE ") + box)));
        auto lines = imap.command("FETCH 1:* (INTERNALDATE SAVEDATE)");
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
            CAPTURE(lines[i]);
            const auto at = saved(lines[i]);
            CHECK(at >= before);
            CHECK(at <= after);
        }
    }
    // The search keys, on the save date's day (UTC), and SAVEDATESUPPORTED for every mailbox.
    auto day = [](std::chrono::sys_seconds t, int offset) {  // "d-Mon-yyyy" of t's UTC day + offset
        std::string text = imap::format_date_time(imap::DateTime{t + std::chrono::days(offset), 0}).substr(0, 11);
        return text.substr(text.find_first_not_of(' '));
    };
    CHECK(imap.find(imap.command("SEARCH SAVEDATESUPPORTED"), "SEARCH") == "* SEARCH 1 2 3");
    if (std::chrono::floor<std::chrono::days>(before) == std::chrono::floor<std::chrono::days>(after)) {
        CHECK(imap.find(imap.command("SEARCH SAVEDON " + day(before, 0)), "SEARCH") == "* SEARCH 1 2 3");
        CHECK(imap.find(imap.command("SEARCH SAVEDSINCE " + day(before, 1)), "SEARCH") == "* SEARCH");
        CHECK(imap.find(imap.command("SEARCH SAVEDBEFORE " + day(before, 1)), "SEARCH") == "* SEARCH 1 2 3");
        CHECK(imap.find(imap.command("SEARCH SAVEDBEFORE " + day(before, 0)), "SEARCH") == "* SEARCH");
        // In Kept, 2 and 3 (the copy and the moved one) have the appended message's internal date,
        // 2001; their save date is today.
        CHECK(imap.find(imap.command("SEARCH SAVEDSINCE 1-Jan-2002 BEFORE 1-Jan-2002"), "SEARCH") == "* SEARCH 2 3");
    }
}

// ---- PREVIEW (RFC 8970) ------------------------------------------------------------------------------

TEST_CASE("PREVIEW: the first text part, decoded, whitespace collapsed, HTML without tags") {
    Imap imap;
    CHECK(imap.capabilities().find(" PREVIEW") != std::string::npos);
    imap.world.deliver(
        "Subject: plain\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Gr=FC=DFe  aus\r\n\r\n   K=F6ln=\r\n!\r\n",
        {"alice@example.test"});
    imap.world.deliver(
        "Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "PGh0bWw+PGhlYWQ+PHN0eWxlPnB7Y29sb3I6cmVkfTwvc3R5bGU+PC9oZWFkPjxib2R5PjxwPkhl\r\n"
        "bGxvICZhbXA7IDxiPndlbGNvbWU8L2I+PC9wPjwhLS0gaGlkZGVuIC0tPjxwPnRvIHVzPC9wPjwv\r\n"
        "Ym9keT48L2h0bWw+\r\n"
        "--b\r\nContent-Type: application/pdf\r\n\r\nxxx\r\n--b--\r\n",
        {"alice@example.test"});
    imap.world.deliver("Subject: none\r\nContent-Type: image/png\r\n\r\nxxx\r\n", {"alice@example.test"});
    imap.world.deliver("Subject: long\r\n\r\n" + std::string(400, 'a') + "\r\n", {"alice@example.test"});
    REQUIRE(imap.ok(imap.command("EXAMINE INBOX")));
    auto lines = imap.command("FETCH 1:4 (PREVIEW)");
    REQUIRE(lines.size() >= 5);
    // Non-ASCII text goes as a literal: "{n}" then the text on the next line.
    CHECK_MESSAGE(joined(lines).find("* 1 FETCH (PREVIEW {18}\nGrüße aus Köln!)\n") != std::string::npos,
                  joined(lines));
    CHECK(imap.find(lines, "^\\* 2 FETCH") == "* 2 FETCH (PREVIEW \"Hello & welcome to us\")");
    CHECK(imap.find(lines, "^\\* 3 FETCH") == "* 3 FETCH (PREVIEW \"\")");
    CHECK(imap.find(lines, "^\\* 4 FETCH") == "* 4 FETCH (PREVIEW \"" + std::string(256, 'a') + "\")");
    CHECK(imap.find(imap.command("FETCH 2 (PREVIEW (LAZY))"), "FETCH") ==
          "* 2 FETCH (PREVIEW \"Hello & welcome to us\")");
    CHECK(imap.command("FETCH 2 (PREVIEW (EAGER))").back().rfind("T BAD", 0) == 0);
}

// ---- MULTIAPPEND (RFC 3502) --------------------------------------------------------------------------

TEST_CASE("MULTIAPPEND: several messages in one APPEND, all or none, APPENDUID with the UID set") {
    Imap imap;
    CHECK(imap.capabilities().find(" MULTIAPPEND") != std::string::npos);
    REQUIRE(imap.ok(imap.command("CREATE Batch")));
    const std::string a = "Subject: a\r\n\r\none\r\n", b = "Subject: b\r\n\r\ntwo\r\n",
                      c = "Subject: c\r\n\r\nthree\r\n";
    auto literal = [](const std::string& m) { return "{" + std::to_string(m.size()) + "+}\r\n" + m; };
    auto appended = imap.command("APPEND Batch (\\Seen) " + literal(a) +
                                 " (\\Flagged $Work) \"02-Jan-2020 10:00:00 +0100\" " + literal(b) + " " + literal(c));
    REQUIRE(imap.ok(appended));
    std::smatch m;
    const std::string tagged = appended.back();
    REQUIRE(std::regex_search(tagged, m, std::regex("^T OK \\[APPENDUID ([0-9]+) 1:3\\] Append completed$")));
    REQUIRE(imap.ok(imap.command("EXAMINE Batch")));
    auto fetched = imap.command("FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    const std::string all = joined(fetched);
    CHECK_MESSAGE(
        all.find("* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"14-Nov-2023 23:13:20 +0000\"") != std::string::npos,
        all);
    CHECK_MESSAGE(all.find("* 2 FETCH (FLAGS (\\Flagged \\Recent $Work) INTERNALDATE \"02-Jan-2020 09:00:00 +0000\"") !=
                      std::string::npos,
                  all);
    CHECK(all.find("Subject: c") != std::string::npos);
    // Into a mailbox that does not exist: [TRYCREATE], nothing stored.
    CHECK(imap.command("APPEND Missing " + literal(a) + " " + literal(b)).back().rfind("T NO [TRYCREATE]", 0) == 0);

    SUBCASE("one that does not fit the quota refuses them all") {
        auto usage = imap.world.store().quota_usage(imap.world.store().find_user("alice@example.test")->id);
        REQUIRE(imap.world.store().set_quota("alice@example.test", usage->used_bytes + 3000).ok());
        const std::string big = "Subject: big\r\n\r\n" + std::string(2000, 'z') + "\r\n";
        // Each fits alone; together they do not.
        CHECK(imap.command("APPEND Batch " + literal(big) + " " + literal(big)).back().rfind("T NO [OVERQUOTA]", 0) ==
              0);
        CHECK(imap.find(imap.command("STATUS Batch (MESSAGES UIDNEXT)"), "STATUS") ==
              "* STATUS Batch (MESSAGES 3 UIDNEXT 4)");
    }
    SUBCASE("an empty message or a bad one refuses the command before anything is stored") {
        // A synchronizing empty literal: refused before "+", so the client sends no more of it
        // (a non-synchronizing one would close the connection, RFC 7888 4).
        CHECK(imap.command("APPEND Batch " + literal(a) + " {0}").back().rfind("T NO", 0) == 0);
        auto refused = imap.command("APPEND Batch " + literal(a) + " (\\Recent) " + literal(b));
        CHECK_MESSAGE(refused.back().rfind("T BAD", 0) == 0, joined(refused));
        CHECK(imap.find(imap.command("STATUS Batch (MESSAGES)"), "STATUS") == "* STATUS Batch (MESSAGES 3)");
    }
}

// ---- UTF8=ACCEPT (RFC 6855) --------------------------------------------------------------------------

TEST_CASE("UTF8=ACCEPT: ENABLE, UTF-8 mailbox names and quoted strings, APPEND UTF8, no SEARCH CHARSET") {
    Imap imap;
    CHECK(imap.capabilities().find(" UTF8=ACCEPT") != std::string::npos);
    // Before: names are modified UTF-7 and APPEND UTF8 is refused.
    REQUIRE(imap.ok(imap.command("CREATE \"Entw&APw-rfe\"")));
    CHECK(imap.find(imap.command("LIST \"\" Entw*"), "LIST") == "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe");
    const std::string utf8_message = "Subject: Grüße\r\nFrom: jöran@example.test\r\n\r\nHallo\r\n";
    auto utf8_literal = "UTF8 (~{" + std::to_string(utf8_message.size()) + "+}\r\n" + utf8_message + ")";
    CHECK(imap.command("APPEND INBOX " + utf8_literal).back().rfind("T BAD", 0) == 0);

    auto enabled = imap.command("ENABLE UTF8=ACCEPT");
    CHECK(joined(enabled) == "* ENABLED UTF8=ACCEPT\nT OK Enabled\n");
    CHECK(joined(imap.command("ENABLE UTF8=ACCEPT")) == "* ENABLED\nT OK Enabled\n");  // already on
    // Non-ASCII names go as literals (response_writer.h), valid with UTF8=ACCEPT too.
    CHECK(joined(imap.command("LIST \"\" Entw*")).find("* LIST (\\HasNoChildren) \"/\" {9}\nEntwürfe\n") !=
          std::string::npos);
    REQUIRE(imap.ok(imap.command("CREATE \"Größe/Übersicht\"")));
    CHECK(joined(imap.command("LIST \"\" Gr*/*")).find("\"/\" {18}\nGröße/Übersicht\n") != std::string::npos);
    REQUIRE(imap.ok(imap.command("SELECT \"Entwürfe\"")));
    auto appended = imap.command("APPEND \"Entwürfe\" " + utf8_literal);
    REQUIRE(imap.ok(appended));
    CHECK(imap.find(appended, "EXISTS") == "* 1 EXISTS");
    // Stored as sent: 8-bit header and all (RFC 6532), not turned into base64.
    auto body = imap.command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    CHECK(joined(body).find("Subject: Grüße") != std::string::npos);
    CHECK(imap.find(imap.command("SEARCH SUBJECT \"grüße\""), "SEARCH") == "* SEARCH 1");
    CHECK(imap.command("SEARCH CHARSET UTF-8 SUBJECT x").back().rfind("T BAD", 0) == 0);
    // A name that is not valid UTF-8 is refused.
    CHECK(imap.command("CREATE \"bad\xff\"").back().rfind("T NO", 0) == 0);
    // UTF8 takes a literal8.
    CHECK(imap.command("APPEND INBOX UTF8 ({5+}\r\nSub\r\n)").back().rfind("T BAD", 0) == 0);
}
