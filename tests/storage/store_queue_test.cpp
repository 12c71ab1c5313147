// store_queue_test.cpp: the store's outbound queue role (storage/queue.h): a submission
// delivers to local users and queues remote recipients in one transaction (all or none);
// due entries, held entries, outcomes, notices stored with their outcome, mailctl's
// actions; the one stored copy kept while queued and dropped after; the change feed's
// "queued" heard by subscribers of every user only; a store of schema 2 migrated. Every case
// but the migration runs against both backends (SQLite and the memory store).
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "storage/schema.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

template <class B>
struct Fixture : BackendStore<B> {
    UserId alice = 0;
    Fixture() {
        auto& store = this->store;
        REQUIRE(store->add_domain("example.test").ok());
        auto u = store->add_user("alice@example.test", "pw-alice");
        REQUIRE(u.ok());
        alice = u->id;
    }
    TimePoint now() const {
        return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    }
};

QueueOutcome finished(QueueId id) {
    QueueOutcome o;
    o.kind = QueueOutcome::Kind::done;
    o.id = id;
    return o;
}

QueueOutcome deferred(QueueId id, TimePoint next, std::string reply) {
    QueueOutcome o;
    o.kind = QueueOutcome::Kind::deferred;
    o.id = id;
    o.next_attempt = next;
    o.last_reply = std::move(reply);
    return o;
}

OutboundEnvelope outbound(std::string sender, std::vector<std::string> recipients) {
    return OutboundEnvelope{std::move(sender), std::move(recipients)};
}

}  // namespace

TEST_CASE_TEMPLATE("a submission delivers locally and queues remote recipients, one stored copy", B, STORE_BACKENDS) {
    Fixture<B> f;
    const std::string raw = test_message("mixed");
    std::vector<UserId> local{f.alice};
    auto receipt =
        f.store->submit(raw, local, outbound("alice@example.test", {"bob@b.example", "carol@c.example"}), at(1000));
    REQUIRE_MESSAGE(receipt.ok(), receipt.error().message);
    CHECK(receipt->entries.size() == 1);
    REQUIRE(receipt->queued.size() == 2);
    auto queue = f.store->list_queue();
    REQUIRE(queue.ok());
    REQUIRE(queue->size() == 2);
    CHECK((*queue)[0].recipient == "bob@b.example");
    CHECK((*queue)[0].sender == "alice@example.test");
    CHECK((*queue)[0].message == receipt->message);
    CHECK((*queue)[1].message == receipt->message);
    CHECK((*queue)[0].attempts == 0);
    CHECK((*queue)[0].size == raw.size());
    CHECK_FALSE((*queue)[0].held);
    CHECK(f.store->stats()->messages == 1);
    CHECK(f.store->stats()->queued == 2);
    auto bytes = f.store->read_queued_message(receipt->message);
    REQUIRE(bytes.ok());
    CHECK(*bytes == raw);

    // Only remote recipients: no local delivery at all.
    auto remote_only = f.store->submit(raw, {}, outbound("", {"dave@d.example"}), at(1000));
    REQUIRE(remote_only.ok());
    CHECK(remote_only->entries.empty());
    CHECK(f.store->list_queue()->size() == 3);
}

TEST_CASE_TEMPLATE("a submission is all or none", B, STORE_BACKENDS) {
    Fixture<B> f;
    REQUIRE(f.store->set_quota("alice@example.test", 10).ok());
    const std::string before = f.snapshot();
    std::vector<UserId> local{f.alice};
    auto refused = f.store->submit(test_message("big"), local, outbound("x@y.example", {"bob@b.example"}), at(1));
    CHECK(refused.error().code == Errc::over_quota);
    CHECK(f.store->submit(test_message("bad"), {}, outbound("", {"not an address"}), at(1)).error().code ==
          Errc::invalid_argument);
    CHECK(f.store->submit(test_message("dup"), {}, outbound("", {"b@b.example", "b@b.example"}), at(1)).error().code ==
          Errc::invalid_argument);
    CHECK(f.store->submit(test_message("none"), {}, outbound("", {}), at(1)).error().code == Errc::invalid_argument);
    CHECK(f.snapshot() == before);
}

