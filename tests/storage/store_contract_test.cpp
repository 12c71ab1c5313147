// store_contract_test.cpp: the parts of the store's roles the older store tests did not
// reach, for both backends: credentials, the kind of change each write announces, callbacks
// and completions that call the store again, UIDVALIDITY against the clock, quota across
// copies and moves, keyword bounds, deleting and renaming with entries and subscriptions,
// removing users with shared messages, the asynchronous forms, and many threads at once.
//
// Must never: depend on timing for a verdict (notifications wait with a deadline only);
// share a store between test cases.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "storage/message.h"
#include "storage/password.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

template <class B>
using Fixture = TwoUsers<B>;

// Collects the changes a subscription hears; waits for one with a deadline.
class ChangeLog {
public:
    ChangeCallback callback() {
        return [this](const MailboxChange& c) {
            std::lock_guard lock(mutex_);
            heard_.push_back(c);
            cv_.notify_all();
        };
    }
    // The first change not yet taken that matches `kind` and `mailbox` (and `user`), within
    // 10 s; the changes before it are dropped.
    std::optional<MailboxChange> take(ChangeKind kind, UserId user, MailboxId mailbox) {
        std::unique_lock lock(mutex_);
        std::optional<MailboxChange> found;
        cv_.wait_for(lock, std::chrono::seconds(10), [&] {
            for (std::size_t i = 0; i < heard_.size(); ++i) {
                const auto& c = heard_[i];
                if (c.kind == kind && c.user == user && c.mailbox == mailbox) {
                    found = c;
                    heard_.erase(heard_.begin(), heard_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
                    return true;
                }
            }
            return false;
        });
        return found;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<MailboxChange> heard_;
};

}  // namespace

TEST_CASE_TEMPLATE("find_credentials: the user and a hash that verifies; unknown and malformed addresses", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    auto c = f.store->find_credentials("ALICE@example.com");
    REQUIRE(c.ok());
    CHECK(c->user.id == f.alice.id);
    CHECK(c->user.address == "alice@example.com");
    CHECK(verify_password("pw-a", c->password_hash));
    CHECK_FALSE(verify_password("pw-b", c->password_hash));
    CHECK(f.store->find_credentials("nobody@example.com").error().code == Errc::not_found);
    CHECK(f.store->find_credentials("not an address").error().code == Errc::invalid_argument);
    CHECK(f.store->find_user("not an address").error().code == Errc::invalid_argument);
}

TEST_CASE_TEMPLATE("change notification: each write announces its kind, user, mailbox and modseq", B, STORE_BACKENDS) {
    Fixture<B> f;
    ChangeLog log;
    auto sub = f.store->subscribe(0, log.callback());
    REQUIRE(sub.ok());
    const MailboxId inbox = f.alice_inbox.id;

    f.deliver(f.alice.id, "one");
    f.deliver(f.alice.id, "two");
    auto appended = log.take(ChangeKind::appended, f.alice.id, inbox);
    REQUIRE(appended.has_value());
    CHECK(appended->modseq == 2);

    Uid one[] = {1};
    auto flagged = f.store->set_flags(inbox, one, {FlagOperation::add, flag_seen, {}, {}});
    REQUIRE(flagged.ok());
    auto flags = log.take(ChangeKind::flags, f.alice.id, inbox);
    REQUIRE(flags.has_value());
    CHECK(flags->modseq == flagged->updated[0].modseq);

    auto work = f.store->create_mailbox(f.alice.id, "Work");
    REQUIRE(work.ok());
    CHECK(log.take(ChangeKind::mailboxes, f.alice.id, 0).has_value());

    REQUIRE(f.store->move_entries(inbox, one, work->id).ok());
    auto moved_in = log.take(ChangeKind::appended, f.alice.id, work->id);
    REQUIRE(moved_in.has_value());
    CHECK(moved_in->modseq == f.store->mailbox_status(work->id)->highestmodseq);
    auto moved_out = log.take(ChangeKind::expunged, f.alice.id, inbox);
    REQUIRE(moved_out.has_value());
    CHECK(moved_out->modseq == f.store->mailbox_status(inbox)->highestmodseq);

    Uid two[] = {2};
    REQUIRE(f.store->copy_entries(inbox, two, work->id).ok());
    CHECK(log.take(ChangeKind::appended, f.alice.id, work->id).has_value());
    auto appended_by_imap = f.store->append(work->id, test_message("appended"), 0, {}, at(1));
    REQUIRE(appended_by_imap.ok());
    auto heard = log.take(ChangeKind::appended, f.alice.id, work->id);
    REQUIRE(heard.has_value());
    CHECK(heard->modseq == appended_by_imap->modseq);

    auto expunged = f.store->expunge(inbox, two);
    REQUIRE(expunged.ok());
    auto gone = log.take(ChangeKind::expunged, f.alice.id, inbox);
    REQUIRE(gone.has_value());
    CHECK(gone->modseq == expunged->modseq);

    REQUIRE(f.store->rename_mailbox(f.alice.id, "Work", "Done").ok());
    CHECK(log.take(ChangeKind::mailboxes, f.alice.id, 0).has_value());
    REQUIRE(f.store->delete_mailbox(f.alice.id, "Done").ok());
    CHECK(log.take(ChangeKind::expunged, f.alice.id, work->id).has_value());
    CHECK(log.take(ChangeKind::mailboxes, f.alice.id, 0).has_value());

    auto carol = f.store->add_user("carol@example.com", "pw-c");
    REQUIRE(carol.ok());
    CHECK(log.take(ChangeKind::mailboxes, carol->id, 0).has_value());
    REQUIRE(f.store->remove_user("carol@example.com").ok());
    CHECK(log.take(ChangeKind::mailboxes, carol->id, 0).has_value());
}

TEST_CASE_TEMPLATE("change notification: a callback may read the store and drop its own subscription", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    std::mutex m;
    std::condition_variable cv;
    std::optional<std::uint32_t> messages_seen;
    std::unique_ptr<ChangeSubscription> sub;
    std::atomic<int> calls{0};
    Store& store = *f.store;
    const MailboxId inbox = f.alice_inbox.id;
    auto made = store.subscribe(f.alice.id, [&](const MailboxChange&) {
        ++calls;
        auto status = store.mailbox_status(inbox);  // never under the store's lock
        std::lock_guard lock(m);
        if (sub) sub.reset();  // its own subscription, from inside its callback
        if (status.ok()) messages_seen = status->messages;
        cv.notify_all();
    });
    REQUIRE(made.ok());
    {
        std::lock_guard lock(m);
        sub = std::move(*made);
    }
    f.deliver(f.alice.id, "a");
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return messages_seen.has_value(); }));
        CHECK(*messages_seen == 1);
        CHECK_FALSE(sub);
    }
    // A second change is never heard by the dropped subscription; a witness proves it came.
    ChangeLog witness;
    auto w = store.subscribe(f.alice.id, witness.callback());
    REQUIRE(w.ok());
    f.deliver(f.alice.id, "b");
    REQUIRE(witness.take(ChangeKind::appended, f.alice.id, inbox).has_value());
    CHECK(calls.load() == 1);
}

