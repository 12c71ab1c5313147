// store_mailbox_test.cpp: mailboxes and messages, for both backends: delivery (single
// instance, all or none, size and quota limits), UIDs, UIDVALIDITY, modseq, flags, copy,
// move, expunge and its log, changes since a modseq, reading bytes whole and in chunks,
// maildrop locks and change notification inside one process; and SQLite's group commit.
//
// Must never: depend on timing for a verdict (notifications wait with a deadline only).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/mime/message.h"
#include "storage/sqlite_store.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

template <class B>
struct Fixture : TwoUsers<B> {
    Uid deliver_to_alice(const std::string& tag) { return this->deliver(this->alice.id, tag); }
};

}  // namespace

TEST_CASE_TEMPLATE("deliver: one stored copy for many recipients, each gets an INBOX entry", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string raw = test_message("m1", 300);
    UserId rcpts[] = {f.alice.id, f.bob.id, f.alice.id};  // duplicate gets one copy
    auto receipt = f.store->deliver(raw, rcpts, at(1700000000));
    REQUIRE(receipt.ok());
    REQUIRE(receipt->entries.size() == 2);
    CHECK(receipt->entries[0].user == f.alice.id);
    CHECK(receipt->entries[0].mailbox == f.alice_inbox.id);
    CHECK(receipt->entries[0].uid == 1);
    CHECK(receipt->entries[1].mailbox == f.bob_inbox.id);
    CHECK(receipt->entries[1].uid == 1);

    auto stats = f.store->stats();
    REQUIRE(stats.ok());
    CHECK(stats->messages == 1);
    CHECK(stats->entries == 2);
    CHECK(stats->message_bytes == raw.size());

    UidRange all[] = {{1, kMaxUid}};
    auto a = f.store->fetch_entries(f.alice_inbox.id, all);
    auto b = f.store->fetch_entries(f.bob_inbox.id, all);
    REQUIRE(a->size() == 1);
    REQUIRE(b->size() == 1);
    CHECK((*a)[0].message == (*b)[0].message);
    CHECK((*a)[0].message == receipt->message);
    CHECK((*a)[0].size == raw.size());
    CHECK((*a)[0].flags == 0);
    CHECK((*a)[0].internal_date == at(1700000000));
    CHECK(*f.store->read_message(f.bob_inbox.id, 1) == raw);
    CHECK(f.store->quota_usage(f.alice.id)->used_bytes == raw.size());
    CHECK(f.store->quota_usage(f.bob.id)->messages == 1);
}

TEST_CASE_TEMPLATE("deliver: UIDs increase by one, UIDNEXT and HIGHESTMODSEQ follow", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto before = *f.store->mailbox_status(f.alice_inbox.id);
    CHECK(before.uidnext == 1);
    CHECK(before.messages == 0);
    Uid last = 0;
    for (int i = 0; i < 20; ++i) {
        Uid uid = f.deliver_to_alice("m" + std::to_string(i));
        CHECK(uid == last + 1);
        last = uid;
    }
    auto after = *f.store->mailbox_status(f.alice_inbox.id);
    CHECK(after.uidnext == 21);
    CHECK(after.messages == 20);
    CHECK(after.unseen == 20);
    CHECK(after.highestmodseq == before.highestmodseq + 20);
    CHECK(after.uidvalidity == before.uidvalidity);
    // UIDs are never reused, even after the highest one is expunged.
    Uid top[] = {20};
    CHECK(f.store->expunge(f.alice_inbox.id, top)->expunged == std::vector<Uid>{20});
    CHECK(f.deliver_to_alice("again") == 21);
}

