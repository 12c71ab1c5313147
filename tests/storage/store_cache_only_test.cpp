// store_cache_only_test.cpp: reads inside a CacheOnlyReads scope (store.h) never wait for the
// disk: with the store's pages dropped from the page cache, such a read fails with
// Errc::would_block (the event loop's cue to retry on the pool), the same read outside the
// scope succeeds, and once the pages are back in memory the cache-only read succeeds too;
// a cached read inside the scope gives the same bytes as a normal one.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include "storage/store.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

// Asks the kernel to drop the file's clean pages from its page cache. Works only when no
// process maps them and they are clean (the store is closed and was synced).
bool drop_from_page_cache(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return false;
    ::fdatasync(fd);
    bool ok = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

TEST_CASE("cache-only reads: would_block on a page-cache miss, the bytes once cached") {
    TempDir dir;
    const std::string path = dir.file("store.db");
    std::string big = test_message("cold", 2 * 1024 * 1024);
    MailboxId inbox = 0;
    Uid uid = 0;
    {
        auto store = open_test_store(path);
        REQUIRE(store->add_domain("example.com").ok());
        auto user = *store->add_user("alice@example.com", "pw");
        UserId rcpt[] = {user.id};
        auto receipt = store->deliver(big, rcpt, at(1));
        REQUIRE(receipt.ok());
        inbox = receipt->entries.front().mailbox;
        uid = receipt->entries.front().uid;
    }  // closed: the WAL is checkpointed into the file and no one maps it
    REQUIRE(drop_from_page_cache(path));

    StoreOptions options = test_options(path);
    options.create = false;
    auto store = open_test_store(path, options);
    {
        // Several at once (FETCH's read-ahead): the same rule. Asked first, while nothing of the
        // file is cached: a read that waited (below) may bring in more than it asked for (the
        // kernel reads ahead), so later the rest of the message may be cached already.
        CacheOnlyReads scope;
        const Uid uids[] = {uid};
        auto cold = store->read_messages(inbox, uids);
        REQUIRE_FALSE(cold.ok());
        CHECK(cold.error().code == Errc::would_block);
    }
    REQUIRE(drop_from_page_cache(path));  // whatever that refused read may have started to read
    {
        CacheOnlyReads scope;
        auto cold = store->read_message_chunk(inbox, uid, 1024 * 1024, 64 * 1024);
        REQUIRE_FALSE(cold.ok());
        CHECK(cold.error().code == Errc::would_block);
    }
    // The same read where waiting is allowed brings the pages in and succeeds.
    auto warm = store->read_message_chunk(inbox, uid, 1024 * 1024, 64 * 1024);
    REQUIRE(warm.ok());
    CHECK(*warm == big.substr(1024 * 1024, 64 * 1024));
    {
        CacheOnlyReads scope;
        auto cached = store->read_message_chunk(inbox, uid, 1024 * 1024, 64 * 1024);
        REQUIRE(cached.ok());
        CHECK(*cached == *warm);
        // Everything else a session asks on its event loop works from memory as well.
        CHECK(store->find_user("alice@example.com").ok());
    }
    auto whole = store->read_message(inbox, uid);
    REQUIRE(whole.ok());
    CHECK(*whole == big);
    {
        CacheOnlyReads scope;
        const Uid uids[] = {uid};
        auto cached = store->read_messages(inbox, uids);
        REQUIRE(cached.ok());
        REQUIRE(cached->size() == 1);
        CHECK(cached->front() == big);
    }
    {
        CacheOnlyReads scope;
        auto again = store->read_message(inbox, uid);
        REQUIRE(again.ok());
        CHECK(*again == big);
    }
}