TEST_CASE_TEMPLATE("change notification: the empty callback is refused", B, STORE_BACKENDS) {
    Fixture<B> f;
    CHECK(f.store->subscribe(0, ChangeCallback()).error().code == Errc::invalid_argument);
}

TEST_CASE_TEMPLATE("asynchronous writes: the completion runs once, may submit again, and carries errors", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    Store& store = *f.store;
    std::mutex m;
    std::condition_variable cv;
    int completions = 0;
    std::optional<Result<MailboxInfo>> created;
    std::optional<Result<AppendResult>> appended;
    const std::string raw = test_message("async");
    const StoredMessage message = prepare_message(raw);  // a view of raw
    store.create_mailbox_async(f.alice.id, "Async", SpecialUse::archive, [&](Result<MailboxInfo> r) {
        // From inside a completion, a write is submitted (never a blocking call: on the
        // SQLite backend this runs on the writer thread, which must not wait for itself).
        MailboxId id = r.ok() ? r->id : 0;
        {
            std::lock_guard lock(m);
            ++completions;
            created.emplace(std::move(r));
        }
        store.append_async(id, message, flag_seen, {}, at(7), [&](Result<AppendResult> a) {
            std::lock_guard lock(m);
            ++completions;
            appended.emplace(std::move(a));
            cv.notify_all();
        });
    });
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return appended.has_value(); }));
        REQUIRE(created->ok());
        CHECK((*created)->special_use == SpecialUse::archive);
        REQUIRE(appended->ok());
        CHECK((*appended)->uid == 1);
        CHECK((*appended)->uidvalidity == (*created)->uidvalidity);
        CHECK(completions == 2);
    }
    CHECK(f.uids((*created)->id) == std::vector<Uid>{1});

    // Errors come through the completion too, found before or inside the write.
    std::vector<Status> statuses;
    auto record = [&](Status s) {
        std::lock_guard lock(m);
        statuses.push_back(s);
        cv.notify_all();
    };
    Uid unsorted[] = {3, 1};
    store.expunge_async(f.alice_inbox.id, unsorted,
                        [&](Result<ExpungeResult> r) { record(r.ok() ? Status() : Status(r.error())); });
    store.delete_mailbox_async(f.alice.id, "No such mailbox", record);
    store.set_subscribed_async(424242, "INBOX", true, record);
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return statuses.size() == 3; }));
    CHECK(statuses[0].error().code == Errc::invalid_argument);
    CHECK(statuses[1].error().code == Errc::not_found);
    CHECK(statuses[2].error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("UIDVALIDITY: at least the current time, and new for every mailbox of every user", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    std::set<std::uint32_t> seen;
    for (UserId user : {f.alice.id, f.bob.id}) {
        auto mailboxes = f.store->list_mailboxes(user);
        REQUIRE(mailboxes.ok());
        for (const auto& m : *mailboxes) CHECK(seen.insert(m.uidvalidity).second);
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto made = f.store->create_mailbox(f.bob.id, "a/b/c");
    REQUIRE(made.ok());
    auto a = *f.store->find_mailbox(f.bob.id, "a");
    auto ab = *f.store->find_mailbox(f.bob.id, "a/b");
    CHECK(a.uidvalidity >= now);            // RFC 9051 2.3.1.1: never repeated after a restart
    CHECK(a.uidvalidity > *seen.rbegin());  // parents first, outermost first
    CHECK(ab.uidvalidity > a.uidvalidity);
    CHECK(made->uidvalidity > ab.uidvalidity);
    CHECK(made->uidnext == 1);
    CHECK(made->highestmodseq == 1);
    CHECK_FALSE(made->has_children);
    CHECK(a.has_children);
}

TEST_CASE_TEMPLATE("quota: copies count, a move within one owner does not, a move to another owner does", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    f.deliver(f.alice.id, "m1", 400);
    f.deliver(f.alice.id, "m2", 400);
    auto usage = *f.store->quota_usage(f.alice.id);
    CHECK(usage.messages == 2);
    const std::uint64_t each = usage.used_bytes / 2;
    auto work = *f.store->create_mailbox(f.alice.id, "Work");

    // Alice is exactly full: a copy of her own message no longer fits, a move does.
    REQUIRE(f.store->set_quota("alice@example.com", usage.used_bytes).ok());
    Uid one[] = {1};
    std::string before = f.snapshot();
    auto copy = f.store->copy_entries(f.alice_inbox.id, one, work.id);
    REQUIRE_FALSE(copy.ok());
    CHECK(copy.error().code == Errc::over_quota);
    CHECK(copy.error().message.find("is over quota") != std::string::npos);
    CHECK(f.snapshot() == before);
    REQUIRE(f.store->move_entries(f.alice_inbox.id, one, work.id).ok());
    CHECK(f.store->quota_usage(f.alice.id)->used_bytes == usage.used_bytes);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 2);

    // A copy to Bob counts for Bob; a move to Bob frees Alice.
    REQUIRE(f.store->set_quota("alice@example.com", 0).ok());
    Uid two[] = {2};
    REQUIRE(f.store->copy_entries(f.alice_inbox.id, two, f.bob_inbox.id).ok());
    CHECK(f.store->quota_usage(f.bob.id)->used_bytes == each);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 2);
    REQUIRE(f.store->set_quota("bob@example.com", each + each / 2).ok());
    before = f.snapshot();
    auto refused = f.store->move_entries(work.id, one, f.bob_inbox.id);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::over_quota);
    CHECK(refused.error().message.find("message too large for the remaining quota of bob@example.com") !=
          std::string::npos);
    CHECK(f.snapshot() == before);
    REQUIRE(f.store->set_quota("bob@example.com", 0).ok());
    REQUIRE(f.store->move_entries(work.id, one, f.bob_inbox.id).ok());
    CHECK(f.store->quota_usage(f.alice.id)->messages == 1);
    CHECK(f.store->quota_usage(f.alice.id)->used_bytes == each);
    CHECK(f.store->quota_usage(f.bob.id)->messages == 2);
    CHECK(f.store->quota_usage(f.bob.id)->used_bytes == 2 * each);
    CHECK(f.store->stats()->messages == 2);  // one copy of each message, however many entries

    // append is charged like a delivery.
    REQUIRE(f.store->set_quota("bob@example.com", 2 * each).ok());
    auto full = f.store->append(f.bob_inbox.id, "x", 0, {}, at(1));
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().code == Errc::over_quota);
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE_TEMPLATE("copy into the same mailbox: new UIDs, the same message", B, STORE_BACKENDS) {
    Fixture<B> f;
    f.deliver(f.alice.id, "m1");
    f.deliver(f.alice.id, "m2");
    Uid both[] = {1, 2};
    auto copied = f.store->copy_entries(f.alice_inbox.id, both, f.alice_inbox.id);
    REQUIRE(copied.ok());
    CHECK(copied->uids == std::vector<std::pair<Uid, Uid>>{{1, 3}, {2, 4}});
    CHECK(f.uids(f.alice_inbox.id) == std::vector<Uid>{1, 2, 3, 4});
    CHECK(*f.store->read_message(f.alice_inbox.id, 3) == *f.store->read_message(f.alice_inbox.id, 1));
    CHECK(f.store->stats()->messages == 2);
    // Nothing to copy: no new modseq, no error.
    ModSeq before = f.store->mailbox_status(f.alice_inbox.id)->highestmodseq;
    Uid none[] = {99};
    auto nothing = f.store->copy_entries(f.alice_inbox.id, none, f.bob_inbox.id);
    REQUIRE(nothing.ok());
    CHECK(nothing->uids.empty());
    CHECK(nothing->destination_uidvalidity == f.bob_inbox.uidvalidity);
    CHECK(f.store->mailbox_status(f.alice_inbox.id)->highestmodseq == before);
    CHECK(f.store->mailbox_status(f.bob_inbox.id)->highestmodseq == f.bob_inbox.highestmodseq);
    CHECK(f.store->copy_entries(f.alice_inbox.id, both, 999999).error().code == Errc::not_found);
    CHECK(f.store->copy_entries(999999, both, f.alice_inbox.id).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("keywords: 64 on one message, not 65, in append and in a flag change", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::vector<std::string> keywords;
    for (std::size_t i = 0; i < kMaxKeywordsPerEntry; ++i) keywords.push_back("k" + std::to_string(i));
    auto drafts = *f.store->find_mailbox(f.alice.id, "Drafts");
    auto at_bound = f.store->append(drafts.id, test_message("64"), 0, keywords, at(1));
    REQUIRE(at_bound.ok());
    std::vector<std::string> past = keywords;
    past.push_back("one-more");
    std::string before = f.snapshot();
    auto refused = f.store->append(drafts.id, test_message("65"), 0, past, at(1));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::limit_exceeded);
    CHECK(f.snapshot() == before);
    // Adding one to an entry that has 64: refused as a whole, the other entry untouched.
    f.deliver(f.alice.id, "plain");
    Uid plain[] = {1};
    REQUIRE(f.store->copy_entries(f.alice_inbox.id, plain, drafts.id).ok());
    before = f.snapshot();
    Uid both[] = {at_bound->uid, at_bound->uid + 1};
    auto too_many = f.store->set_flags(drafts.id, both, {FlagOperation::add, flag_seen, {"one-more"}, {}});
    REQUIRE_FALSE(too_many.ok());
    CHECK(too_many.error().code == Errc::limit_exceeded);
    CHECK(too_many.error().message.find("UID " + std::to_string(at_bound->uid)) != std::string::npos);
    CHECK(f.snapshot() == before);
    // Replacing them all with 64 others is fine.
    std::vector<std::string> others;
    for (std::size_t i = 0; i < kMaxKeywordsPerEntry; ++i) others.push_back("o" + std::to_string(i));
    auto replaced = f.store->set_flags(drafts.id, both, {FlagOperation::replace, 0, others, {}});
    REQUIRE(replaced.ok());
    CHECK(replaced->updated.size() == 2);
    CHECK(replaced->updated[0].keywords.size() == kMaxKeywordsPerEntry);
    // An empty UID list changes nothing.
    auto none = f.store->set_flags(drafts.id, std::span<const Uid>(), {FlagOperation::add, flag_seen, {}, {}});
    REQUIRE(none.ok());
    CHECK(none->updated.empty());
    CHECK(f.store->mailbox_status(drafts.id)->highestmodseq == replaced->updated[0].modseq);
}

TEST_CASE_TEMPLATE("mailbox_status and changes_since follow flags, sizes and expunges", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string m1 = test_message("m1", 100), m2 = test_message("m2", 200), m3 = test_message("m3", 300);
    for (const auto* raw : {&m1, &m2, &m3}) {
        UserId to[] = {f.alice.id};
        REQUIRE(f.store->deliver(*raw, to, at(1)).ok());
    }
    const MailboxId box = f.alice_inbox.id;
    ModSeq base = f.store->mailbox_status(box)->highestmodseq;
    Uid seen[] = {1, 2};
    REQUIRE(f.store->set_flags(box, seen, {FlagOperation::add, flag_seen, {}, {}}).ok());
    Uid deleted[] = {2};
    REQUIRE(f.store->set_flags(box, deleted, {FlagOperation::add, flag_deleted, {}, {}}).ok());
    auto status = *f.store->mailbox_status(box);
    CHECK(status.messages == 3);
    CHECK(status.unseen == 1);
    CHECK(status.deleted == 1);
    CHECK(status.size == m1.size() + m2.size() + m3.size());
    CHECK(status.highestmodseq == base + 2);

    auto changes = *f.store->changes_since(box, base);
    REQUIRE(changes.changed.size() == 2);
    CHECK(changes.changed[0].uid == 1);
    CHECK(changes.changed[0].modseq == base + 1);
    CHECK(changes.changed[1].uid == 2);
    CHECK(changes.changed[1].modseq == base + 2);
    CHECK(changes.changed[1].flags == (flag_seen | flag_deleted));
    CHECK_FALSE(changes.changed[0].structure.has_value());
    CHECK(changes.expunged.empty());
    CHECK(changes.highestmodseq == base + 2);
    CHECK(f.store->changes_since(box, base + 2)->changed.empty());

    REQUIRE(f.store->expunge_deleted(box).ok());
    status = *f.store->mailbox_status(box);
    CHECK(status.messages == 2);
    CHECK(status.deleted == 0);
    CHECK(status.size == m1.size() + m3.size());
    CHECK(f.store->changes_since(box, base + 2)->expunged == std::vector<Uid>{2});
    CHECK(f.store->mailbox_status(999999).error().code == Errc::not_found);
    CHECK(f.store->changes_since(999999, 0).error().code == Errc::not_found);
}

// RFC 7162 3.2.5 (QRESYNC): a client back after a week offline asks what vanished since its
// last modseq. The log of expunges is never pruned (storage/mailboxes.h), whatever happens in
// between: more expunges, moves, flag changes, deliveries, other mailboxes deleted.
TEST_CASE_TEMPLATE("expunge log: every expunge since any modseq, after a week of other changes", B, STORE_BACKENDS) {
    Fixture<B> f;
    const MailboxId box = f.alice_inbox.id;
    for (int i = 0; i < 40; ++i) f.deliver(f.alice.id, "m" + std::to_string(i));
    auto archive = f.store->create_mailbox(f.alice.id, "Archive");
    auto scratch = f.store->create_mailbox(f.alice.id, "Scratch");
    REQUIRE(archive.ok());
    REQUIRE(scratch.ok());
    const ModSeq offline = f.store->mailbox_status(box)->highestmodseq;  // the client's last look
    std::vector<Uid> gone;
    ModSeq midweek = 0;
    std::vector<Uid> gone_since_midweek;
    for (Uid day = 0; day < 7; ++day) {
        // Each day: two expunged, one moved away, one flagged, one delivered.
        const Uid first = 1 + day * 5;
        Uid expunged[] = {first, first + 1};
        REQUIRE(f.store->expunge(box, expunged).ok());
        Uid moved[] = {first + 2};
        REQUIRE(f.store->move_entries(box, moved, archive->id).ok());
        Uid flagged[] = {first + 3};
        REQUIRE(f.store->set_flags(box, flagged, {FlagOperation::add, flag_flagged, {}, {}}).ok());
        f.deliver(f.alice.id, "day" + std::to_string(day));
        for (Uid u : {first, first + 1, first + 2}) {
            gone.push_back(u);
            if (day >= 4) gone_since_midweek.push_back(u);
        }
        if (day == 3) midweek = f.store->mailbox_status(box)->highestmodseq;
    }
    REQUIRE(f.store->delete_mailbox(f.alice.id, "Scratch").ok());
    Uid archived[] = {1};
    REQUIRE(f.store->expunge(archive->id, archived).ok());  // another mailbox's log

    auto changes = f.store->changes_since(box, offline);
    REQUIRE(changes.ok());
    CHECK(changes->expunged == gone);
    CHECK(changes->changed.size() == 7 + 7);  // flagged, delivered
    CHECK(f.store->changes_since(box, midweek)->expunged == gone_since_midweek);
    CHECK(f.store->changes_since(box, 0)->expunged == gone);
    CHECK(f.store->changes_since(box, f.store->mailbox_status(box)->highestmodseq)->expunged.empty());
    CHECK(f.store->changes_since(archive->id, 0)->expunged == std::vector<Uid>{1});
}

TEST_CASE_TEMPLATE("read_message_chunk: at the end, past it, and across it", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string raw = test_message("chunks", 500);
    UserId to[] = {f.alice.id};
    REQUIRE(f.store->deliver(raw, to, at(1)).ok());
    const MailboxId box = f.alice_inbox.id;
    CHECK(*f.store->read_message_chunk(box, 1, 0, raw.size()) == raw);
    CHECK(*f.store->read_message_chunk(box, 1, raw.size() - 3, 10) == raw.substr(raw.size() - 3));
    CHECK(f.store->read_message_chunk(box, 1, raw.size(), 10)->empty());
    CHECK(*f.store->read_message_chunk(box, 1, 5, 0) == "");
    CHECK(*f.store->read_message_chunk(box, 1, 7, 11) == raw.substr(7, 11));
    CHECK(f.store->read_message(box, 2).error().code == Errc::not_found);
    CHECK(f.store->read_message(999999, 1).error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("read_messages: several in one read, in the order asked, nullopt where no entry is", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    UserId to[] = {f.alice.id};
    std::vector<std::string> raw;
    for (int i = 1; i <= 5; ++i) {
        raw.push_back(test_message("many-" + std::to_string(i), 300 * static_cast<std::size_t>(i)));
        REQUIRE(f.store->deliver(raw.back(), to, at(i)).ok());
    }
    const MailboxId box = f.alice_inbox.id;
    Uid third[] = {3};
    REQUIRE(f.store->expunge(box, third).ok());
    using Bodies = std::vector<std::optional<std::string>>;

    // Close, ascending UIDs (the range read), one expunged.
    Uid all[] = {1, 2, 3, 4, 5};
    CHECK(*f.store->read_messages(box, all) == Bodies{raw[0], raw[1], std::nullopt, raw[3], raw[4]});
    // A subset with gaps, past the highest UID too.
    Uid some[] = {2, 4, 6};
    CHECK(*f.store->read_messages(box, some) == Bodies{raw[1], raw[3], std::nullopt});
    // Not ascending, and far apart (a lookup each): still the order asked.
    Uid unordered[] = {5, 1};
    CHECK(*f.store->read_messages(box, unordered) == Bodies{raw[4], raw[0]});
    Uid sparse[] = {1, 100000};
    CHECK(*f.store->read_messages(box, sparse) == Bodies{raw[0], std::nullopt});
    CHECK(f.store->read_messages(box, std::span<const Uid>{})->empty());
    // Another user's mailbox or none: nothing of alice's.
    Uid one[] = {1};
    CHECK(*f.store->read_messages(999999, one) == Bodies{std::nullopt});
    for (Uid uid : {1u, 2u, 4u, 5u})
        CHECK(*f.store->read_messages(box, std::span<const Uid>(&uid, 1)) == Bodies{*f.store->read_message(box, uid)});
}

TEST_CASE_TEMPLATE("delete_mailbox: its entries are expunged, their bytes and quota freed, subscriptions kept", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    f.deliver(f.alice.id, "keep");
    f.deliver(f.alice.id, "drop");
    auto old = *f.store->create_mailbox(f.alice.id, "Old");
    REQUIRE(f.store->set_subscribed(f.alice.id, "Old", true).ok());
    Uid both[] = {1, 2};
    REQUIRE(f.store->copy_entries(f.alice_inbox.id, both, old.id).ok());
    Uid drop[] = {2};
    REQUIRE(f.store->expunge(f.alice_inbox.id, drop).ok());  // "drop" now lives only in Old
    CHECK(f.store->stats()->messages == 2);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 3);

    REQUIRE(f.store->delete_mailbox(f.alice.id, "Old").ok());
    CHECK(f.store->stats()->messages == 1);
    CHECK(f.store->quota_usage(f.alice.id)->messages == 1);
    CHECK(f.store->quota_usage(f.alice.id)->used_bytes == f.store->mailbox_status(f.alice_inbox.id)->size);
    CHECK(f.store->mailbox_status(old.id).error().code == Errc::not_found);
    auto subs = *f.store->list_subscriptions(f.alice.id);
    CHECK(std::count(subs.begin(), subs.end(), "Old") == 1);  // subscriptions are by name
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE_TEMPLATE("rename_mailbox: subscriptions follow, and merge with one already there", B, STORE_BACKENDS) {
    Fixture<B> f;
    REQUIRE(f.store->create_mailbox(f.alice.id, "Projects/Alpha").ok());
    REQUIRE(f.store->set_subscribed(f.alice.id, "Projects", true).ok());
    REQUIRE(f.store->set_subscribed(f.alice.id, "Projects/Alpha", true).ok());
    REQUIRE(f.store->set_subscribed(f.alice.id, "Done", true).ok());       // names no mailbox yet
    REQUIRE(f.store->set_subscribed(f.alice.id, "ProjectsX", true).ok());  // not a child
    REQUIRE(f.store->rename_mailbox(f.alice.id, "Projects", "Done").ok());
    auto subs = *f.store->list_subscriptions(f.alice.id);
    CHECK(std::count(subs.begin(), subs.end(), "Done") == 1);
    CHECK(std::count(subs.begin(), subs.end(), "Done/Alpha") == 1);
    CHECK(std::count(subs.begin(), subs.end(), "Projects") == 0);
    CHECK(std::count(subs.begin(), subs.end(), "ProjectsX") == 1);
    CHECK(f.store->find_mailbox(f.alice.id, "Done/Alpha")->subscribed);
    // An empty INBOX renamed: a new empty mailbox, INBOX stays.
    REQUIRE(f.store->rename_mailbox(f.alice.id, "inbox", "Empty").ok());
    CHECK(f.uids(f.store->find_mailbox(f.alice.id, "Empty")->id).empty());
    CHECK(f.store->inbox(f.alice.id)->id == f.alice_inbox.id);
    auto names = *f.store->list_mailboxes(f.alice.id);
    std::vector<std::string> listed;
    for (const auto& m : names) listed.push_back(m.name);
    CHECK(listed ==
          std::vector<std::string>{"Done", "Done/Alpha", "Drafts", "Empty", "INBOX", "Junk", "Sent", "Trash"});
}

TEST_CASE_TEMPLATE("remove_user: their messages go, messages shared with others stay", B, STORE_BACKENDS) {
    Fixture<B> f;
    UserId both[] = {f.alice.id, f.bob.id};
    REQUIRE(f.store->deliver(test_message("shared"), both, at(1)).ok());
    f.deliver(f.bob.id, "own");
    REQUIRE(f.store->add_alias("team@example.com", "bob@example.com").ok());
    REQUIRE(f.store->add_alias("team@example.com", "alice@example.com").ok());
    CHECK(f.store->stats()->messages == 2);
    REQUIRE(f.store->remove_user("bob@example.com").ok());
    auto stats = *f.store->stats();
    CHECK(stats.messages == 1);
    CHECK(stats.users == 1);
    CHECK(stats.mailboxes == 5);
    CHECK(*f.store->read_message(f.alice_inbox.id, 1) == test_message("shared"));
    CHECK(f.store->mailbox_status(f.bob_inbox.id).error().code == Errc::not_found);
    CHECK(f.store->lock_maildrop(f.bob.id).error().code == Errc::not_found);
    auto team = f.store->resolve_recipient("team@example.com");
    REQUIRE(team.ok());
    REQUIRE(team->size() == 1);
    CHECK(team->front().id == f.alice.id);
    CHECK(f.store->integrity_check().ok());
}

TEST_CASE_TEMPLATE("aliases: several targets, removal of one, listing by domain", B, STORE_BACKENDS) {
    Fixture<B> f;
    REQUIRE(f.store->add_domain("example.org").ok());
    REQUIRE(f.store->add_alias("sales@example.org", "bob@example.com").ok());
    REQUIRE(f.store->add_alias("sales@example.org", "alice@example.com").ok());
    REQUIRE(f.store->add_alias("info@example.com", "bob@example.com").ok());
    auto org = *f.store->list_aliases("example.org");
    REQUIRE(org.size() == 1);
    CHECK(org[0].targets == std::vector<std::string>{"alice@example.com", "bob@example.com"});
    CHECK(f.store->list_aliases("example.com")->size() == 1);
    CHECK(f.store->list_aliases("example.net").error().code == Errc::not_found);
    CHECK(f.store->list_aliases("bad..domain").error().code == Errc::invalid_argument);
    CHECK(*f.store->addresses_of(f.bob.id) ==
          std::vector<std::string>{"bob@example.com", "info@example.com", "sales@example.org"});
    CHECK(f.store->remove_alias("sales@example.org", "carol@example.com").error().code == Errc::not_found);
    REQUIRE(f.store->remove_alias("sales@example.org", "bob@example.com").ok());
    CHECK(f.store->remove_alias("sales@example.org", "bob@example.com").error().code == Errc::not_found);
    CHECK(*f.store->addresses_of(f.bob.id) == std::vector<std::string>{"bob@example.com", "info@example.com"});
    CHECK(f.store->remove_domain("example.org").error().message.find("1 alias") != std::string::npos);
    REQUIRE(f.store->remove_alias("sales@example.org", "alice@example.com").ok());
    CHECK(f.store->list_aliases("example.org")->empty());
    CHECK(f.store->remove_domain("example.org").ok());
    CHECK(f.store->stats()->aliases == 1);
}

TEST_CASE_TEMPLATE("maildrop lock: may outlive its store", B, STORE_BACKENDS) {
    BackendStore<B> opened;
    REQUIRE(opened.store->add_domain("example.com").ok());
    auto alice = *opened.store->add_user("alice@example.com", "pw");
    auto lock = opened.store->lock_maildrop(alice.id);
    REQUIRE(lock.ok());
    CHECK(opened.store->lock_maildrop(alice.id).error().message.find("alice@example.com") != std::string::npos);
    opened.store.reset();
    lock->reset();  // must not touch the destroyed store
}

TEST_CASE_TEMPLATE("many threads: deliveries, flag changes, reads and subscriptions at once", B, STORE_BACKENDS) {
    Fixture<B> f;
    Store& store = *f.store;
    constexpr int kWriters = 6, kEach = 30;
    std::atomic<int> failures{0};
    std::atomic<int> heard{0};
    std::atomic<bool> writing{true};
    auto sub = store.subscribe(f.alice.id, [&](const MailboxChange&) { ++heard; });
    REQUIRE(sub.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                UserId rcpt[] = {f.alice.id, f.bob.id};
                auto r = store.deliver(test_message("t" + std::to_string(t) + "-" + std::to_string(i)), rcpt, at(1));
                if (!r.ok()) {
                    ++failures;
                    continue;
                }
                Uid uid[] = {r->entries[0].uid};
                if (!store.set_flags(f.alice_inbox.id, uid, {FlagOperation::add, flag_seen, {}, {}}).ok()) ++failures;
            }
        });
    }
    std::thread reader([&] {
        // Every snapshot is consistent: no UID at or past UIDNEXT, none twice.
        for (int round = 0; round < 200 && writing.load(); ++round) {
            auto status = store.mailbox_status(f.bob_inbox.id);
            UidRange all[] = {{1, kMaxUid}};
            auto entries = store.fetch_entries(f.bob_inbox.id, all);
            if (!status.ok() || !entries.ok()) {
                ++failures;
                continue;
            }
            Uid last = 0;
            for (const auto& e : *entries) {
                if (e.uid <= last) ++failures;
                last = e.uid;
            }
            auto changed = store.changes_since(f.alice_inbox.id, 0);
            if (!changed.ok()) ++failures;
        }
    });
    for (auto& t : threads) t.join();
    writing = false;
    reader.join();
    CHECK(failures.load() == 0);
    CHECK(f.uids(f.alice_inbox.id).size() == kWriters * kEach);
    CHECK(f.uids(f.bob_inbox.id).back() == kWriters * kEach);
    auto status = *store.mailbox_status(f.alice_inbox.id);
    CHECK(status.unseen == 0);
    CHECK(status.uidnext == kWriters * kEach + 1);
    CHECK(status.highestmodseq == 1 + 2 * kWriters * kEach);  // one per delivery, one per flag change
    CHECK(store.stats()->messages == kWriters * kEach);
    CHECK(store.integrity_check().ok());
}

TEST_CASE_TEMPLATE("change notification: subscriptions come and go while writers write; none is heard from late", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    Store& store = *f.store;
    std::atomic<int> late_calls{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 2; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < 40; ++i) {
                UserId rcpt[] = {w == 0 ? f.alice.id : f.bob.id};
                if (!store.deliver(test_message("w" + std::to_string(w) + "-" + std::to_string(i)), rcpt, at(1)).ok())
                    ++failures;
            }
        });
    }
    for (int c = 0; c < 2; ++c) {
        threads.emplace_back([&] {
            for (int round = 0; round < 50; ++round) {
                auto gone = std::make_shared<std::atomic<bool>>(false);
                auto sub = store.subscribe(0, [gone, &late_calls](const MailboxChange&) {
                    if (gone->load()) ++late_calls;
                });
                if (!sub.ok()) {
                    ++failures;
                    continue;
                }
                auto status = store.mailbox_status(f.alice_inbox.id);  // let some changes through
                if (!status.ok()) ++failures;
                sub->reset();  // after this returns, the callback never runs again
                gone->store(true);
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    CHECK(late_calls.load() == 0);
    CHECK(store.integrity_check().ok());
}