TEST_CASE_TEMPLATE("deliver: all or none when one recipient is over quota; size limit", B, STORE_BACKENDS) {
    Fixture<B> f;
    CHECK(f.store->set_quota("bob@example.com", 500).ok());
    std::string big = test_message("big", 600);
    std::string before = f.snapshot();
    UserId rcpts[] = {f.alice.id, f.bob.id};
    auto r = f.store->deliver(big, rcpts, at(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::over_quota);
    CHECK(r.error().message.find("bob@example.com") != std::string::npos);
    CHECK(r.error().message.find("message too large for the remaining quota") != std::string::npos);
    UserId ghost[] = {f.alice.id, 987654};
    CHECK(f.store->deliver("x", ghost, at(1)).error().code == Errc::not_found);
    CHECK(f.store->deliver("x", {}, at(1)).error().code == Errc::invalid_argument);
    CHECK(f.snapshot() == before);

    // Exactly at the quota is allowed, one byte past is not.
    std::string fits(500, 'x');
    UserId only_bob[] = {f.bob.id};
    CHECK(f.store->deliver(fits, only_bob, at(1)).ok());
    auto full = f.store->deliver("y", only_bob, at(1));
    CHECK(full.error().code == Errc::over_quota);
    CHECK(full.error().message.find("is over quota") != std::string::npos);

    StoreOptions small = test_options("");
    small.max_message_size = 100;
    BackendStore<B> opened(small);
    auto& store = opened.store;
    REQUIRE(store->add_domain("example.com").ok());
    auto carol = *store->add_user("carol@example.com", "pw");
    UserId c[] = {carol.id};
    CHECK(store->max_message_size() == 100);
    CHECK(store->deliver(std::string(100, 'a'), c, at(1)).ok());
    auto over = store->deliver(std::string(101, 'a'), c, at(1));
    CHECK(over.error().code == Errc::too_big);
    CHECK(over.error().message.find("maximum message size") != std::string::npos);
    auto box = *store->inbox(carol.id);
    CHECK(store->append(box.id, std::string(101, 'a'), 0, {}, at(1)).error().code == Errc::too_big);
}

TEST_CASE_TEMPLATE("mailboxes: create with parents, find, rename with children, delete, subscriptions", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    auto created = f.store->create_mailbox(f.alice.id, "Archive/2024/March");
    REQUIRE(created.ok());
    CHECK(created->name == "Archive/2024/March");
    CHECK_FALSE(created->has_children);
    auto archive = f.store->find_mailbox(f.alice.id, "Archive");
    REQUIRE(archive.ok());
    CHECK(archive->has_children);
    CHECK_FALSE(archive->subscribed);
    CHECK(f.store->find_mailbox(f.alice.id, "inbox")->id == f.alice_inbox.id);
    CHECK(f.store->find_mailbox(f.bob.id, "Archive").error().code == Errc::not_found);

    std::string before = f.snapshot();
    CHECK(f.store->create_mailbox(f.alice.id, "Archive").error().code == Errc::already_exists);
    CHECK(f.store->create_mailbox(f.alice.id, "inbox").error().code == Errc::already_exists);
    for (const char* bad : {"a/../b", "a//b", "", "x\ty", "/root", "..", "trailing/"})
        CHECK_MESSAGE(f.store->create_mailbox(f.alice.id, bad).error().code == Errc::invalid_argument, bad);
    CHECK(f.store->create_mailbox(f.alice.id, std::string(kMaxMailboxNameLength + 1, 'n')).error().code ==
          Errc::invalid_argument);
    CHECK(f.store->create_mailbox(424242, "X").error().code == Errc::not_found);
    CHECK(f.store->delete_mailbox(f.alice.id, "INBOX").error().code == Errc::invalid_argument);
    CHECK(f.store->delete_mailbox(f.alice.id, "Archive").error().code == Errc::invalid_argument);  // has children
    CHECK(f.store->delete_mailbox(f.alice.id, "Nope").error().code == Errc::not_found);
    CHECK(f.store->rename_mailbox(f.alice.id, "Archive", "Archive/Inner").error().code == Errc::invalid_argument);
    CHECK(f.store->rename_mailbox(f.alice.id, "Archive", "Sent").error().code == Errc::already_exists);
    CHECK(f.store->rename_mailbox(f.alice.id, "Nope", "Other").error().code == Errc::not_found);
    CHECK(f.store->rename_mailbox(f.alice.id, "Sent", "INBOX").error().code == Errc::already_exists);
    CHECK(f.snapshot() == before);

    auto march = *f.store->find_mailbox(f.alice.id, "Archive/2024/March");
    CHECK(f.store->set_subscribed(f.alice.id, "Archive/2024", true).ok());
    CHECK(f.store->rename_mailbox(f.alice.id, "Archive", "Old/Stuff").ok());
    auto moved = f.store->find_mailbox(f.alice.id, "Old/Stuff/2024/March");
    REQUIRE(moved.ok());
    CHECK(moved->id == march.id);
    CHECK(moved->uidvalidity == march.uidvalidity);
    CHECK(f.store->find_mailbox(f.alice.id, "Old")->has_children);
    CHECK(f.store->find_mailbox(f.alice.id, "Archive").error().code == Errc::not_found);
    auto subs = *f.store->list_subscriptions(f.alice.id);
    CHECK(std::find(subs.begin(), subs.end(), "Old/Stuff/2024") != subs.end());

    // A subscription may name a mailbox that does not exist.
    CHECK(f.store->set_subscribed(f.alice.id, "Ghost", true).ok());
    CHECK(f.store->set_subscribed(f.alice.id, "Ghost", true).ok());
    subs = *f.store->list_subscriptions(f.alice.id);
    CHECK(std::count(subs.begin(), subs.end(), "Ghost") == 1);
    CHECK(f.store->set_subscribed(f.alice.id, "Ghost", false).ok());
    subs = *f.store->list_subscriptions(f.alice.id);
    CHECK(std::count(subs.begin(), subs.end(), "Ghost") == 0);
    CHECK(f.store->set_subscribed(f.alice.id, "a/../b", true).error().code == Errc::invalid_argument);

    CHECK(f.store->delete_mailbox(f.alice.id, "Old/Stuff/2024/March").ok());
    CHECK(f.store->find_mailbox(f.alice.id, "Old/Stuff/2024/March").error().code == Errc::not_found);
    // A mailbox created again under an old name gets a new, larger UIDVALIDITY.
    auto again = f.store->create_mailbox(f.alice.id, "Old/Stuff/2024/March");
    REQUIRE(again.ok());
    CHECK(again->uidvalidity > march.uidvalidity);
    CHECK(again->id != march.id);
}

TEST_CASE_TEMPLATE("mailboxes: renaming INBOX moves its messages and leaves it empty", B, STORE_BACKENDS) {
    Fixture<B> f;
    f.deliver_to_alice("a");
    f.deliver_to_alice("b");
    CHECK(f.store->rename_mailbox(f.alice.id, "INBOX", "Saved/Inbox-2024").ok());
    auto saved = f.store->find_mailbox(f.alice.id, "Saved/Inbox-2024");
    REQUIRE(saved.ok());
    CHECK(f.uids(saved->id) == std::vector<Uid>{1, 2});
    CHECK(f.uids(f.alice_inbox.id).empty());
    CHECK(f.store->inbox(f.alice.id)->id == f.alice_inbox.id);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 2);  // moved, not doubled
    CHECK(f.deliver_to_alice("c") == 3);                     // INBOX UIDs go on
}

