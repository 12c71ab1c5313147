// store_message_quota_test.cpp: the per-user message quota (RFC 9208 5.2, the MESSAGE
// resource), against both backends: set and kept by set_quota, the default for new users,
// and over_quota wherever entries enter a mailbox (delivery to several recipients, a
// submission's local recipients, APPEND, MULTIAPPEND, COPY, a move to another owner), at the
// limit and one past it, all or none, the store untouched by a refusal. A move within one
// owner adds nothing; an expunge gives room back. Also the SQLite migration to version 7.
#include <sqlite3.h>

#include <doctest/doctest.h>

#include "storage/message.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

// The usage and both limits of `user` as one line, for compact checks.
std::string usage_of(Store& store, UserId user) {
    auto u = store.quota_usage(user);
    REQUIRE(u.ok());
    return std::to_string(u->messages) + "/" + std::to_string(u->limit_messages) + " messages, " +
           std::to_string(u->used_bytes) + "/" + std::to_string(u->limit_bytes) + " bytes";
}

}  // namespace

TEST_CASE_TEMPLATE("message quota: set_quota sets it, or keeps it when not given; 0 is unlimited", B, STORE_BACKENDS) {
    TwoUsers<B> f;
    CHECK(f.alice.quota_messages == 0);
    CHECK(f.store->quota_usage(f.alice.id)->limit_messages == 0);
    REQUIRE(f.store->set_quota("Alice@Example.com", 1000, 3).ok());
    CHECK(f.store->quota_usage(f.alice.id)->limit_messages == 3);
    CHECK(f.store->quota_usage(f.alice.id)->limit_bytes == 1000);
    CHECK(f.store->find_user("alice@example.com")->quota_messages == 3);
    REQUIRE(f.store->set_quota("alice@example.com", 2000).ok());  // the message limit stays
    CHECK(f.store->quota_usage(f.alice.id)->limit_messages == 3);
    CHECK(f.store->quota_usage(f.alice.id)->limit_bytes == 2000);
    REQUIRE(f.store->set_quota("alice@example.com", 0, 0).ok());
    CHECK(usage_of(*f.store, f.alice.id) == "0/0 messages, 0/0 bytes");
    CHECK(f.store->quota_usage(f.bob.id)->limit_messages == 0);  // bob untouched throughout

    const std::string before = f.snapshot();
    CHECK(f.store->set_quota("nobody@example.com", 0, 5).error().code == Errc::not_found);
    CHECK(f.store->set_quota("not an address", 0, 5).error().code == Errc::invalid_argument);
    CHECK(f.snapshot() == before);
}

TEST_CASE_TEMPLATE("message quota: default_quota_messages for users added or imported", B, STORE_BACKENDS) {
    StoreOptions options = test_options("");
    options.default_quota_messages = 250;
    BackendStore<B> opened(options);
    Store& store = *opened.store;
    REQUIRE(store.add_domain("example.com").ok());
    auto carol = store.add_user("carol@example.com", "pw");
    REQUIRE(carol.ok());
    CHECK(carol->quota_messages == 250);
    CHECK(store.quota_usage(carol->id)->limit_messages == 250);
    auto hash = store.hash_password("pw");
    REQUIRE(hash.ok());
    std::vector<UserImport> batch{{"dave@example.com", *hash, 0, 0}, {"erin@example.com", *hash, 0, 7}};
    auto imported = store.import_users(batch);
    REQUIRE(imported.ok());
    CHECK((*imported)[0].quota_messages == 250);
    CHECK((*imported)[1].quota_messages == 7);
    CHECK(store.find_user("erin@example.com")->quota_messages == 7);
    auto listed = store.list_users("example.com");
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 3);
    CHECK((*listed)[0].quota_messages == 250);
}

