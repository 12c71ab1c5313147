// mailbox_view_cache_test.cpp: SELECT's starting views (imapd/mailbox_view_cache.h): a base
// built from entries, advanced by the store's changes (flags, keywords, new messages,
// expunges, a change applied twice), and the cache's rules (UIDVALIDITY, never an older base,
// the bound in messages (8 more per base) with the least recently used mailbox dropped first).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "imapd/mailbox_view_cache.h"

using namespace hikyaku;
using imap::MailboxViewCache;
using imap::ViewBase;

namespace {

storage::Entry entry(storage::Uid uid, storage::Flags flags, std::vector<std::string> keywords = {},
                     storage::ModSeq modseq = 1) {
    storage::Entry e;
    e.uid = uid;
    e.flags = flags;
    e.keywords = std::move(keywords);
    e.modseq = modseq;
    return e;
}

// "uid:flags[:keyword,keyword]" for each message, space-separated.
std::string describe(const ViewBase& base) {
    std::string out;
    for (const auto& m : base.messages) {
        if (!out.empty()) out += ' ';
        out += std::to_string(m.uid) + ':' + std::to_string(m.flags);
        const auto& keywords = base.keyword_sets[m.keywords];
        for (std::size_t i = 0; i < keywords.size(); ++i) out += (i == 0 ? ':' : ',') + keywords[i];
    }
    return out;
}

std::shared_ptr<const ViewBase> base_of(storage::MailboxId mailbox, std::uint32_t uidvalidity, storage::ModSeq modseq,
                                        std::size_t messages) {
    std::vector<storage::Entry> entries;
    for (std::size_t i = 1; i <= messages; ++i) entries.push_back(entry(static_cast<storage::Uid>(i), 0));
    return std::make_shared<const ViewBase>(ViewBase::from_entries(mailbox, uidvalidity, modseq, entries));
}

}  // namespace

TEST_CASE("keyword sets: the empty set is 0, equal sets share an index") {
    imap::KeywordSets sets;
    const std::vector<std::string> none, a{"$Junk", "work"}, b{"work"};
    CHECK(sets.intern(none) == 0);
    const auto ia = sets.intern(a);
    CHECK(ia != 0);
    CHECK(sets.intern(b) != ia);
    CHECK(sets.intern(a) == ia);
    CHECK(sets.size() == 3);
    CHECK(sets.all() == std::vector<std::string>{"$Junk", "work"});
}

TEST_CASE("a base from entries keeps UID, flags and keywords in UID order") {
    const std::vector<storage::Entry> entries{entry(3, storage::flag_seen), entry(7, 0, {"work"}),
                                              entry(9, storage::flag_flagged, {"work"})};
    const ViewBase base = ViewBase::from_entries(5, 1234, 42, entries);
    CHECK(base.mailbox == 5);
    CHECK(base.uidvalidity == 1234);
    CHECK(base.modseq == 42);
    CHECK(describe(base) == "3:1 7:0:work 9:4:work");
    CHECK(base.messages[1].keywords == base.messages[2].keywords);
}

TEST_CASE("advancing a base: expunges leave, flags change, new messages join in UID order") {
    const std::vector<storage::Entry> entries{entry(1, 0), entry(2, 0), entry(4, storage::flag_seen), entry(6, 0)};
    const ViewBase base = ViewBase::from_entries(1, 1, 10, entries);

    storage::Changes changes;
    changes.changed = {entry(2, storage::flag_answered, {"$Forwarded"}, 11), entry(6, storage::flag_seen, {}, 12),
                       entry(8, 0, {}, 13), entry(9, storage::flag_draft, {"$Forwarded"}, 14)};
    changes.expunged = {1, 4, 5};  // 5 was never in the base: nothing to remove
    changes.highestmodseq = 15;
    const ViewBase next = base.advanced(changes);
    CHECK(describe(next) == "2:2:$Forwarded 6:1 8:0 9:16:$Forwarded");
    CHECK(next.modseq == 15);
    CHECK(next.mailbox == 1);
    CHECK(next.uidvalidity == 1);
    CHECK(describe(base) == "1:0 2:0 4:1 6:0");  // the cached base is left as it was

    SUBCASE("the same changes again change nothing (a base read a little after its modseq)") {
        CHECK(describe(next.advanced(changes)) == describe(next));
    }
    SUBCASE("an entry changed and then expunged is gone") {
        storage::Changes later;
        later.changed = {entry(8, storage::flag_seen, {}, 16)};
        later.expunged = {8};
        later.highestmodseq = 17;
        CHECK(describe(next.advanced(later)) == "2:2:$Forwarded 6:1 9:16:$Forwarded");
    }
    SUBCASE("no changes: the same messages, and the modseq never goes back") {
        storage::Changes none;
        none.highestmodseq = 3;
        const ViewBase same = next.advanced(none);
        CHECK(describe(same) == describe(next));
        CHECK(same.modseq == 15);
    }
    SUBCASE("an empty base takes every change") {
        const ViewBase empty = ViewBase::from_entries(1, 1, 0, {});
        CHECK(describe(empty.advanced(changes)) == "2:2:$Forwarded 6:1 8:0 9:16:$Forwarded");
    }
}