TEST_CASE_TEMPLATE("flags: add, remove, replace; keywords; modseq; UNCHANGEDSINCE", B, STORE_BACKENDS) {
    Fixture<B> f;
    for (int i = 0; i < 3; ++i) f.deliver_to_alice("m" + std::to_string(i));
    MailboxId box = f.alice_inbox.id;
    ModSeq start = f.store->mailbox_status(box)->highestmodseq;

    Uid one_two[] = {1, 2, 99};  // 99 does not exist: ignored
    FlagChange seen{FlagOperation::add, flag_seen, {"$Forwarded"}, std::nullopt};
    auto r = f.store->set_flags(box, one_two, seen);
    REQUIRE(r.ok());
    REQUIRE(r->updated.size() == 2);
    CHECK(r->updated[0].modseq == start + 1);
    CHECK(r->updated[1].modseq == start + 1);
    CHECK(r->updated[0].keywords == std::vector<std::string>{"$Forwarded"});
    CHECK(f.store->mailbox_status(box)->highestmodseq == start + 1);
    CHECK(f.store->mailbox_status(box)->unseen == 1);

    // Setting what is already set changes nothing and bumps nothing.
    auto same = f.store->set_flags(box, one_two, seen);
    CHECK(same->updated.empty());
    CHECK(same->unchanged.size() == 2);
    CHECK(f.store->mailbox_status(box)->highestmodseq == start + 1);

    Uid three[] = {3};
    FlagChange replace{FlagOperation::replace, flag_flagged | flag_answered, {"Work", "$Label1"}, std::nullopt};
    auto rep = f.store->set_flags(box, three, replace);
    REQUIRE(rep->updated.size() == 1);
    CHECK(rep->updated[0].flags == (flag_flagged | flag_answered));
    CHECK(rep->updated[0].keywords == std::vector<std::string>{"$Label1", "Work"});
    CHECK(rep->updated[0].modseq == start + 2);

    FlagChange remove{FlagOperation::remove, flag_answered, {"Work"}, std::nullopt};
    auto rem = f.store->set_flags(box, three, remove);
    CHECK(rem->updated[0].flags == flag_flagged);
    CHECK(rem->updated[0].keywords == std::vector<std::string>{"$Label1"});

    // UNCHANGEDSINCE: entry 3 changed after start+1, entry 1 did not.
    Uid both[] = {1, 3};
    FlagChange guarded{FlagOperation::add, flag_deleted, {}, start + 1};
    auto g = f.store->set_flags(box, both, guarded);
    REQUIRE(g.ok());
    CHECK(g->failed == std::vector<Uid>{3});
    REQUIRE(g->updated.size() == 1);
    CHECK(g->updated[0].uid == 1);
    CHECK(f.store->mailbox_status(box)->deleted == 1);

    std::string before = f.snapshot();
    FlagChange bad_keyword{FlagOperation::add, 0, {"\\Seen"}, std::nullopt};
    CHECK(f.store->set_flags(box, both, bad_keyword).error().code == Errc::invalid_argument);
    FlagChange bad_bits{FlagOperation::add, 1u << 9, {}, std::nullopt};
    CHECK(f.store->set_flags(box, both, bad_bits).error().code == Errc::invalid_argument);
    CHECK(f.store->set_flags(777777, both, seen).error().code == Errc::not_found);
    CHECK(f.snapshot() == before);

    UidRange all[] = {{1, kMaxUid}};
    auto entries = *f.store->fetch_entries(box, all);
    CHECK(entries[0].flags == (flag_seen | flag_deleted));
    CHECK(entries[2].keywords == std::vector<std::string>{"$Label1"});
}

