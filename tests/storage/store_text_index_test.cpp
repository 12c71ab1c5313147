// store_text_index_test.cpp: the full-text index of IMAP SEARCH BODY/TEXT (schema version 6,
// issue 13). text_search_candidates answers a superset of the messages that hold a folded
// needle (here, with distinct texts, exactly them): body text decoded from its transfer
// encoding and charset, the header only when asked, nothing from non-text parts; needles under
// three characters are not answered (nullopt); expunged messages leave the index with their
// message; messages without an index row (stored before version 6, or with more text than the
// index takes) are always candidates, and index_pending_text (`mailctl index`) takes in those
// stored before; FTS5 syntax in a needle is taken literally. The in-memory backend has no
// index and says so. With index_text_when_idle (the daemons) a delivery only lists its
// message as pending and the writer takes it in between deliveries; it is a candidate all
// along.
//
// Must never: assert more than "a superset" where the index may over-report.
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "common/mime/search_text.h"
#include "storage/message.h"
#include "storage/schema.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

std::string message(const std::string& subject, const std::string& headers_and_body) {
    return "From: a@example.org\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n" +
           headers_and_body;
}

std::optional<std::vector<Uid>> candidates(TwoUsers<SqliteBackend>& f, std::string_view needle, bool with_header) {
    auto found = f.store->text_search_candidates(f.alice_inbox.id, mime::search_fold(needle), with_header);
    REQUIRE(found.ok());
    return *found;
}

Uid deliver_raw(TwoUsers<SqliteBackend>& f, const std::string& raw) {
    UserId rcpt[] = {f.alice.id};
    auto r = f.store->deliver(raw, rcpt, at(1700000000));
    REQUIRE(r.ok());
    return r->entries.front().uid;
}

std::int64_t count_rows(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    const std::int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

using Uids = std::optional<std::vector<Uid>>;

}  // namespace

TEST_CASE("text index: decoded text parts, the header only for TEXT, never attachments") {
    TwoUsers<SqliteBackend> f;
    const Uid plain =
        deliver_raw(f, message("weekly report", "Content-Type: text/plain\r\n\r\nThe quick brown fox\r\n"));
    const Uid qp = deliver_raw(f, message("greetings",
                                          "Content-Type: text/plain; charset=iso-8859-1\r\n"
                                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                          "Gr=FC=DFe aus K=F6ln, =C4PFEL\r\n"));
    const Uid b64 = deliver_raw(f, message("encoded",
                                           "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n"
                                           "\r\nc2VjcmV0IHBhc3N3b3JkIGhpbnQ=\r\n"));  // "secret password hint"
    const Uid attached =
        deliver_raw(f, message("with attachment",
                               "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                               "Content-Type: text/plain\r\n\r\nsee the file\r\n--b\r\n"
                               "Content-Type: application/octet-stream\r\n\r\nzebrafish inside\r\n--b--\r\n"));

    CHECK(candidates(f, "quick brown", false) == Uids(std::vector<Uid>{plain}));
    CHECK(candidates(f, "QUICK BROWN", false) == Uids(std::vector<Uid>{plain}));  // folded alike
    CHECK(candidates(f, "grüße aus köln", false) == Uids(std::vector<Uid>{qp}));  // charset and QP undone
    CHECK(candidates(f, "äpfel", false) == Uids(std::vector<Uid>{qp}));           // Ä folded
    CHECK(candidates(f, "password", false) == Uids(std::vector<Uid>{b64}));       // base64 undone
    CHECK(candidates(f, "see the file", false) == Uids(std::vector<Uid>{attached}));
    CHECK(candidates(f, "zebrafish", false) == Uids(std::vector<Uid>{}));  // not a text part
    // The subject is header text: TEXT finds it, BODY does not.
    CHECK(candidates(f, "weekly report", false) == Uids(std::vector<Uid>{}));
    CHECK(candidates(f, "weekly report", true) == Uids(std::vector<Uid>{plain}));
    CHECK(candidates(f, "example.org", true) == Uids(std::vector<Uid>{plain, qp, b64, attached}));
    // Another user's mail is not a candidate in alice's mailbox.
    UserId bob[] = {f.bob.id};
    REQUIRE(f.store->deliver(message("x", "\r\nThe quick brown fox\r\n"), bob, at(1700000000)).ok());
    CHECK(candidates(f, "quick brown", false) == Uids(std::vector<Uid>{plain}));
}

