// store_lock_test.cpp: POP3 maildrop locks inside one process (storage/maildrop_locks.h):
// exclusive per user whether asked twice through one store object, through two store
// objects on one store, or by several threads at once; independent across users; a lock
// file that cannot be opened is an I/O error, not "busy"; and 1,000 held locks cost the
// process one file descriptor in all, not one each. Locks shared with other processes
// are in store_process_test.cpp.
//
// Must never: assert on timing; open the lock file itself (closing it would drop this
// process's record locks, see maildrop_locks.h).
#include <filesystem>
#include <latch>
#include <optional>
#include <thread>

#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

struct Fixture {
    TempDir dir;
    std::string path = dir.file("mail.db");
    std::unique_ptr<Store> store = open_test_store(path);
    User alice, bob;

    Fixture() {
        REQUIRE(store->add_domain("example.com").ok());
        alice = *store->add_user("alice@example.com", "pw-a");
        bob = *store->add_user("bob@example.com", "pw-b");
    }
};

std::size_t open_fds() {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)entry;
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("maildrop lock: the same user twice in one process is busy, with the address named") {
    Fixture f;
    auto first = f.store->lock_maildrop(f.alice.id);
    REQUIRE(first.ok());
    auto second = f.store->lock_maildrop(f.alice.id);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == Errc::busy);
    CHECK(second.error().message == "maildrop of alice@example.com is already locked by another session");
    CHECK(std::filesystem::exists(f.path + ".locks/maildrops.lock"));
    first->reset();
    auto again = f.store->lock_maildrop(f.alice.id);
    CHECK(again.ok());
}

TEST_CASE("maildrop lock: different users do not conflict") {
    Fixture f;
    auto alice = f.store->lock_maildrop(f.alice.id);
    auto bob = f.store->lock_maildrop(f.bob.id);
    REQUIRE(alice.ok());
    REQUIRE(bob.ok());
    alice->reset();
    CHECK(f.store->lock_maildrop(f.bob.id).error().code == Errc::busy);  // bob's lock survives alice's release
    CHECK(f.store->lock_maildrop(f.alice.id).ok());
}

TEST_CASE("maildrop lock: two store objects on one store in one process exclude each other") {
    Fixture f;
    auto other = open_test_store(f.path);
    auto held = f.store->lock_maildrop(f.alice.id);
    REQUIRE(held.ok());
    auto through_other = other->lock_maildrop(f.alice.id);
    REQUIRE_FALSE(through_other.ok());
    CHECK(through_other.error().code == Errc::busy);
    CHECK(other->lock_maildrop(f.bob.id).ok());

    SUBCASE("released through one object, free for the other") {
        held->reset();
        CHECK(other->lock_maildrop(f.alice.id).ok());
    }
    SUBCASE("a lock outlives its store object, and the other object closing changes nothing") {
        auto bobs = other->lock_maildrop(f.bob.id);
        REQUIRE(bobs.ok());
        other.reset();  // bob's lock still held
        CHECK(f.store->lock_maildrop(f.bob.id).error().code == Errc::busy);
        CHECK(f.store->lock_maildrop(f.alice.id).error().code == Errc::busy);
        bobs->reset();
        CHECK(f.store->lock_maildrop(f.bob.id).ok());
    }
    SUBCASE("a third object opened after the first lock joins the same registry") {
        auto third = open_test_store(f.path);
        CHECK(third->lock_maildrop(f.alice.id).error().code == Errc::busy);
    }
}

TEST_CASE("maildrop lock: unknown user is not_found; an unusable lock directory is io_error") {
    Fixture f;
    CHECK(f.store->lock_maildrop(999999).error().code == Errc::not_found);
    // A fresh store object (nothing opened yet in this process for it) finds no lock directory.
    auto other = open_test_store(f.path);
    std::filesystem::remove_all(f.path + ".locks");
    auto failed = other->lock_maildrop(f.alice.id);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == Errc::io_error);
    std::filesystem::create_directory(f.path + ".locks");
    CHECK(other->lock_maildrop(f.alice.id).ok());  // not cached: the next call retries
}

TEST_CASE("maildrop lock: 1,000 users held at once cost the process at most one descriptor") {
    Fixture f;
    constexpr int kUsers = 1000, kThreads = 4;
    std::vector<UserId> ids(kUsers);
    {
        std::vector<std::thread> adders;  // several threads so the adds share commits
        for (int t = 0; t < kThreads; ++t)
            adders.emplace_back([&, t] {
                for (int i = t; i < kUsers; i += kThreads) {
                    auto u = f.store->add_user("user" + std::to_string(i) + "@example.com", "pw");
                    if (u) ids[i] = u->id;
                }
            });
        for (auto& a : adders) a.join();
    }
    for (UserId id : ids) REQUIRE(id > 0);
    REQUIRE(f.store->find_user("user0@example.com").ok());  // a pooled reader is open and idle

    std::size_t before = open_fds();
    std::vector<std::unique_ptr<MaildropLock>> held;
    for (UserId id : ids) {
        auto lock = f.store->lock_maildrop(id);
        REQUIRE_MESSAGE(lock.ok(), (lock.ok() ? "" : lock.error().message));
        held.push_back(std::move(*lock));
    }
    std::size_t during = open_fds();
    MESSAGE("open descriptors: " << before << " before, " << during << " with " << kUsers << " maildrops locked");
    CHECK(during <= before + 1);
    for (UserId id : ids) CHECK(f.store->lock_maildrop(id).error().code == Errc::busy);
    held.clear();
    for (UserId id : {ids.front(), ids[kUsers / 2], ids.back()}) CHECK(f.store->lock_maildrop(id).ok());
    CHECK(open_fds() <= before + 1);
}

TEST_CASE("maildrop lock: threads racing for one user, exactly one wins each round") {
    Fixture f;
    auto other = open_test_store(f.path);  // half the threads go through a second store object
    constexpr int kThreads = 8, kRounds = 50;
    for (int round = 0; round < kRounds; ++round) {
        std::latch start(kThreads);
        std::vector<std::optional<Result<std::unique_ptr<MaildropLock>>>> results(kThreads);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                Store& s = t % 2 ? *other : *f.store;
                start.arrive_and_wait();
                results[t].emplace(s.lock_maildrop(f.alice.id));
            });
        for (auto& t : threads) t.join();
        int won = 0, busy = 0;
        for (const auto& r : results) {
            REQUIRE(r.has_value());
            if (r->ok()) ++won;
            else if (r->error().code == Errc::busy) ++busy;
        }
        CHECK(won == 1);
        CHECK(busy == kThreads - 1);
        // All results (the winner's lock too) are dropped before the next round.
    }
    CHECK(f.store->lock_maildrop(f.alice.id).ok());
}