TEST_CASE_TEMPLATE("copy and move: new UIDs in the target, shared message, COPYUID pairs, expunge log", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    for (int i = 0; i < 4; ++i) f.deliver_to_alice("m" + std::to_string(i));
    auto work = *f.store->create_mailbox(f.alice.id, "Work");
    Uid flagged[] = {2};
    REQUIRE(f.store->set_flags(f.alice_inbox.id, flagged, {FlagOperation::add, flag_flagged, {"Tag"}, {}}).ok());

    Uid pick[] = {4, 2, 2, 77};
    auto copied = f.store->copy_entries(f.alice_inbox.id, pick, work.id);
    REQUIRE(copied.ok());
    CHECK(copied->destination_uidvalidity == work.uidvalidity);
    CHECK(copied->uids == std::vector<std::pair<Uid, Uid>>{{2, 1}, {4, 2}});
    UidRange all[] = {{1, kMaxUid}};
    auto in_work = *f.store->fetch_entries(work.id, all);
    REQUIRE(in_work.size() == 2);
    CHECK(in_work[0].flags == flag_flagged);
    CHECK(in_work[0].keywords == std::vector<std::string>{"Tag"});
    CHECK(f.store->stats()->messages == 4);  // copies share the stored message
    CHECK(f.store->stats()->entries == 6);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 6);

    ModSeq before_move = f.store->mailbox_status(f.alice_inbox.id)->highestmodseq;
    Uid move_these[] = {1, 3};
    auto moved = f.store->move_entries(f.alice_inbox.id, move_these, work.id);
    REQUIRE(moved.ok());
    CHECK(moved->uids == std::vector<std::pair<Uid, Uid>>{{1, 3}, {3, 4}});
    CHECK(f.uids(f.alice_inbox.id) == std::vector<Uid>{2, 4});
    CHECK(f.uids(work.id) == std::vector<Uid>{1, 2, 3, 4});
    auto changes = f.store->changes_since(f.alice_inbox.id, before_move);
    REQUIRE(changes.ok());
    CHECK(changes->expunged == std::vector<Uid>{1, 3});
    CHECK(changes->highestmodseq == before_move + 1);
    // RFC 6851 3.3: a move into the mailbox itself gives the messages new UIDs.
    auto in_place = f.store->move_entries(work.id, move_these, work.id);
    REQUIRE(in_place.ok());
    CHECK(in_place->uids == std::vector<std::pair<Uid, Uid>>{{1, 5}, {3, 6}});
    CHECK(f.uids(work.id) == std::vector<Uid>{2, 4, 5, 6});

    // Copy to another user's mailbox counts against their quota.
    CHECK(f.store->set_quota("bob@example.com", 10).ok());
    std::string before = f.snapshot();
    Uid moved_in_place[] = {5, 6};
    CHECK(f.store->copy_entries(work.id, moved_in_place, f.bob_inbox.id).error().code == Errc::over_quota);
    CHECK(f.snapshot() == before);
}