TEST_CASE("text index: short needles are not answered; FTS5 syntax in a needle is literal") {
    TwoUsers<SqliteBackend> f;
    const Uid quoted = deliver_raw(f, message("q", "\r\nhe said \"hi there\" AND left (NEAR the door*)\r\n"));
    deliver_raw(f, message("other", "\r\nnothing to see\r\n"));
    CHECK(candidates(f, "hi", false) == std::nullopt);
    CHECK(candidates(f, "", true) == std::nullopt);
    CHECK(candidates(f, "äö", false) == std::nullopt);  // two characters in four octets
    CHECK(candidates(f, "said \"hi", false) == Uids(std::vector<Uid>{quoted}));
    CHECK(candidates(f, "\" and left (near", false) == Uids(std::vector<Uid>{quoted}));
    CHECK(candidates(f, "door*)", false) == Uids(std::vector<Uid>{quoted}));
    CHECK(candidates(f, "body : x", false) == Uids(std::vector<Uid>{}));
}

TEST_CASE("text index: an expunged message leaves the index with its message") {
    TwoUsers<SqliteBackend> f;
    const Uid first = deliver_raw(f, message("a", "\r\nunique marker one\r\n"));
    const Uid second = deliver_raw(f, message("b", "\r\nunique marker two\r\n"));
    CHECK(count_rows(f.path, "SELECT count(*) FROM message_text") == 2);
    Uid gone[] = {first};
    REQUIRE(f.store->expunge(f.alice_inbox.id, gone).ok());
    CHECK(candidates(f, "unique marker", false) == Uids(std::vector<Uid>{second}));
    CHECK(count_rows(f.path, "SELECT count(*) FROM message_text") == 1);
    CHECK(count_rows(f.path, "SELECT count(*) FROM message_text WHERE message_text MATCH '\"marker one\"'") == 0);
}