TEST_CASE_TEMPLATE("message quota: delivery to several recipients is all or none; at the limit, one past it", B,
                   STORE_BACKENDS) {
    TwoUsers<B> f;
    f.deliver(f.bob.id, "b1");
    REQUIRE(f.store->set_quota("bob@example.com", 0, 2).ok());
    UserId both[] = {f.alice.id, f.bob.id};
    REQUIRE(f.store->deliver(test_message("fills"), both, at(1)).ok());  // bob: 2 of 2, exactly at the limit
    CHECK(usage_of(*f.store, f.bob.id).starts_with("2/2 messages"));

    const std::string before = f.snapshot();
    auto r = f.store->deliver(test_message("past"), both, at(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::over_quota);
    CHECK(r.error().message.find("bob@example.com") != std::string::npos);
    CHECK(r.error().message.find("is over its message quota (2 of 2 messages)") != std::string::npos);
    CHECK(f.snapshot() == before);  // alice did not get it either
    CHECK(f.uids(f.alice_inbox.id).size() == 1);

    // The byte quota still speaks first when both are exceeded.
    REQUIRE(f.store->set_quota("bob@example.com", 10, 2).ok());
    CHECK(f.store->deliver(test_message("both"), both, at(1)).error().message.find("bytes used") != std::string::npos);

    // An expunge gives room back.
    REQUIRE(f.store->set_quota("bob@example.com", 0, 2).ok());
    Uid first[] = {1};
    REQUIRE(f.store->expunge(f.bob_inbox.id, first).ok());
    REQUIRE(f.store->deliver(test_message("room"), both, at(1)).ok());
    CHECK(usage_of(*f.store, f.bob.id).starts_with("2/2 messages"));
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE_TEMPLATE("message quota: a submission's local recipients count; all or none with the queue", B,
                   STORE_BACKENDS) {
    TwoUsers<B> f;
    REQUIRE(f.store->set_quota("alice@example.com", 0, 1).ok());
    std::vector<UserId> local{f.bob.id, f.alice.id};
    OutboundEnvelope remote{"bob@example.com", {"far@far.example"}};
    REQUIRE(f.store->submit(test_message("s1"), local, remote, at(1)).ok());  // alice: 1 of 1
    const std::string before = f.snapshot();
    auto refused = f.store->submit(test_message("s2"), local, remote, at(1));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::over_quota);
    CHECK(f.snapshot() == before);  // neither bob's copy nor the queue row
    CHECK(f.store->list_queue()->size() == 1);
}

TEST_CASE_TEMPLATE("message quota: APPEND and MULTIAPPEND, all or none", B, STORE_BACKENDS) {
    TwoUsers<B> f;
    f.deliver(f.alice.id, "a1");
    REQUIRE(f.store->set_quota("alice@example.com", 0, 3).ok());
    const std::string one = test_message("one"), two = test_message("two"), three = test_message("three");
    std::vector<AppendItem> items(3);
    items[0].message = prepare_message(one);
    items[1].message = prepare_message(two);
    items[2].message = prepare_message(three);

    // 1 + 3 > 3: none of the three is stored.
    std::string before = f.snapshot();
    auto all = f.store->append_all(f.alice_inbox.id, items);
    REQUIRE_FALSE(all.ok());
    CHECK(all.error().code == Errc::over_quota);
    CHECK(all.error().message.find("too many messages for the remaining message quota of alice@example.com (3 more; "
                                   "1 of 3 messages)") != std::string::npos);
    CHECK(f.snapshot() == before);

    // 1 + 2 = 3: taken; then a single APPEND is one past.
    REQUIRE(f.store->append_all(f.alice_inbox.id, std::span<const AppendItem>(items.data(), 2)).ok());
    CHECK(usage_of(*f.store, f.alice.id).starts_with("3/3 messages"));
    before = f.snapshot();
    auto past = f.store->append(f.alice_inbox.id, three, 0, {}, at(1));
    REQUIRE_FALSE(past.ok());
    CHECK(past.error().code == Errc::over_quota);
    CHECK(f.snapshot() == before);
    // Another user's appends are not limited by alice's quota.
    CHECK(f.store->append(f.bob_inbox.id, three, 0, {}, at(1)).ok());
}

TEST_CASE_TEMPLATE("message quota: a copy within the user adds entries; a move within the user does not", B,
                   STORE_BACKENDS) {
    TwoUsers<B> f;
    f.deliver(f.alice.id, "m1");
    f.deliver(f.alice.id, "m2");
    auto work = *f.store->create_mailbox(f.alice.id, "Work");
    REQUIRE(f.store->set_quota("alice@example.com", 0, 3).ok());
    Uid both[] = {1, 2};
    Uid one[] = {1};

    // 2 + 2 > 3: the copy of both is refused whole.
    std::string before = f.snapshot();
    auto copy = f.store->copy_entries(f.alice_inbox.id, both, work.id);
    REQUIRE_FALSE(copy.ok());
    CHECK(copy.error().code == Errc::over_quota);
    CHECK(f.snapshot() == before);
    // 2 + 1 = 3: a copy of one fits, and counts even though the bytes are stored once.
    REQUIRE(f.store->copy_entries(f.alice_inbox.id, one, work.id).ok());
    CHECK(usage_of(*f.store, f.alice.id).starts_with("3/3 messages"));
    CHECK(f.store->stats()->messages == 2);
    // Full: a move within alice's mailboxes still works and changes no count.
    REQUIRE(f.store->move_entries(f.alice_inbox.id, both, work.id).ok());
    CHECK(usage_of(*f.store, f.alice.id).starts_with("3/3 messages"));
    CHECK(f.uids(f.alice_inbox.id).empty());

    // Into another owner's mailbox (the store allows it; IMAP cannot) counts for them.
    REQUIRE(f.store->set_quota("bob@example.com", 0, 1).ok());
    Uid work_two[] = {2, 3};
    before = f.snapshot();
    CHECK(f.store->move_entries(work.id, work_two, f.bob_inbox.id).error().code == Errc::over_quota);
    CHECK(f.store->copy_entries(work.id, work_two, f.bob_inbox.id).error().code == Errc::over_quota);
    CHECK(f.snapshot() == before);
    Uid work_one[] = {1};
    REQUIRE(f.store->move_entries(work.id, work_one, f.bob_inbox.id).ok());
    CHECK(usage_of(*f.store, f.alice.id).starts_with("2/3 messages"));
    CHECK(usage_of(*f.store, f.bob.id).starts_with("1/1 messages"));
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE("message quota: SQLite migration 7 adds the column, 0 (unlimited) for existing users") {
    TempDir dir;
    const std::string path = dir.file("mail.db");
    {
        auto store = open_test_store(path);
        REQUIRE(store->add_domain("example.com").ok());
        REQUIRE(store->add_user("alice@example.com", "pw").ok());
    }
    // Take the store back to version 6 as that version left it: no quota_messages column.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "ALTER TABLE users DROP COLUMN quota_messages; PRAGMA user_version=6;", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto store = open_test_store(path);
    CHECK(store->stats()->schema_version == 7);
    auto alice = store->find_user("alice@example.com");
    REQUIRE(alice.ok());
    CHECK(alice->quota_messages == 0);
    REQUIRE(store->set_quota("alice@example.com", 0, 1).ok());
    CHECK(store->quota_usage(alice->id)->limit_messages == 1);
}