TEST_CASE_TEMPLATE("expunge: log with modseq, orphaned messages dropped, changes_since", B, STORE_BACKENDS) {
    Fixture<B> f;
    UserId both[] = {f.alice.id, f.bob.id};
    REQUIRE(f.store->deliver(test_message("shared"), both, at(5)).ok());
    for (int i = 0; i < 3; ++i) f.deliver_to_alice("own" + std::to_string(i));
    ModSeq base = f.store->mailbox_status(f.alice_inbox.id)->highestmodseq;

    Uid first[] = {1};
    auto e = f.store->expunge(f.alice_inbox.id, first);
    REQUIRE(e.ok());
    CHECK(e->expunged == std::vector<Uid>{1});
    CHECK(e->modseq == base + 1);
    CHECK(f.store->stats()->messages == 4);  // bob still holds the shared one
    CHECK(f.store->read_message(f.alice_inbox.id, 1).error().code == Errc::not_found);
    CHECK(f.store->read_message(f.bob_inbox.id, 1).ok());
    CHECK(f.store->expunge(f.bob_inbox.id, first).ok());
    CHECK(f.store->stats()->messages == 3);  // now dropped
    auto nothing = f.store->expunge(f.alice_inbox.id, first);
    CHECK(nothing->expunged.empty());
    CHECK(nothing->modseq == 0);

    Uid mark[] = {2, 4};
    REQUIRE(f.store->set_flags(f.alice_inbox.id, mark, {FlagOperation::add, flag_deleted, {}, {}}).ok());
    Uid only4[] = {4, 3};
    auto restricted = f.store->expunge_deleted(f.alice_inbox.id, std::span<const Uid>(only4));
    CHECK(restricted->expunged == std::vector<Uid>{4});
    auto rest = f.store->expunge_deleted(f.alice_inbox.id);
    CHECK(rest->expunged == std::vector<Uid>{2});
    CHECK(f.uids(f.alice_inbox.id) == std::vector<Uid>{3});

    auto changes = f.store->changes_since(f.alice_inbox.id, base);
    REQUIRE(changes.ok());
    CHECK(changes->expunged == std::vector<Uid>{1, 2, 4});
    CHECK(changes->changed.empty());  // entry 3 untouched since base
    auto later = f.store->changes_since(f.alice_inbox.id, base + 2);
    CHECK(later->expunged == std::vector<Uid>{2, 4});  // 4 at base+3, 2 at base+4; 1 at base+1
    auto since_zero = f.store->changes_since(f.alice_inbox.id, 0);
    REQUIRE(since_zero->changed.size() == 1);
    CHECK(since_zero->changed[0].uid == 3);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 1);
}