TEST_CASE("text index: messages without an index row are always candidates") {
    TwoUsers<SqliteBackend> f;
    const Uid indexed = deliver_raw(f, message("a", "\r\nalpha beta gamma\r\n"));
    SUBCASE("stored before schema version 6") {
        const Uid old = deliver_raw(f, message("b", "\r\ndelta epsilon\r\n"));
        {
            // As the version 6 migration leaves a message stored before it.
            sqlite3* db = nullptr;
            REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
            const std::string sql =
                "DELETE FROM message_text WHERE rowid = (SELECT message_id FROM entries WHERE uid = " +
                std::to_string(old) +
                "); INSERT INTO unindexed_text(message_id) SELECT message_id FROM entries "
                "WHERE uid = " +
                std::to_string(old);
            char* error = nullptr;
            REQUIRE_MESSAGE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK,
                            std::string(error ? error : ""));
            sqlite3_close(db);
        }
        CHECK(candidates(f, "alpha beta", false) == Uids(std::vector<Uid>{indexed, old}));
        CHECK(candidates(f, "no such text", true) == Uids(std::vector<Uid>{old}));
        CHECK(f.store->stats()->unindexed_pending == 1);
        // `mailctl index` takes it in; then the index answers for it too.
        auto step = f.store->index_pending_text(10);
        REQUIRE(step.ok());
        CHECK(step->indexed == 1);
        CHECK(step->unindexable == 0);
        CHECK(step->remaining == 0);
        CHECK(f.store->stats()->unindexed_pending == 0);
        CHECK(candidates(f, "no such text", true) == Uids(std::vector<Uid>{}));
        CHECK(candidates(f, "delta epsilon", false) == Uids(std::vector<Uid>{old}));
        CHECK(f.store->index_pending_text(10)->indexed == 0);
        // Its deletion empties unindexed_text too.
        Uid gone[] = {old};
        REQUIRE(f.store->expunge(f.alice_inbox.id, gone).ok());
        CHECK(count_rows(f.path, "SELECT count(*) FROM unindexed_text") == 0);
    }
    SUBCASE("more text than the index takes") {
        std::string big = message("big", "\r\n");
        const std::string line(998, 'z');
        while (big.size() <= kMaxIndexedText + 4096) big += line + "\r\n";
        const StoredMessage prepared = prepare_message(big);
        CHECK(prepared.structure.has_value());
        CHECK_FALSE(prepared.search_text.has_value());
        const Uid large = deliver_raw(f, big);
        CHECK(candidates(f, "alpha beta", false) == Uids(std::vector<Uid>{indexed, large}));
        CHECK(count_rows(f.path, "SELECT count(*) FROM unindexed_text") == 1);
        // Not pending: indexing finds nothing to do, and the message stays a candidate.
        CHECK(f.store->stats()->unindexed_pending == 0);
        CHECK(f.store->index_pending_text(10)->unindexable == 0);
        {
            // As if it had been stored before version 6: indexing tries and gives up on it.
            sqlite3* db = nullptr;
            REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
            REQUIRE(sqlite3_exec(db, "UPDATE unindexed_text SET pending = 1", nullptr, nullptr, nullptr) == SQLITE_OK);
            sqlite3_close(db);
        }
        auto step = f.store->index_pending_text(10);
        REQUIRE(step.ok());
        CHECK(step->unindexable == 1);
        CHECK(step->remaining == 0);
        CHECK(candidates(f, "alpha beta", false) == Uids(std::vector<Uid>{indexed, large}));
    }
    SUBCASE("a large attachment does not keep the text out of the index") {
        std::string mixed = message("mixed",
                                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                                    "Content-Type: text/plain\r\n\r\nsee the attached archive\r\n--b\r\n"
                                    "Content-Type: application/octet-stream\r\n"
                                    "Content-Transfer-Encoding: base64\r\n\r\n");
        const std::string line(76, 'A');
        while (mixed.size() <= kMaxIndexedText + 2 * 4096) mixed += line + "\r\n";
        mixed += "--b--\r\n";
        const StoredMessage prepared = prepare_message(mixed);
        REQUIRE(prepared.search_text.has_value());
        CHECK(prepared.search_text->body.find("see the attached archive") != std::string::npos);
        const Uid uid = deliver_raw(f, mixed);
        CHECK(candidates(f, "attached archive", false) == Uids(std::vector<Uid>{uid}));
    }
    SUBCASE("text stored as more octets than the index takes is not decoded") {
        // base64 of 3.5 MiB of text: under the limit once decoded, over it as stored.
        std::string encoded = message("b64", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        const std::string line = "dGV4dCB0ZXh0IHRleHQgdGV4dCB0ZXh0IHRleHQgdGV4dCB0ZXh0IHRleHQgdGV4dCB0ZXh0IHRl";
        while (encoded.size() <= kMaxIndexedText + 4096) encoded += line + "\r\n";
        CHECK_FALSE(prepare_message(encoded).search_text.has_value());
    }
    SUBCASE("a message whose text just fits is indexed") {
        std::string fits = message("fits", "\r\n");
        const std::string line(998, 'y');
        // The searchable text is the body plus one newline per text part; CRLF stays as is.
        while (fits.size() + line.size() + 2 < kMaxIndexedText) fits += line + "\r\n";
        CHECK(prepare_message(fits).search_text.has_value());
    }
}

