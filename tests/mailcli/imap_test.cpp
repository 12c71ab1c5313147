// imap_test.cpp: mailcli's IMAP pieces that need no server: the search language's
// translation (terms, and/or/not, grouping, dates, sizes, UTF-8 literals, errors), command
// arguments (atoms, quoted strings, literals), the flag letters of Maildir, batches and UID
// sets of the parallel download, Maildir files named by UID (store, index, flags, tmp
// cleaning) and mbox splitting.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mailcli/errors.h"
#include "mailcli/imap_client.h"
#include "mailcli/imap_download.h"
#include "mailcli/parallel_download.h"
#include "mailcli/imap_query.h"
#include "mailcli/maildir.h"
#include "mailcli/mbox.h"

using namespace hikyaku::mailcli;
using namespace std::chrono;

namespace {

const sys_days kToday = sys_days(year(2026) / 11 / 30);

std::string keys(std::string_view query) { return translate_search_query(query, kToday).shown(); }

std::string usage_error(std::string_view query) {
    try {
        (void)translate_search_query(query, kToday);
    } catch (const CliError& e) {
        CHECK(e.code() == ExitCode::usage);
        return e.what();
    }
    return "no error";
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/mailcli-imap-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("search queries become IMAP SEARCH keys") {
    CHECK(keys("") == "ALL");
    CHECK(keys("from:alice subject:\"q3 report\" since:2026-01-01 unseen larger:1M") ==
          "FROM alice SUBJECT \"q3 report\" SINCE 1-Jan-2026 UNSEEN LARGER 1048576");
    CHECK(keys("from:alice or from:bob") == "OR FROM alice FROM bob");
    CHECK(keys("from:alice and not flagged") == "FROM alice NOT FLAGGED");
    CHECK(keys("-seen SMALLER:10k") == "NOT SEEN SMALLER 10240");
    CHECK(keys("(from:a subject:b) or to:c") == "OR (FROM a SUBJECT b) TO c");
    CHECK(keys("from:a or to:b or cc:c") == "OR OR FROM a TO b CC c");
    CHECK(keys("not (seen or flagged) body:x") == "NOT OR SEEN FLAGGED BODY x");
    CHECK(keys("hello \"or\"") == "TEXT hello TEXT or");  // a quoted operator is a word
    CHECK(keys("\"from:x\"") == "TEXT from:x");           // a quoted word is text, never a term
    CHECK(keys("uid:1:5,9 keyword:$Label1 header:List-Id:dev") == "UID 1:5,9 KEYWORD $Label1 HEADER List-Id dev");
    CHECK(keys("since:today before:yesterday on:7d sentsince:2w") ==
          "SINCE 30-Nov-2026 BEFORE 29-Nov-2026 ON 23-Nov-2026 SENTSINCE 16-Nov-2026");
    CHECK(keys("Subject:\"a \\\"quoted\\\" word\"") == "SUBJECT \"a \\\"quoted\\\" word\"");
    // UTF-8 goes as a literal, and the command asks for CHARSET UTF-8.
    const ImapCommand utf8 = translate_search_query("subject:Grüße", kToday);
    CHECK(utf8.needs_utf8());
    CHECK(utf8.has_literal());
    CHECK(utf8.shown() == "SUBJECT {7}[Grüße]");
    CHECK_FALSE(translate_search_query("subject:plain", kToday).needs_utf8());
}

TEST_CASE("search queries that are wrong say what") {
    CHECK(usage_error("since:2026-02-30").find("not a day") != std::string::npos);
    CHECK(usage_error("since:tomorrow").find("not a date") != std::string::npos);
    CHECK(usage_error("larger:1X").find("not a size") != std::string::npos);
    CHECK(usage_error("larger:99999999999G").find("not a size") != std::string::npos);
    CHECK(usage_error("frm:alice").find("unknown term") != std::string::npos);
    CHECK(usage_error("from:").find("needs a value") != std::string::npos);
    CHECK(usage_error("subject:\"open").find("not closed") != std::string::npos);
    CHECK(usage_error("(seen").find("not closed") != std::string::npos);
    CHECK(usage_error("seen)").find("unexpected") != std::string::npos);
    CHECK(usage_error("or seen").find("needs a term before") != std::string::npos);
    CHECK(usage_error("seen or").find("ends where a term") != std::string::npos);
    CHECK(usage_error("not").find("needs a term after") != std::string::npos);
    CHECK(usage_error("uid:1;2").find("not a UID set") != std::string::npos);
    CHECK(usage_error("keyword:a%b").find("not a keyword") != std::string::npos);
    // Nesting: at the bound and past it.
    std::string at(kMaxQueryDepth, '('), past(kMaxQueryDepth + 2, '(');
    at += "seen" + std::string(kMaxQueryDepth, ')');
    past += "seen" + std::string(kMaxQueryDepth + 2, ')');
    CHECK(keys(at) == "SEEN");
    CHECK(usage_error(past).find("too deep") != std::string::npos);
}

TEST_CASE("command arguments: atoms, quoted strings, literals") {
    CHECK(ImapCommand("SELECT").astring("INBOX").shown() == "SELECT INBOX");
    CHECK(ImapCommand("SELECT").astring("Sent Items").shown() == "SELECT \"Sent Items\"");
    CHECK(ImapCommand("SELECT").astring("a\"b\\c").shown() == "SELECT \"a\\\"b\\\\c\"");
    CHECK(ImapCommand("SELECT").astring("").shown() == "SELECT \"\"");
    CHECK(ImapCommand("X").astring("a*b").shown() == "X \"a*b\"");  // list wildcards are not atom chars
    const ImapCommand lit = ImapCommand("APPEND").astring("INBOX").literal("line\r\n");
    REQUIRE(lit.parts().size() == 2);
    CHECK(lit.parts()[1].is_literal);
    CHECK(lit.shown() == "APPEND INBOX {6}");
    CHECK(imap_quoted("x\ry") == std::nullopt);
    CHECK(imap_quoted("é") == std::nullopt);
    CHECK(imap_quoted("pw with \"quote\"") == "\"pw with \\\"quote\\\"\"");
}

TEST_CASE("flags: IMAP to Maildir letters and back") {
    CHECK(maildir_flags_of({"\\Seen", "\\Flagged", "$Forwarded", "\\Answered", "\\Draft", "\\Deleted", "\\Recent",
                            "$Label"}) == "DFPRST");
    CHECK(maildir_flags_of({"\\seen"}) == "S");
    CHECK(maildir_flags_of({}).empty());
    CHECK(imap_flags_of("DFPRSTa") ==
          std::vector<std::string>{"\\Draft", "\\Flagged", "$Forwarded", "\\Answered", "\\Seen", "\\Deleted"});
}

TEST_CASE("parallel download: batches and UID sets") {
    CHECK(uid_set_of({}).empty());
    CHECK(uid_set_of({1, 2, 3, 5, 7, 8}) == "1:3,5,7:8");
    CHECK(uid_set_of({4}) == "4");
    std::vector<DownloadItem> items;
    for (std::uint32_t uid = 1; uid <= kBatchMessages * 2 + 1; ++uid) items.push_back({uid, 10});
    auto batches = make_batches(items);
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].size() == kBatchMessages);  // at the bound
    CHECK(batches[2].size() == 1);               // past it: a new batch
    // By size: a message as large as the bound fills a batch; one larger is alone.
    batches = make_batches({{1, kBatchOctets / 2}, {2, kBatchOctets / 2}, {3, 1}, {4, kBatchOctets * 3}, {5, 1}});
    REQUIRE(batches.size() == 4);
    CHECK(batches[0].size() == 2);
    CHECK(batches[1].size() == 1);
    CHECK(batches[2].front().uid == 4);
    CHECK(batches[3].front().uid == 5);
    // Disjoint and complete.
    std::set<std::uint32_t> seen;
    for (const auto& b : make_batches(items)) {
        for (const auto& i : b) CHECK(seen.insert(i.uid).second);
    }
    CHECK(seen.size() == items.size());
    // Shared out: every one of N connections gets a batch, none larger than its share.
    batches = make_batches(std::vector<DownloadItem>(items.begin(), items.begin() + 10), 4);
    REQUIRE(batches.size() == 4);
    CHECK((batches[0].size() == 3 && batches[3].size() == 1));
    CHECK(make_batches(std::vector<DownloadItem>(items.begin(), items.begin() + 3), 8).size() == 3);
    CHECK(make_batches(items, 2).size() == 3);  // kBatchMessages still bounds a share
}