TEST_CASE_TEMPLATE("append: flags, keywords, internal date, UID, structure column", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto drafts = *f.store->find_mailbox(f.alice.id, "Drafts");
    std::string raw = test_message("draft");
    std::string kw[] = {"$Draft1"};
    auto a = f.store->append(drafts.id, raw, flag_draft | flag_seen, kw, at(1234567890));
    REQUIRE(a.ok());
    CHECK(a->uid == 1);
    CHECK(a->uidvalidity == drafts.uidvalidity);
    UidRange all[] = {{1, kMaxUid}};
    auto entries = *f.store->fetch_entries(drafts.id, all, {.with_structure = true});
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].flags == (flag_draft | flag_seen));
    CHECK(entries[0].keywords == std::vector<std::string>{"$Draft1"});
    CHECK(entries[0].internal_date == at(1234567890));
    CHECK(entries[0].modseq == a->modseq);
    std::string bad_kw[] = {"a b"};
    CHECK(f.store->append(drafts.id, raw, 0, bad_kw, at(1)).error().code == Errc::invalid_argument);
    CHECK(f.store->append(999999, raw, 0, {}, at(1)).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("the MIME structure is parsed at delivery and handed back with the entry", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string raw =
        "From: Sender <sender@example.org>\r\n"
        "To: alice@example.com\r\n"
        "Subject: structured\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "hello\r\nworld\r\n"
        "--b1\r\n"
        "Content-Type: application/octet-stream\r\n"
        "\r\n"
        "AAAA\r\n"
        "--b1--\r\n";
    UserId rcpt[] = {f.alice.id};
    REQUIRE(f.store->deliver(raw, rcpt, at(1)).ok());
    UidRange all[] = {{1, kMaxUid}};
    auto plain = *f.store->fetch_entries(f.alice_inbox.id, all);
    CHECK_FALSE(plain[0].structure.has_value());  // only when asked
    auto entries = *f.store->fetch_entries(f.alice_inbox.id, all, {.with_structure = true});
    REQUIRE(entries.size() == 1);
    REQUIRE(entries[0].structure.has_value());
    auto cached = mime::decode_cache(*entries[0].structure);
    REQUIRE(cached.ok());
    auto direct = mime::parse_message(raw);
    REQUIRE(direct.ok());
    CHECK(*cached == *direct);  // what readers get is exactly a fresh parse
    CHECK(cached->size == raw.size());
    CHECK(cached->envelope.subject == std::optional<std::string>("structured"));
    REQUIRE(cached->root.children.size() == 2);
    CHECK(cached->root.children[1].subtype == "octet-stream");
    // Copies share the stored structure.
    auto other = *f.store->create_mailbox(f.alice.id, "Other");
    Uid one[] = {1};
    REQUIRE(f.store->copy_entries(f.alice_inbox.id, one, other.id).ok());
    CHECK((*f.store->fetch_entries(other.id, all, {.with_structure = true}))[0].structure == entries[0].structure);
    // An appended message is parsed too.
    auto a = f.store->append(other.id, raw, 0, {}, at(2));
    REQUIRE(a.ok());
    UidRange appended[] = {{a->uid, a->uid}};
    auto fetched = *f.store->fetch_entries(other.id, appended, {.with_structure = true});
    REQUIRE(fetched.size() == 1);
    REQUIRE(fetched[0].structure.has_value());
    CHECK(*mime::decode_cache(*fetched[0].structure) == *direct);
}

TEST_CASE_TEMPLATE("fetch_entries: ranges, reversed ranges, overlaps, '*'", B, STORE_BACKENDS) {
    Fixture<B> f;
    for (int i = 0; i < 10; ++i) f.deliver_to_alice("m" + std::to_string(i));
    UidRange ranges[] = {{8, 6}, {2, 3}, {3, 4}, {10, kMaxUid}};
    auto got = f.store->fetch_entries(f.alice_inbox.id, ranges);
    REQUIRE(got.ok());
    std::vector<Uid> uids;
    for (const auto& e : *got) uids.push_back(e.uid);
    CHECK(uids == std::vector<Uid>{2, 3, 4, 6, 7, 8, 10});
    CHECK(f.store->fetch_entries(123456, ranges).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("read_message_chunk streams a large message exactly", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string raw = test_message("large", 3 * 1024 * 1024 + 17);
    UserId rcpt[] = {f.alice.id};
    REQUIRE(f.store->deliver(raw, rcpt, at(1)).ok());
    std::string rebuilt;
    for (std::uint64_t offset = 0;;) {
        auto chunk = f.store->read_message_chunk(f.alice_inbox.id, 1, offset, 64 * 1024);
        REQUIRE(chunk.ok());
        if (chunk->empty()) break;
        offset += chunk->size();
        rebuilt += *chunk;
    }
    CHECK(rebuilt == raw);
    CHECK(f.store->read_message_chunk(f.alice_inbox.id, 1, raw.size() + 5, 10)->empty());
    CHECK(f.store->read_message_chunk(f.alice_inbox.id, 2, 0, 10).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("maildrop lock: exclusive, released on destruction", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto first = f.store->lock_maildrop(f.alice.id);
    REQUIRE(first.ok());
    auto second = f.store->lock_maildrop(f.alice.id);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == Errc::busy);
    CHECK(f.store->lock_maildrop(f.bob.id).ok());  // other users are independent
    first->reset();
    CHECK(f.store->lock_maildrop(f.alice.id).ok());
    CHECK(f.store->lock_maildrop(999999).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("change notification inside one process: kind, mailbox, modseq, user filter", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::mutex m;
    std::condition_variable cv;
    std::vector<MailboxChange> for_alice, for_all;
    auto sub_alice = f.store->subscribe(f.alice.id, [&](const MailboxChange& c) {
        std::lock_guard lock(m);
        for_alice.push_back(c);
        cv.notify_all();
    });
    auto sub_all = f.store->subscribe(0, [&](const MailboxChange& c) {
        std::lock_guard lock(m);
        for_all.push_back(c);
        cv.notify_all();
    });
    REQUIRE(sub_alice.ok());
    REQUIRE(sub_all.ok());
    UserId to_bob[] = {f.bob.id};
    REQUIRE(f.store->deliver(test_message("b"), to_bob, at(1)).ok());
    f.deliver_to_alice("a");
    ModSeq expected = f.store->mailbox_status(f.alice_inbox.id)->highestmodseq;
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !for_alice.empty() && for_all.size() >= 2; }));
    }
    std::lock_guard lock(m);
    REQUIRE(for_alice.size() == 1);
    CHECK(for_alice[0].kind == ChangeKind::appended);
    CHECK(for_alice[0].mailbox == f.alice_inbox.id);
    CHECK(for_alice[0].modseq == expected);
    CHECK(for_all[0].user == f.bob.id);
}

TEST_CASE_TEMPLATE("change notification: a destroyed subscription is never called again", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::atomic<int> calls{0};
    auto sub = f.store->subscribe(0, [&](const MailboxChange&) { ++calls; });
    REQUIRE(sub.ok());
    // A witness subscribed after it hears every change after it, in the same dispatch: once
    // the witness has heard the delivery, the destroyed one would have been called too.
    std::mutex m;
    std::condition_variable cv;
    bool heard = false;
    auto witness = f.store->subscribe(0, [&](const MailboxChange& c) {
        std::lock_guard lock(m);
        heard = heard || c.kind == ChangeKind::appended;
        cv.notify_all();
    });
    REQUIRE(witness.ok());
    sub->reset();
    f.deliver_to_alice("x");
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return heard; }));
    CHECK(calls.load() == 0);
}

