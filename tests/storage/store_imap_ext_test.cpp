// store_imap_ext_test.cpp: what the store gained for imapd's extensions of issue 13, for both
// backends. The save date of entries (RFC 8514 SAVEDATE): set by the store's clock when an
// entry is added to a mailbox (delivery, append, copy, move), new for each copy, kept by flag
// changes, read by fetch_entries and changes_since; for SQLite, entries stored before schema
// version 5 read as the epoch (unknown). append_all (RFC 3502 MULTIAPPEND): one transaction,
// consecutive UIDs and one modseq, all or none.
//
// Must never: assert an exact wall-clock time (only that it lies between two readings).
#include "storage/message.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

TimePoint wall_now() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

template <class B>
Entry entry_of(TwoUsers<B>& f, MailboxId mailbox, Uid uid) {
    UidRange one[] = {{uid, uid}};
    auto entries = f.store->fetch_entries(mailbox, one);
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 1);
    return entries->front();
}

}  // namespace

TEST_CASE_TEMPLATE("save date: set when an entry is added, by deliver, append, copy and move", B, STORE_BACKENDS) {
    TwoUsers<B> f;
    const TimePoint before = wall_now();
    const Uid delivered = f.deliver(f.alice.id, "m1");
    const std::string raw = test_message("m2");
    auto appended = f.store->append(f.alice_inbox.id, raw, 0, {}, at(1000000000));
    REQUIRE(appended.ok());
    auto archive = f.store->create_mailbox(f.alice.id, "Archive");
    REQUIRE(archive.ok());
    Uid both[] = {delivered, appended->uid};
    auto copied = f.store->copy_entries(f.alice_inbox.id, both, archive->id);
    REQUIRE(copied.ok());
    Uid first[] = {delivered};
    auto moved = f.store->move_entries(f.alice_inbox.id, first, f.bob_inbox.id);
    REQUIRE(moved.ok());
    const TimePoint after = wall_now();

    auto within = [&](const Entry& e) { return e.save_date >= before && e.save_date <= after; };
    const Entry kept = entry_of(f, f.alice_inbox.id, appended->uid);
    CHECK(within(kept));
    CHECK(kept.internal_date == at(1000000000));  // the internal date is the client's, apart
    for (const auto& [source, destination] : copied->uids) CHECK(within(entry_of(f, archive->id, destination)));
    CHECK(within(entry_of(f, f.bob_inbox.id, moved->uids.front().second)));

    // A flag change keeps it; changes_since reports it.
    FlagChange seen{FlagOperation::add, flag_seen, {}, std::nullopt};
    Uid one[] = {appended->uid};
    REQUIRE(f.store->set_flags(f.alice_inbox.id, one, seen).ok());
    CHECK(entry_of(f, f.alice_inbox.id, appended->uid).save_date == kept.save_date);
    auto changes = f.store->changes_since(f.alice_inbox.id, 0);
    REQUIRE(changes.ok());
    REQUIRE_FALSE(changes->changed.empty());
    CHECK(changes->changed.back().save_date == kept.save_date);
}

TEST_CASE("save date: entries stored before schema version 5 read as unknown (the epoch)") {
    TwoUsers<SqliteBackend> f;
    const Uid uid = f.deliver(f.alice.id, "old");
    {
        // As an older build left it: no save date for the entry.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "UPDATE entries SET save_date = 0", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    CHECK(entry_of(f, f.alice_inbox.id, uid).save_date == TimePoint{});
}

TEST_CASE_TEMPLATE("append_all: consecutive UIDs, one modseq, one change; all or none", B, STORE_BACKENDS) {
    TwoUsers<B> f;
    const std::string one = test_message("one"), two = test_message("two"), three = test_message("three");
    std::vector<AppendItem> items(3);
    items[0].message = prepare_message(one);
    items[0].flags = flag_seen;
    items[1].message = prepare_message(two);
    items[1].keywords = {"$Work"};
    items[1].internal_date = at(1600000000);
    items[2].message = prepare_message(three);
    const ModSeq before = f.store->mailbox_status(f.alice_inbox.id)->highestmodseq;
    auto appended = f.store->append_all(f.alice_inbox.id, items);
    REQUIRE(appended.ok());
    REQUIRE(appended->size() == 3);
    CHECK((*appended)[0].uid == 1);
    CHECK((*appended)[2].uid == 3);
    for (const auto& a : *appended) {
        CHECK(a.uidvalidity == f.alice_inbox.uidvalidity);
        CHECK(a.modseq == before + 1);
    }
    CHECK(*f.store->read_message(f.alice_inbox.id, 2) == two);
    const Entry second = entry_of(f, f.alice_inbox.id, 2);
    CHECK(second.keywords == std::vector<std::string>{"$Work"});
    CHECK(second.internal_date == at(1600000000));
    CHECK(entry_of(f, f.alice_inbox.id, 1).flags == flag_seen);

    // One item past the quota, one with a bad keyword, a mailbox that does not exist, none at
    // all: nothing is stored.
    REQUIRE(
        f.store->set_quota("alice@example.com", f.store->quota_usage(f.alice.id)->used_bytes + one.size() + 10).ok());
    const std::string after_quota = f.snapshot();
    CHECK(f.store->append_all(f.alice_inbox.id, items).error().code == Errc::over_quota);
    CHECK(f.snapshot() == after_quota);
    REQUIRE(f.store->set_quota("alice@example.com", 0).ok());
    items[2].keywords = {"\\Bad"};
    CHECK(f.store->append_all(f.alice_inbox.id, items).error().code == Errc::invalid_argument);
    items[2].keywords.clear();
    CHECK(f.store->append_all(999999, items).error().code == Errc::not_found);
    CHECK(f.store->append_all(f.alice_inbox.id, std::span<const AppendItem>()).error().code == Errc::invalid_argument);
    CHECK(f.uids(f.alice_inbox.id) == std::vector<Uid>{1, 2, 3});
}