TEST_CASE("text index: the in-memory backend has none") {
    TwoUsers<MemoryBackend> f;
    f.deliver(f.alice.id, "m");
    auto found = f.store->text_search_candidates(f.alice_inbox.id, "body of", false);
    REQUIRE(found.ok());
    CHECK_FALSE(found->has_value());
}

TEST_CASE("text index: a version 5 store migrates with its messages pending, and searches still find them") {
    TwoUsers<SqliteBackend> f;
    const Uid first = deliver_raw(f, message("a", "\r\nmigrated words here\r\n"));
    const Uid second = deliver_raw(f, message("b", "\r\nsomething else\r\n"));
    f.store.reset();
    {
        // Back to version 5, as an older build left the store.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db,
                             "DROP TRIGGER message_text_dropped; DROP TABLE message_text; DROP TABLE unindexed_text; "
                             "ALTER TABLE users DROP COLUMN quota_messages; PRAGMA user_version = 5",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    f.store = open_test_store(f.path, test_options(f.path));
    CHECK(f.store->stats()->schema_version == schema_version());  // 6 and every later one
    CHECK(f.store->stats()->unindexed_pending == 2);
    CHECK(candidates(f, "migrated words", false) == Uids(std::vector<Uid>{first, second}));
    auto step = f.store->index_pending_text(1);  // one at a time: progress is reported
    REQUIRE(step.ok());
    CHECK(step->indexed == 1);
    CHECK(step->remaining == 1);
    REQUIRE(f.store->index_pending_text(1)->remaining == 0);
    CHECK(candidates(f, "migrated words", false) == Uids(std::vector<Uid>{first}));
}

TEST_CASE("text index: filled in the writer's idle time, a candidate from its delivery on") {
    StoreOptions options = test_options("");
    options.index_text_when_idle = true;
    TwoUsers<SqliteBackend> f(options);
    std::vector<Uid> holding;
    // More than one idle step's worth (16), a few holding the needle.
    for (int i = 0; i < 40; ++i) {
        const bool needle = i % 10 == 3;
        const Uid uid =
            deliver_raw(f, message("m" + std::to_string(i), needle ? "\r\nthe quokka smiles\r\n"
                                                                   : "\r\nplain text " + std::to_string(i) + "\r\n"));
        if (needle) holding.push_back(uid);
        // Indexed or still pending, it is found from the moment its delivery returned.
        auto now = candidates(f, "quokka", false);
        REQUIRE(now.has_value());
        for (Uid u : holding) CHECK(std::find(now->begin(), now->end(), u) != now->end());
    }
    // The writer takes them in while nothing else is queued: wait for it (bounded).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (f.store->stats()->unindexed_pending > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(f.store->stats()->unindexed_pending == 0);
    CHECK(count_rows(f.path, "SELECT count(*) FROM unindexed_text") == 0);
    CHECK(count_rows(f.path, "SELECT count(*) FROM message_text") == 40);
    // Now the index alone answers: exactly the messages that hold it.
    CHECK(candidates(f, "quokka", false) == Uids(holding));
    CHECK(candidates(f, "plain text 17", false) == Uids(std::vector<Uid>{18}));
    // A message with more text than the index takes is listed for good, not pending.
    const std::string huge(5 * 1024 * 1024, 'x');
    const Uid big = deliver_raw(f, message("big", "\r\n" + huge + "\r\n"));
    const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count_rows(f.path, "SELECT count(*) FROM unindexed_text WHERE pending = 0") == 0 &&
           std::chrono::steady_clock::now() < later)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(f.store->stats()->unindexed_pending == 0);
    CHECK(count_rows(f.path, "SELECT count(*) FROM unindexed_text WHERE pending = 0") == 1);
    CHECK(candidates(f, "quokka", false) == Uids([&] {
              std::vector<Uid> v = holding;
              v.push_back(big);
              return v;
          }()));
}