TEST_CASE("Maildir files named by UID") {
    TempDir t;
    const std::string dir = t.path + "/box";
    maildir_create(dir);
    const std::string a = maildir_store(dir, "message one\r\n", 7, "FS");
    const std::string b = maildir_store(dir, "message two\r\n", 12, "");
    CHECK(a.find("/cur/") != std::string::npos);
    CHECK(a.ends_with(",U=7,S=13:2,FS"));
    CHECK(b.ends_with(",U=12,S=13:2,"));
    {
        std::ofstream(dir + "/new/1.x.host") << "not synced";            // no UID
        std::ofstream(dir + "/cur/2.x.host,U=12,S=3:2,S") << "copy";     // the same UID twice
        std::ofstream(dir + "/cur/3.x.host,U=0:2,") << "zero";           // not a UID
        std::ofstream(dir + "/cur/4.x.host,U=99999999999:2,") << "big";  // out of range
        std::ofstream(dir + "/tmp/5.x.host,U=13,S=9") << "half";         // a killed run's
        std::ofstream(dir + "/tmp/6.x.host") << "someone else's";
    }
    std::vector<MaildirMessage> duplicates;
    auto index = maildir_uid_index(dir, &duplicates);
    REQUIRE(index.size() == 2);
    CHECK(index.at(7).flags == "FS");
    CHECK(index.at(12).uid == 12);
    CHECK(duplicates.size() == 1);
    CHECK(maildir_messages(dir).size() == 6);
    maildir_set_flags(dir, index.at(7), "RS");
    CHECK(index.at(7).path.ends_with(",U=7,S=13:2,RS"));
    CHECK(access(index.at(7).path.c_str(), F_OK) == 0);
    CHECK(access(a.c_str(), F_OK) != 0);
    CHECK(maildir_clean_tmp(dir) == 1);
    CHECK(access((dir + "/tmp/6.x.host").c_str(), F_OK) == 0);
}

TEST_CASE("mbox files split into messages") {
    const std::string mbox =
        "From a@x Thu Nov 26 15:00:00 2026\nSubject: one\nStatus: RO\n\n>From the start\n>>From twice\nbody\n\n"
        "From b@x Thu Nov 26 16:00:00 2026\r\nSubject: two\r\n\r\nbody\r\nFrom here, no blank line before\r\n"
        "text\nFrom inside a paragraph\n";
    const auto messages = split_mbox(mbox);
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].bytes == "Subject: one\r\nStatus: RO\r\n\r\nFrom the start\r\n>From twice\r\nbody\r\n");
    CHECK(messages[0].seen);
    CHECK_FALSE(messages[1].seen);
    CHECK(messages[1].bytes.starts_with("Subject: two\r\n\r\n"));
    CHECK(messages[1].bytes.ends_with("text\r\nFrom inside a paragraph\r\n"));
    CHECK(split_mbox("").empty());
    CHECK(split_mbox("no separator\n").empty());
    CHECK(to_crlf("a\nb\r\nc\n") == "a\r\nb\r\nc\r\n");
}