TEST_CASE_TEMPLATE("change notification: a subscription may outlive its store", B, STORE_BACKENDS) {
    BackendStore<B> opened;
    auto sub = opened.store->subscribe(0, [](const MailboxChange&) {});
    REQUIRE(sub.ok());
    opened.store.reset();  // a daemon tearing down in the "wrong" order
    sub->reset();          // must not touch the destroyed store
    if constexpr (B::has_file) {
        int sockets = 0;  // the closed store took its socket away
        for (const auto& e : std::filesystem::directory_iterator(opened.dir.file("mail.db.notify")))
            sockets += e.path().extension() == ".sock";
        CHECK(sockets == 0);
    }
}

TEST_CASE("change format: parse is the inverse of format and refuses junk") {
    MailboxChange c{ChangeKind::expunged, 12, 34, 56};
    auto parsed = ChangeNotifier::parse(ChangeNotifier::format(c));
    REQUIRE(parsed.has_value());
    CHECK(parsed->kind == c.kind);
    CHECK(parsed->user == 12);
    CHECK(parsed->mailbox == 34);
    CHECK(parsed->modseq == 56);
    for (const char* junk :
         {"", "appended", "appended user=1 mailbox=2", "bogus user=1 mailbox=2 modseq=3",
          "appended user=-1 mailbox=2 modseq=3", "appended user=1 mailbox=2 modseq=3 extra",
          "appended user=1x mailbox=2 modseq=3", "appended usr=1 mailbox=2 modseq=3",
          "appended user=99999999999999999999999 mailbox=2 modseq=3", "appended user=01 mailbox=2 modseq=3",
          "appended user=-0 mailbox=2 modseq=3", "appended user=+1 mailbox=2 modseq=3",
          "appended user=1 mailbox=2 modseq=3\n", "appended  user=1 mailbox=2 modseq=3",
          "unknown user=0 mailbox=0 modseq=0 ", " appended user=1 mailbox=2 modseq=3"})
        CHECK_MESSAGE(!ChangeNotifier::parse(junk).has_value(), junk);
}