TEST_CASE("the cache: per mailbox and UIDVALIDITY, never an older base") {
    MailboxViewCache cache(1000);
    CHECK(cache.find(1, 77) == nullptr);
    cache.keep(base_of(1, 77, 10, 5));
    REQUIRE(cache.find(1, 77) != nullptr);
    CHECK(cache.find(1, 77)->modseq == 10);
    CHECK(cache.find(1, 78) == nullptr);  // deleted and created again: another UIDVALIDITY
    CHECK(cache.find(2, 77) == nullptr);

    cache.keep(base_of(1, 77, 9, 4));  // older: the newer stays
    CHECK(cache.find(1, 77)->modseq == 10);
    CHECK(cache.messages() == 5 + 8);  // each base counts 8 more for itself
    cache.keep(base_of(1, 77, 12, 6));
    CHECK(cache.find(1, 77)->modseq == 12);
    CHECK(cache.messages() == 6 + 8);
    cache.keep(base_of(1, 80, 3, 2));  // the mailbox under a new UIDVALIDITY replaces it
    CHECK(cache.find(1, 77) == nullptr);
    CHECK(cache.find(1, 80)->modseq == 3);
    CHECK(cache.messages() == 2 + 8);
    CHECK(cache.mailboxes() == 1);
}

TEST_CASE("the cache's bound: the least recently used mailboxes go first, at the bound exactly") {
    MailboxViewCache cache(34);
    cache.keep(base_of(1, 1, 1, 4));  // counts 12
    cache.keep(base_of(2, 1, 1, 3));  // 11
    cache.keep(base_of(3, 1, 1, 3));  // 11: 34, at the bound, all kept
    CHECK(cache.messages() == 34);
    CHECK(cache.mailboxes() == 3);
    CHECK(cache.find(1, 1) != nullptr);  // 1 is now the most recently used; 2 the least
    cache.keep(base_of(4, 1, 1, 1));     // 9 more: 43, over
    CHECK(cache.find(2, 1) == nullptr);
    CHECK(cache.find(1, 1) != nullptr);
    CHECK(cache.find(3, 1) != nullptr);
    CHECK(cache.find(4, 1) != nullptr);
    CHECK(cache.messages() == 32);

    SUBCASE("a base over the bound alone is not kept, and drops nothing") {
        cache.keep(base_of(5, 1, 1, 27));  // 35
        CHECK(cache.find(5, 1) == nullptr);
        CHECK(cache.messages() == 32);
    }
    SUBCASE("a base exactly at the bound pushes out every other") {
        cache.keep(base_of(5, 1, 1, 26));  // 34
        CHECK(cache.find(5, 1) != nullptr);
        CHECK(cache.mailboxes() == 1);
        CHECK(cache.messages() == 34);
    }
}

TEST_CASE("empty mailboxes count too: a bound of 80 holds 10 of them") {
    MailboxViewCache cache(80);
    for (storage::MailboxId id = 1; id <= 11; ++id) cache.keep(base_of(id, 1, 1, 0));
    CHECK(cache.mailboxes() == 10);
    CHECK(cache.messages() == 80);
    CHECK(cache.find(1, 1) == nullptr);  // the first, least recently used, went
    CHECK(cache.find(11, 1) != nullptr);

    MailboxViewCache none(7);  // below one base's own weight: keeps nothing
    none.keep(base_of(1, 1, 1, 0));
    CHECK(none.find(1, 1) == nullptr);
    CHECK(none.messages() == 0);
}
