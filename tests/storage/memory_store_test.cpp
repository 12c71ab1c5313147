// memory_store_test.cpp: what the in-memory store promises beyond the roles' contract
// (memory_store.h), which in-process session tests rely on: writes complete on the caller's
// thread before the call returns and never under the store's lock; a write made by one
// thread has called its subscribers, in order, before it returns; a callback may write to
// the store; no file is made; stores are independent of each other. (Everything the SQLite
// backend also does is in the contract tests, run against both.)
//
// Must never: depend on timing; share a store between test cases.
#include <filesystem>
#include <thread>

#include "storage/memory_store.h"
#include "storage/message.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

struct Fixture {
    std::unique_ptr<MemoryStore> store = open_memory_store(test_options("/nonexistent/memory.db"));
    User alice;
    MailboxInfo inbox;

    Fixture() {
        REQUIRE(store->add_domain("example.com").ok());
        alice = *store->add_user("alice@example.com", "pw");
        inbox = *store->inbox(alice.id);
    }
};

}  // namespace

TEST_CASE("memory store: a write completes on the caller's thread before the call returns") {
    Fixture f;
    const std::string raw = test_message("inline");
    const StoredMessage message = prepare_message(raw);  // a view of raw
    std::optional<Result<AppendResult>> result;
    std::thread::id ran_on;
    f.store->append_async(f.inbox.id, message, 0, {}, at(1), [&](Result<AppendResult> r) {
        ran_on = std::this_thread::get_id();
        result.emplace(std::move(r));
    });
    REQUIRE(result.has_value());
    CHECK(ran_on == std::this_thread::get_id());
    REQUIRE(result->ok());
    CHECK((*result)->uid == 1);
    // An error found before the write completes the same way.
    std::optional<Status> refused;
    f.store->delete_mailbox_async(f.alice.id, "INBOX", [&](Status s) { refused = s; });
    REQUIRE(refused.has_value());
    CHECK(refused->error().code == Errc::invalid_argument);
}

TEST_CASE("memory store: a completion may call the store, blocking forms included") {
    Fixture f;
    std::optional<std::uint32_t> messages;
    std::optional<Result<MailboxInfo>> nested;
    f.store->create_mailbox_async(f.alice.id, "Outer", SpecialUse::none, [&](Result<MailboxInfo> r) {
        if (!r.ok()) return;
        messages = f.store->mailbox_status(r->id)->messages;           // a read
        nested.emplace(f.store->create_mailbox(f.alice.id, "Inner"));  // a blocking write
    });
    REQUIRE(messages.has_value());
    CHECK(*messages == 0);
    REQUIRE(nested.has_value());
    CHECK(nested->ok());
    CHECK(f.store->find_mailbox(f.alice.id, "Inner").ok());
}

TEST_CASE("memory store: subscribers have heard a write, in order, when it returns; a callback may write") {
    Fixture f;
    std::vector<std::pair<ChangeKind, ModSeq>> heard;
    std::thread::id called_on;
    bool flagged_from_callback = false;
    Store& store = *f.store;
    auto sub = store.subscribe(f.alice.id, [&](const MailboxChange& c) {
        called_on = std::this_thread::get_id();
        heard.emplace_back(c.kind, c.modseq);
        if (c.kind == ChangeKind::appended && !flagged_from_callback) {
            flagged_from_callback = true;
            Uid one[] = {1};
            // A write from inside a callback: its change is heard after this one, not inside it.
            auto r = store.set_flags(c.mailbox, one, {FlagOperation::add, flag_seen, {}, {}});
            CHECK(r.ok());
            CHECK(heard.size() == 1);
        }
    });
    REQUIRE(sub.ok());
    UserId to[] = {f.alice.id};
    REQUIRE(store.deliver(test_message("m"), to, at(1)).ok());
    CHECK(called_on == std::this_thread::get_id());
    REQUIRE(heard.size() == 2);
    CHECK(heard[0] == std::make_pair(ChangeKind::appended, ModSeq{2}));
    CHECK(heard[1] == std::make_pair(ChangeKind::flags, ModSeq{3}));
    Uid one[] = {1};
    REQUIRE(store.expunge(f.inbox.id, one).ok());
    REQUIRE(heard.size() == 3);
    CHECK(heard[2] == std::make_pair(ChangeKind::expunged, ModSeq{4}));
}

TEST_CASE("memory store: a callback that drops another subscription stops it within the same round") {
    Fixture f;
    std::unique_ptr<ChangeSubscription> second;
    int first_calls = 0, second_calls = 0;
    auto first = f.store->subscribe(0, [&](const MailboxChange&) {
        ++first_calls;
        second.reset();
    });
    REQUIRE(first.ok());
    auto made = f.store->subscribe(0, [&](const MailboxChange&) { ++second_calls; });
    REQUIRE(made.ok());
    second = std::move(*made);
    UserId to[] = {f.alice.id};
    REQUIRE(f.store->deliver(test_message("m"), to, at(1)).ok());
    CHECK(first_calls == 1);
    CHECK(second_calls == 0);
}

TEST_CASE("memory store: no file is made; two stores share nothing, maildrop locks included") {
    TempDir dir;
    StoreOptions options = test_options(dir.file("never.db"));
    auto one = open_memory_store(options);
    auto two = open_memory_store(options);
    REQUIRE(one->add_domain("example.com").ok());
    REQUIRE(two->add_domain("example.com").ok());
    auto a1 = *one->add_user("alice@example.com", "pw");
    auto a2 = *two->add_user("alice@example.com", "pw");
    CHECK(a1.id == a2.id);
    auto l1 = one->lock_maildrop(a1.id);
    auto l2 = two->lock_maildrop(a2.id);
    CHECK(l1.ok());
    CHECK(l2.ok());
    UserId to[] = {a1.id};
    REQUIRE(one->deliver(test_message("m"), to, at(1)).ok());
    CHECK(one->stats()->messages == 1);
    CHECK(two->stats()->messages == 0);
    CHECK(std::filesystem::is_empty(dir.path()));
    auto stats = *one->stats();
    CHECK(stats.file_bytes == 0);
    CHECK(stats.schema_version == 0);
}

TEST_CASE("memory store: the password hash is made at the options' cost") {
    StoreOptions options = test_options("");
    options.argon2_memory_kib = 512;
    options.argon2_iterations = 3;
    auto store = open_memory_store(options);
    REQUIRE(store->add_domain("example.com").ok());
    REQUIRE(store->add_user("alice@example.com", "pw").ok());
    auto credentials = store->find_credentials("alice@example.com");
    REQUIRE(credentials.ok());
    CHECK(credentials->password_hash.rfind("$argon2id$v=19$m=512,t=3,p=1$", 0) == 0);
    CHECK(authenticate(*store, "alice@example.com", "pw").ok());
}