TEST_CASE("group commit: concurrent deliveries share commits and all land") {
    TempDir dir;
    auto opened = SqliteStore::open(test_options(dir.file("mail.db")));
    REQUIRE(opened.ok());
    auto& store = **opened;
    REQUIRE(store.add_domain("example.com").ok());
    auto user = *store.add_user("alice@example.com", "pw");
    std::size_t jobs_before = store.jobs_committed();
    std::size_t batches_before = store.batches_committed();
    constexpr int kThreads = 8, kEach = 40;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    std::mutex uids_mutex;
    std::vector<Uid> uids;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                UserId rcpt[] = {user.id};
                auto r = store.deliver(test_message("t" + std::to_string(t) + "-" + std::to_string(i)), rcpt, at(1));
                if (!r.ok()) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(uids_mutex);
                uids.push_back(r->entries[0].uid);
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    std::sort(uids.begin(), uids.end());
    REQUIRE(uids.size() == kThreads * kEach);
    for (std::size_t i = 0; i < uids.size(); ++i) CHECK(uids[i] == i + 1);
    std::size_t jobs = store.jobs_committed() - jobs_before;
    std::size_t batches = store.batches_committed() - batches_before;
    CHECK(jobs == kThreads * kEach);
    MESSAGE("group commit: " << jobs << " deliveries in " << batches << " commits");
    CHECK(batches < jobs);  // with 8 writers at least some commits are shared
    CHECK(store.integrity_check().ok());
}

TEST_CASE_TEMPLATE("a failed job in a batch does not undo the others", B, STORE_BACKENDS) {
    BackendStore<B> opened;
    auto& store = opened.store;
    REQUIRE(store->add_domain("example.com").ok());
    auto user = *store->add_user("alice@example.com", "pw", 1000);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0}, refused{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            UserId rcpt[] = {user.id};
            // odd threads send messages over quota
            std::string raw = test_message("j" + std::to_string(t), t % 2 ? 2000 : 10);
            auto r = store->deliver(raw, rcpt, at(1));
            if (r.ok()) ++ok;
            else if (r.error().code == Errc::over_quota) ++refused;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(ok.load() == 4);
    CHECK(refused.load() == 4);
    CHECK(store->mailbox_status(store->inbox(user.id)->id)->messages == 4);
    CHECK(store->quota_usage(user.id)->messages == 4);
}