TEST_CASE_TEMPLATE("due entries, busy ones left out, held ones never; next_due", B, STORE_BACKENDS) {
    Fixture<B> f;
    CHECK(!f.store->next_due()->has_value());
    auto r = f.store->submit(test_message("due"), {},
                             outbound("a@x.example", {"b@b.example", "c@c.example", "d@d.example"}), at(1));
    REQUIRE(r.ok());
    const TimePoint now = f.now();
    auto due = f.store->due_recipients(now, 10, {});
    REQUIRE(due.ok());
    CHECK(due->size() == 3);
    std::vector<QueueId> busy{r->queued[0]};
    due = f.store->due_recipients(now, 10, busy);
    REQUIRE(due->size() == 2);
    CHECK((*due)[0].id == r->queued[1]);
    CHECK(f.store->due_recipients(now, 1, busy)->size() == 1);  // the limit counts only what is returned

    CHECK(f.store->control_queue(QueueAction::hold, r->queued[2]).value() == 1);
    CHECK(f.store->control_queue(QueueAction::hold, r->queued[2]).value() == 0);  // already held
    CHECK(f.store->due_recipients(now, 10, busy)->size() == 1);
    CHECK(f.store->find_queued(r->queued[2])->held);

    // Deferred into the future: not due; next_due says when.
    QueueOutcome later = deferred(r->queued[0], now + std::chrono::seconds(600), "451 4.3.0 later");
    QueueOutcome later2 = deferred(r->queued[1], now + std::chrono::seconds(300), "421 busy");
    std::vector<QueueOutcome> outcomes{later, later2};
    REQUIRE(f.store->settle(outcomes, {}).ok());
    CHECK(f.store->due_recipients(now, 10, {})->empty());
    CHECK(f.store->next_due()->value() == now + std::chrono::seconds(300));
    auto entry = f.store->find_queued(r->queued[0]);
    CHECK(entry->attempts == 1);
    CHECK(entry->last_reply == "451 4.3.0 later");

    // retry makes every entry not held due now; release brings the held one back.
    CHECK(f.store->control_queue(QueueAction::retry, std::nullopt).value() == 2);
    CHECK(f.store->due_recipients(f.now(), 10, {})->size() == 2);
    CHECK(f.store->control_queue(QueueAction::release, r->queued[2]).value() == 1);
    CHECK(f.store->due_recipients(f.now(), 10, {})->size() == 3);
    CHECK(f.store->control_queue(QueueAction::retry, QueueId{9999}).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("outcomes: done entries go, the message goes with the last; notices are stored with them", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    const std::string raw = test_message("settle");
    auto r = f.store->submit(raw, {}, outbound("alice@example.test", {"b@b.example", "c@c.example"}), at(1));
    REQUIRE(r.ok());
    const MessageId message = r->message;
    std::vector<QueueOutcome> first{finished(r->queued[0])};
    REQUIRE(f.store->settle(first, {}).ok());
    CHECK(f.store->list_queue()->size() == 1);
    CHECK(f.store->read_queued_message(message).ok());  // still referred to

    // The last one bounces: the bounce goes to alice's INBOX in the same write.
    const std::string bounce = test_message("bounce");
    Submission notice;
    notice.message = StoredMessage{bounce, std::nullopt, std::nullopt};
    notice.local = {f.alice};
    notice.internal_date = at(2);
    std::vector<QueueOutcome> last{finished(r->queued[1])};
    std::vector<Submission> notices{notice};
    REQUIRE(f.store->settle(last, notices).ok());
    CHECK(f.store->list_queue()->empty());
    CHECK(f.store->read_queued_message(message).error().code == Errc::not_found);
    CHECK(f.store->stats()->messages == 1);  // only the bounce is left
    auto inbox = f.store->find_mailbox(f.alice, "INBOX");
    CHECK(f.store->mailbox_status(inbox->id)->messages == 1);
    CHECK(f.store->integrity_check().ok());

    // A remote bounce (null sender) is queued; an unknown id is skipped.
    Submission remote;
    remote.message = StoredMessage{bounce, std::nullopt, std::nullopt};
    remote.outbound = outbound("", {"someone@far.example"});
    std::vector<QueueOutcome> unknown{finished(QueueId{424242})};
    std::vector<Submission> remote_notices{remote};
    REQUIRE(f.store->settle(unknown, remote_notices).ok());
    auto queue = f.store->list_queue();
    REQUIRE(queue->size() == 1);
    CHECK(queue->front().sender.empty());

    // A failing notice rolls the outcomes back with it.
    const std::string before = f.snapshot();
    Submission broken;
    broken.message = StoredMessage{bounce, std::nullopt, std::nullopt};
    broken.local = {UserId{777}};
    std::vector<QueueOutcome> drop{finished(queue->front().id)};
    std::vector<Submission> broken_notices{broken};
    CHECK(f.store->settle(drop, broken_notices).error().code == Errc::not_found);
    CHECK(f.snapshot() == before);
}

TEST_CASE_TEMPLATE("delete removes an entry and, with the last, its message; a local copy keeps it", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    std::vector<UserId> local{f.alice};
    auto r = f.store->submit(test_message("keep"), local, outbound("alice@example.test", {"b@b.example"}), at(1));
    REQUIRE(r.ok());
    CHECK(f.store->control_queue(QueueAction::remove, r->queued[0]).value() == 1);
    CHECK(f.store->list_queue()->empty());
    CHECK(f.store->stats()->messages == 1);  // alice's INBOX still has it
    CHECK(f.store->control_queue(QueueAction::remove, r->queued[0]).error().code == Errc::not_found);
    CHECK(f.store->control_queue(QueueAction::remove, std::nullopt).error().code == Errc::invalid_argument);

    auto alone = f.store->submit(test_message("alone"), {}, outbound("", {"b@b.example"}), at(1));
    REQUIRE(alone.ok());
    CHECK(f.store->stats()->messages == 2);
    CHECK(f.store->control_queue(QueueAction::remove, alone->queued[0]).value() == 1);
    CHECK(f.store->stats()->messages == 1);

    // Expunging alice's copy while a queue entry refers to the message keeps the message.
    auto both = f.store->submit(test_message("both"), local, outbound("alice@example.test", {"b@b.example"}), at(1));
    REQUIRE(both.ok());
    auto inbox = f.store->find_mailbox(f.alice, "INBOX");
    auto entries = f.store->fetch_entries(inbox->id, std::vector<UidRange>{{1, kMaxUid}});
    std::vector<Uid> all;
    for (const auto& e : *entries) all.push_back(e.uid);
    REQUIRE(f.store->expunge(inbox->id, all).ok());
    CHECK(f.store->read_queued_message(both->message).ok());
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE_TEMPLATE("queued changes reach subscribers of every user only", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::mutex mutex;
    std::condition_variable heard;
    int queued_for_all = 0;
    std::atomic<int> queued_for_alice{0};
    auto all = f.store->subscribe(0, [&](const MailboxChange& c) {
        if (c.kind != ChangeKind::queued) return;
        std::lock_guard lock(mutex);
        ++queued_for_all;
        heard.notify_all();
    });
    auto alice = f.store->subscribe(f.alice, [&](const MailboxChange& c) {
        if (c.kind == ChangeKind::queued) ++queued_for_alice;
    });
    REQUIRE(all.ok());
    REQUIRE(alice.ok());
    REQUIRE(f.store->submit(test_message("feed"), {}, outbound("", {"b@b.example"}), at(1)).ok());
    std::unique_lock lock(mutex);
    CHECK(heard.wait_for(lock, std::chrono::seconds(10), [&] { return queued_for_all > 0; }));
    lock.unlock();
    // A change for alice afterwards proves her subscription was served after the queued one.
    std::atomic<bool> appended{false};
    auto again = f.store->subscribe(f.alice, [&](const MailboxChange& c) {
        if (c.kind == ChangeKind::appended) appended = true;
    });
    std::vector<UserId> local{f.alice};
    REQUIRE(f.store->deliver(test_message("after"), local, at(2)).ok());
    for (int i = 0; i < 1000 && !appended; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(appended);
    CHECK(queued_for_alice == 0);
}

TEST_CASE("SQLite: a store of schema version 2 gains the queue and keeps its mail") {
    TempDir dir;
    const std::string path = dir.file("store.db");
    {
        auto store = open_test_store(path);
        REQUIRE(store->add_domain("example.test").ok());
        REQUIRE(store->add_user("alice@example.test", "pw").ok());
    }
    {
        // Back to version 2 as an older build left it.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db,
                             "DROP TRIGGER message_text_dropped; DROP TABLE message_text; DROP TABLE unindexed_text; "
                             "DROP TABLE queue; ALTER TABLE entries DROP COLUMN save_date; "
                             "ALTER TABLE users DROP COLUMN quota_messages; PRAGMA user_version=2;",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    StoreOptions options = test_options(path);
    options.create = false;
    auto store = open_test_store(path, options);
    CHECK(store->stats()->schema_version == schema_version());  // every later migration ran too
    CHECK(store->find_user("alice@example.test").ok());
    CHECK(store->list_queue()->empty());
}

TEST_CASE_TEMPLATE("queue ids are never reused, not even the last one's after it went", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto first = f.store->submit(test_message("one"), {}, outbound("", {"a@a.example", "b@b.example"}), at(1));
    REQUIRE(first.ok());
    REQUIRE(first->queued.size() == 2);
    const QueueId last = first->queued[1];
    const QueueOutcome outcomes[] = {finished(last)};
    REQUIRE(f.store->settle(outcomes, {}).ok());
    // The delivery agent leaves its tries in flight out of a fetch by id: a new entry with
    // the id of one it has just settled would be overlooked.
    auto second = f.store->submit(test_message("two"), {}, outbound("", {"c@c.example"}), at(2));
    REQUIRE(second.ok());
    CHECK(second->queued.at(0) > last);
    REQUIRE(f.store->control_queue(QueueAction::remove, second->queued[0]).ok());
    auto third = f.store->submit(test_message("three"), {}, outbound("", {"d@d.example"}), at(3));
    REQUIRE(third.ok());
    CHECK(third->queued.at(0) > second->queued[0]);
}

TEST_CASE("SQLite: a store of schema version 3 keeps its queue ids and reuses none") {
    TempDir dir;
    const std::string path = dir.file("store.db");
    QueueId kept = 0;
    {
        auto store = open_test_store(path);
        auto receipt = store->submit(test_message("v3"), {}, outbound("", {"a@a.example", "b@b.example"}), at(1));
        REQUIRE(receipt.ok());
        kept = receipt->queued[1];
    }
    {
        // The queue as version 3 made it (a plain INTEGER PRIMARY KEY), with its rows.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        const char* to_v3 =
            "CREATE TABLE q3(id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),"
            " sender TEXT NOT NULL, recipient TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
            " next_attempt INTEGER NOT NULL, last_reply TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
            " held INTEGER NOT NULL DEFAULT 0, delay_warned INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO q3 SELECT * FROM queue; DROP TABLE queue; ALTER TABLE q3 RENAME TO queue;"
            "CREATE INDEX queue_due ON queue(held, next_attempt); CREATE INDEX queue_message ON queue(message_id);"
            "ALTER TABLE entries DROP COLUMN save_date; ALTER TABLE users DROP COLUMN quota_messages;"
            "PRAGMA user_version=3;"
            "DROP TRIGGER message_text_dropped; DROP TABLE message_text; DROP TABLE unindexed_text;";
        REQUIRE(sqlite3_exec(db, to_v3, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    StoreOptions options = test_options(path);
    options.create = false;
    auto store = open_test_store(path, options);
    CHECK(store->stats()->schema_version == schema_version());
    auto queue = store->list_queue();
    REQUIRE(queue.ok());
    REQUIRE(queue->size() == 2);
    CHECK(queue->back().id == kept);
    CHECK(queue->back().recipient == "b@b.example");
    const QueueOutcome outcomes[] = {finished(kept)};
    REQUIRE(store->settle(outcomes, {}).ok());
    auto next = store->submit(test_message("v4"), {}, outbound("", {"c@c.example"}), at(2));
    REQUIRE(next.ok());
    CHECK(next->queued.at(0) > kept);
}
