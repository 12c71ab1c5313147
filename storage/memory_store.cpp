// memory_store.cpp: the in-memory store (see memory_store.h), rule for rule the SQLite
// backend's (sqlite_store.cpp), with the shared rules from store_rules.h.
//
// Every write is two phases under the one mutex: first every check that can fail (unknown
// ids, names taken, quota, UIDs and UIDVALIDITY left), then the changes, which cannot fail.
// So a refused call has changed nothing, as a rolled-back transaction would.
//
// Must never: let a UID go backwards or be reused in a mailbox; change an entry without
// raising its mailbox's HIGHESTMODSEQ; store a message without counting it against its
// owner's quota; keep a message no entry references; run a callback under the mutex.
#include "storage/memory_store.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "storage/message.h"
#include "storage/store_rules.h"

namespace hikyaku::storage {

namespace {

Error not_found(std::string message) { return make_error(Errc::not_found, std::move(message)); }
Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

Result<std::string> checked_mailbox_name(std::string_view name) {
    if (auto s = validate_mailbox_name(name); !s) return s.error();
    return normalize_mailbox_name(name);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The domain a listing is restricted to: "" for every domain, else a valid one, lower case.
Result<std::string> domain_filter(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (!domain.empty()) {
        if (auto s = validate_domain(domain); !s) return s.error();
    }
    return domain;
}

bool in_filter(std::string_view address, const std::string& domain) {
    return domain.empty() || domain_of(address) == domain;
}

// The names under `name` ("a/b" and "a/b/c" are under "a"), excluding `name` itself.
std::string children_prefix(const std::string& name) { return name + kMailboxDelimiter; }

}  // namespace

// ---- state ---------------------------------------------------------------------------

struct MemoryStore::State {
    struct Message {
        std::string raw;
        std::optional<std::string> structure;
        std::size_t entries = 0;  // entries and queue rows that reference it; 0 never stays
    };
    struct StoredEntry {
        MessageId message = 0;
        Flags flags = 0;
        std::set<std::string> keywords;
        ModSeq modseq = 0;
        TimePoint internal_date{};
        std::uint64_t size = 0;
        TimePoint save_date{};  // set by add_entries (RFC 8514)
    };
    struct Mailbox {
        MailboxId id = 0;
        UserId user = 0;
        std::string name;
        SpecialUse special_use = SpecialUse::none;
        std::uint32_t uidvalidity = 0;
        Uid uidnext = 1;
        ModSeq highestmodseq = 1;
        Uid first_recent_uid = 1;
        std::map<Uid, StoredEntry> entries;
        std::map<Uid, ModSeq> expunged;  // the expunge log (RFC 7162 VANISHED)
    };
    struct Account {
        User user;
        std::string password_hash;
        std::uint64_t used_bytes = 0;
        std::uint64_t used_messages = 0;
        std::map<std::string, MailboxId> mailboxes;  // by name
        std::set<std::string> subscriptions;
    };
    struct Added {
        std::vector<Uid> uids;
        ModSeq modseq = 0;
    };

    std::set<std::string> domains;
    std::map<UserId, Account> accounts;
    std::map<std::string, UserId> account_ids;        // by address
    std::map<std::string, std::set<UserId>> aliases;  // alias address -> its users
    std::map<MailboxId, Mailbox> mailboxes;
    std::map<MessageId, Message> messages;
    std::map<QueueId, QueuedRecipient> queue;  // outbound recipients (storage/queue.h); size unset
    QueueId last_queued = 0;
    std::uint32_t last_uidvalidity = 0;
    UserId last_user = 0;
    MailboxId last_mailbox = 0;
    MessageId last_message = 0;

    // ---- lookups ----

    Result<Account*> account(UserId id) {
        auto it = accounts.find(id);
        if (it == accounts.end()) return not_found("no user with id " + std::to_string(id));
        return &it->second;
    }
    Account* account(const std::string& address) {
        auto it = account_ids.find(address);
        return it == account_ids.end() ? nullptr : &accounts.at(it->second);
    }
    Result<Account*> existing_account(const std::string& address) {
        if (Account* a = account(address)) return a;
        return not_found("no such user: " + address);
    }
    Result<Mailbox*> mailbox(MailboxId id) {
        auto it = mailboxes.find(id);
        if (it == mailboxes.end()) return not_found("no mailbox with id " + std::to_string(id));
        return &it->second;
    }
    Mailbox* mailbox_named(UserId user, const std::string& name) {
        auto owner = accounts.find(user);
        if (owner == accounts.end()) return nullptr;
        auto it = owner->second.mailboxes.find(name);
        return it == owner->second.mailboxes.end() ? nullptr : &mailboxes.at(it->second);
    }
    Status check_local_domain(std::string_view domain) const {
        if (!domains.count(std::string(domain))) return not_found(std::string(domain) + " is not a local domain");
        return {};
    }
    // A listing's domain_filter() names a local domain, or none.
    Status check_filter(const std::string& domain) const {
        if (domain.empty()) return {};
        return check_local_domain(domain);
    }

    static bool has_children(const Account& owner, const std::string& name) {
        const std::string prefix = children_prefix(name);
        auto it = owner.mailboxes.lower_bound(prefix);
        return it != owner.mailboxes.end() && starts_with(it->first, prefix);
    }

    MailboxInfo info(const Mailbox& m) const {
        const Account& owner = accounts.at(m.user);
        MailboxInfo out;
        out.id = m.id;
        out.user = m.user;
        out.name = m.name;
        out.special_use = m.special_use;
        out.subscribed = owner.subscriptions.count(m.name) > 0;
        out.has_children = has_children(owner, m.name);
        out.uidvalidity = m.uidvalidity;
        out.uidnext = m.uidnext;
        out.highestmodseq = m.highestmodseq;
        out.first_recent_uid = m.first_recent_uid;
        return out;
    }

    Entry entry(Uid uid, const StoredEntry& e, bool with_structure) const {
        Entry out;
        out.uid = uid;
        out.message = e.message;
        out.flags = e.flags;
        out.keywords.assign(e.keywords.begin(), e.keywords.end());
        out.modseq = e.modseq;
        out.internal_date = e.internal_date;
        out.size = e.size;
        out.save_date = e.save_date;
        if (with_structure) out.structure = messages.at(e.message).structure;
        return out;
    }

    // ---- checks (phase one: may fail, change nothing) ----

    // The next `count` UIDVALIDITY values, without taking them.
    Result<std::vector<std::uint32_t>> next_uidvalidities(std::size_t count) const {
        std::vector<std::uint32_t> out;
        out.reserve(count);
        std::uint32_t last = last_uidvalidity;
        const std::int64_t now = now_seconds();
        for (std::size_t i = 0; i < count; ++i) {
            auto next = next_uidvalidity(last, now);
            if (!next) return next.error();
            out.push_back(last = *next);
        }
        return out;
    }

    // Ancestors of `name` that do not exist yet, outermost first ("a", "a/b" for "a/b/c").
    static std::vector<std::string> missing_parents(const Account& owner, const std::string& name) {
        std::vector<std::string> out;
        for (auto pos = name.find(kMailboxDelimiter); pos != std::string::npos;
             pos = name.find(kMailboxDelimiter, pos + 1)) {
            std::string parent = name.substr(0, pos);
            if (!owner.mailboxes.count(parent)) out.push_back(std::move(parent));
        }
        return out;
    }

    // Whether `count` entries of `bytes` in all fit in `box`: its owner's quota (when they
    // count against it) and the UIDs left.
    Status check_room(const Mailbox& box, std::size_t count, std::uint64_t bytes, bool counts_against_quota) const {
        const Account& owner = accounts.at(box.user);
        if (counts_against_quota) {
            if (auto s = check_quota(owner.user, {owner.used_bytes, owner.used_messages}, {bytes, count}); !s) return s;
        }
        if (std::uint64_t{box.uidnext} + count - 1 > kMaxUid)
            return make_error(Errc::limit_exceeded, "mailbox " + box.name + " has run out of UIDs");
        return {};
    }

    // add_user's checks for one new address (normalised and valid).
    Status check_new_user(const std::string& address) const {
        if (auto s = check_local_domain(domain_of(address)); !s)
            return not_found("cannot add " + address + ": " + s.error().message +
                             "; add it first (mailctl domain add)");
        if (account_ids.count(address)) return make_error(Errc::already_exists, "user " + address + " already exists");
        if (aliases.count(address)) return make_error(Errc::already_exists, address + " is already an alias");
        return {};
    }

    // ---- changes (phase two: cannot fail) ----

    Mailbox& create_mailbox(Account& owner, const std::string& name, SpecialUse use, std::uint32_t uidvalidity) {
        const MailboxId id = ++last_mailbox;
        last_uidvalidity = uidvalidity;
        Mailbox& m = mailboxes[id];
        m.id = id;
        m.user = owner.user.id;
        m.name = name;
        m.special_use = use;
        m.uidvalidity = uidvalidity;
        owner.mailboxes[name] = id;
        return m;
    }

    // `uidvalidities` holds one value per missing parent, then one for `name`.
    Mailbox& create_with_parents(Account& owner, const std::string& name, SpecialUse use,
                                 std::span<const std::uint32_t> uidvalidities) {
        std::size_t next = 0;
        for (const auto& parent : missing_parents(owner, name))
            create_mailbox(owner, parent, SpecialUse::none, uidvalidities[next++]);
        return create_mailbox(owner, name, use, uidvalidities[next]);
    }

    MessageId store_message(const StoredMessage& message) {
        const MessageId id = ++last_message;
        Message& m = messages[id];
        m.raw.assign(message.raw);
        m.structure = message.structure;
        return id;
    }

    void release_message(MessageId id) {
        auto it = messages.find(id);
        if (it != messages.end() && --it->second.entries == 0) messages.erase(it);
    }

    QueuedRecipient queued_row(const QueuedRecipient& q) const {
        QueuedRecipient out = q;
        out.size = messages.at(q.message).raw.size();
        return out;
    }

    // What store_submission needs of the state before it changes anything: each local
    // recipient's INBOX, with room for the message (`pending` counts what notices of the
    // same write already put there).
    Result<std::vector<Mailbox*>> inboxes_with_room(
        std::span<const UserId> recipients, std::uint64_t size,
        std::map<MailboxId, std::pair<std::size_t, std::uint64_t>>& pending) {
        std::vector<Mailbox*> inboxes;
        for (UserId id : recipients) {
            Mailbox* inbox = mailbox_named(id, "INBOX");
            if (!inbox) return not_found("no user with id " + std::to_string(id));
            auto& [count, bytes] = pending[inbox->id];
            ++count;
            bytes += size;
            if (auto room = check_room(*inbox, count, bytes, true); !room) return room.error();
            inboxes.push_back(inbox);
        }
        return inboxes;
    }

    // One message for local users and queue rows for its remote recipients; the checks were
    // made (inboxes_with_room), so it cannot fail.
    SubmissionReceipt store_submission(const StoredMessage& message, std::span<const UserId> recipients,
                                       std::span<Mailbox* const> inboxes, const OutboundEnvelope& outbound,
                                       TimePoint internal_date, std::vector<MailboxChange>& changes) {
        SubmissionReceipt receipt;
        receipt.message = store_message(message);
        StoredEntry entry{receipt.message, 0, {}, 0, internal_date, message.raw.size()};
        for (std::size_t i = 0; i < inboxes.size(); ++i) {
            Added added = add_entries(*inboxes[i], std::span<const StoredEntry>(&entry, 1));
            receipt.entries.push_back({recipients[i], inboxes[i]->id, added.uids.front()});
            changes.push_back({ChangeKind::appended, recipients[i], inboxes[i]->id, added.modseq});
        }
        const TimePoint now = TimePoint(std::chrono::seconds(now_seconds()));
        for (const auto& r : outbound.recipients) {
            QueuedRecipient q;
            q.id = ++last_queued;
            q.message = receipt.message;
            q.sender = outbound.sender;
            q.recipient = r;
            q.next_attempt = now;
            q.created = now;
            ++messages.at(receipt.message).entries;
            queue.emplace(q.id, std::move(q));
            receipt.queued.push_back(last_queued);
        }
        if (!outbound.recipients.empty()) changes.push_back({ChangeKind::queued, 0, 0, 0});
        return receipt;
    }

    // Removes a queue row; its message goes with its last reference.
    bool remove_queued(QueueId id) {
        auto it = queue.find(id);
        if (it == queue.end()) return false;
        release_message(it->second.message);
        queue.erase(it);
        return true;
    }

    // Gives the entries consecutive new UIDs and one new modseq, and charges their owner.
    Added add_entries(Mailbox& box, std::span<const StoredEntry> entries) {
        Added added;
        if (entries.empty()) return added;
        Account& owner = accounts.at(box.user);
        added.modseq = ++box.highestmodseq;
        const TimePoint saved = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        for (StoredEntry e : entries) {
            const Uid uid = box.uidnext++;
            e.modseq = added.modseq;
            e.save_date = saved;  // RFC 8514: saved in this mailbox now
            ++messages.at(e.message).entries;
            owner.used_bytes += e.size;
            ++owner.used_messages;
            box.entries.emplace(uid, std::move(e));
            added.uids.push_back(uid);
        }
        return added;
    }

    // Removes the entries of `uids` (increasing) that exist, logs them as expunged with one
    // new modseq, releases their quota and drops messages left without entries.
    ExpungeResult remove_entries(Mailbox& box, std::span<const Uid> uids) {
        ExpungeResult result;
        for (Uid uid : uids)
            if (box.entries.count(uid)) result.expunged.push_back(uid);
        if (result.expunged.empty()) return result;
        Account& owner = accounts.at(box.user);
        result.modseq = ++box.highestmodseq;
        for (Uid uid : result.expunged) {
            auto it = box.entries.find(uid);
            owner.used_bytes -= std::min(owner.used_bytes, it->second.size);
            owner.used_messages -= std::min<std::uint64_t>(owner.used_messages, 1);
            release_message(it->second.message);
            box.entries.erase(it);
            box.expunged[uid] = result.modseq;
        }
        return result;
    }

    std::vector<Uid> all_uids(const Mailbox& box) const {
        std::vector<Uid> out;
        out.reserve(box.entries.size());
        for (const auto& [uid, e] : box.entries) out.push_back(uid);
        return out;
    }

    // `uidvalidities` holds one value per default mailbox.
    User create_user(const UserImport& wanted, const StoreOptions& options,
                     std::span<const std::uint32_t> uidvalidities, std::vector<MailboxChange>& changes) {
        const UserId id = ++last_user;
        Account& a = accounts[id];
        a.user.id = id;
        a.user.address = wanted.address;
        a.user.quota_bytes = wanted.quota_bytes ? wanted.quota_bytes : options.default_quota;
        a.user.quota_messages = wanted.quota_messages ? wanted.quota_messages : options.default_quota_messages;
        a.password_hash = wanted.password_hash;
        account_ids[wanted.address] = id;
        std::size_t next = 0;
        for (const auto& [name, use] : kDefaultMailboxes) {
            create_mailbox(a, name, use, uidvalidities[next++]);
            a.subscriptions.insert(name);
        }
        changes.push_back({ChangeKind::mailboxes, id, 0, 0});
        return a.user;
    }

    // Copies (and for a move, then removes) entries from one mailbox to another.
    Result<CopyResult> transfer(MailboxId from, std::span<const Uid> uids, MailboxId to, bool move,
                                std::vector<MailboxChange>& changes) {
        auto source = mailbox(from);
        if (!source) return source.error();
        auto target = mailbox(to);
        if (!target) return target.error();
        Mailbox& src = **source;
        Mailbox& dst = **target;
        CopyResult result;
        result.destination_uidvalidity = dst.uidvalidity;
        std::vector<Uid> found;
        std::vector<StoredEntry> copies;
        std::uint64_t bytes = 0;
        for (Uid uid : uids) {
            auto it = src.entries.find(uid);
            if (it == src.entries.end()) continue;
            found.push_back(uid);
            copies.push_back(it->second);
            bytes += it->second.size;
        }
        if (found.empty()) return result;
        // A move within one owner's mailboxes only relabels bytes they already hold.
        const bool same_owner = src.user == dst.user;
        if (auto s = check_room(dst, copies.size(), bytes, !(move && same_owner)); !s) return s.error();
        Added added = add_entries(dst, copies);
        for (std::size_t i = 0; i < found.size(); ++i) result.uids.emplace_back(found[i], added.uids[i]);
        changes.push_back({ChangeKind::appended, dst.user, dst.id, added.modseq});
        if (move) {
            ExpungeResult removed = remove_entries(src, found);
            changes.push_back({ChangeKind::expunged, src.user, src.id, removed.modseq});
        }
        return result;
    }
};

// ---- change notification ---------------------------------------------------------------

// Changes are queued under the store mutex, so in the order they were applied, and delivered
// after it is released by one thread at a time: the writer that finds nobody delivering
// delivers every queued change, including those other writers queue meanwhile.
class MemoryStore::ChangeQueue {
public:
    // Under the store mutex.
    void enqueue(const std::vector<MailboxChange>& changes) {
        if (changes.empty()) return;
        std::lock_guard lock(mutex_);
        queue_.insert(queue_.end(), changes.begin(), changes.end());
    }

    // Without the store mutex.
    void deliver() {
        {
            std::lock_guard lock(mutex_);
            if (delivering_ || queue_.empty()) return;
            delivering_ = true;
        }
        for (;;) {
            std::lock_guard round(round_mutex_);  // what unsubscribe() waits for
            delivering_thread_.store(std::this_thread::get_id());
            std::vector<std::pair<MailboxChange, std::vector<std::shared_ptr<Subscriber>>>> batch;
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    delivering_ = false;
                    delivering_thread_.store(std::thread::id());
                    return;
                }
                for (const MailboxChange& change : queue_) {
                    std::vector<std::shared_ptr<Subscriber>> targets;
                    for (const auto& [id, s] : subscribers_) {
                        // The queue is nobody's mailbox: only subscribers of every user hear of it.
                        const bool heard = change.kind == ChangeKind::queued
                                               ? s->user == 0
                                               : s->user == 0 || change.user == 0 || s->user == change.user;
                        if (heard) targets.push_back(s);
                    }
                    batch.emplace_back(change, std::move(targets));
                }
                queue_.clear();
            }
            // `active` is read and written only under round_mutex_ or on this thread.
            for (const auto& [change, targets] : batch)
                for (const auto& s : targets)
                    if (s->active) s->callback(change);
            delivering_thread_.store(std::thread::id());
        }
    }

    Result<std::unique_ptr<ChangeSubscription>> subscribe(const std::shared_ptr<ChangeQueue>& self, UserId user,
                                                          ChangeCallback callback) {
        if (!callback) return invalid("empty change callback");
        auto subscriber = std::make_shared<Subscriber>(Subscriber{user, std::move(callback), true});
        std::uint64_t id = 0;
        {
            std::lock_guard lock(mutex_);
            id = next_id_++;
            subscribers_.emplace(id, std::move(subscriber));
        }
        return std::unique_ptr<ChangeSubscription>(std::make_unique<Subscription>(self, id));
    }

private:
    struct Subscriber {
        UserId user = 0;  // 0: every user
        ChangeCallback callback;
        bool active = true;
    };

    class Subscription final : public ChangeSubscription {
    public:
        Subscription(std::weak_ptr<ChangeQueue> queue, std::uint64_t id) : queue_(std::move(queue)), id_(id) {}
        ~Subscription() override {
            if (auto queue = queue_.lock()) queue->unsubscribe(id_);
        }

    private:
        std::weak_ptr<ChangeQueue> queue_;
        std::uint64_t id_;
    };

    void unsubscribe(std::uint64_t id) {
        std::shared_ptr<Subscriber> gone;
        {
            std::lock_guard lock(mutex_);
            auto it = subscribers_.find(id);
            if (it == subscribers_.end()) return;
            gone = std::move(it->second);
            subscribers_.erase(it);
        }
        // A round in progress may hold it among its targets: wait for the round to end, or,
        // inside a callback of that round (this thread delivers), stop it being called.
        if (delivering_thread_.load() == std::this_thread::get_id()) {
            gone->active = false;
        } else {
            std::lock_guard round(round_mutex_);
            gone->active = false;
        }
    }

    std::mutex mutex_;  // subscribers_, next_id_, queue_, delivering_
    std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers_;
    std::uint64_t next_id_ = 1;
    std::deque<MailboxChange> queue_;
    bool delivering_ = false;
    std::mutex round_mutex_;  // held while one round of callbacks runs
    std::atomic<std::thread::id> delivering_thread_{};
};

// ---- maildrop locks --------------------------------------------------------------------

class MemoryStore::LockTable {
public:
    Result<std::unique_ptr<MaildropLock>> lock(const std::shared_ptr<LockTable>& self, UserId user,
                                               const std::string& address) {
        std::lock_guard guard(mutex_);
        if (!held_.insert(user).second)
            return make_error(Errc::busy, "maildrop of " + address + " is already locked by another session");
        return std::unique_ptr<MaildropLock>(std::make_unique<Held>(self, user));
    }

private:
    class Held final : public MaildropLock {
    public:
        Held(std::weak_ptr<LockTable> table, UserId user) : table_(std::move(table)), user_(user) {}
        ~Held() override {
            if (auto table = table_.lock()) {
                std::lock_guard guard(table->mutex_);
                table->held_.erase(user_);
            }
        }

    private:
        std::weak_ptr<LockTable> table_;
        UserId user_;
    };

    std::mutex mutex_;
    std::set<UserId> held_;
};

// ---- the store ---------------------------------------------------------------------------

MemoryStore::MemoryStore(StoreOptions options)
    : options_(std::move(options)),
      state_(std::make_unique<State>()),
      changes_(std::make_shared<ChangeQueue>()),
      locks_(std::make_shared<LockTable>()) {}

MemoryStore::~MemoryStore() = default;

std::unique_ptr<MemoryStore> open_memory_store(const StoreOptions& options) {
    return std::make_unique<MemoryStore>(options);
}

template <class Apply>
auto MemoryStore::commit(Apply&& apply) {
    std::vector<MailboxChange> changes;
    auto result = [&] {
        std::lock_guard lock(mutex_);
        auto applied = apply(*state_, changes);
        if (applied) changes_->enqueue(changes);
        return applied;
    }();
    changes_->deliver();
    return result;
}

// ---- directory -------------------------------------------------------------------------

Result<std::vector<std::string>> MemoryStore::list_domains() {
    std::lock_guard lock(mutex_);
    return std::vector<std::string>(state_->domains.begin(), state_->domains.end());
}

Result<bool> MemoryStore::is_local_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (!validate_domain(domain)) return false;
    std::lock_guard lock(mutex_);
    return state_->domains.count(domain) > 0;
}

Result<User> MemoryStore::find_user(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s.error();
    std::lock_guard lock(mutex_);
    auto a = state_->existing_account(address);
    if (!a) return a.error();
    return (*a)->user;
}

Result<std::vector<User>> MemoryStore::resolve_recipient(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s.error();
    std::lock_guard lock(mutex_);
    State& s = *state_;
    if (auto local = s.check_local_domain(domain_of(address)); !local) return local.error();
    if (auto* a = s.account(address)) return std::vector<User>{a->user};
    std::vector<User> out;
    if (auto it = s.aliases.find(address); it != s.aliases.end())
        for (UserId id : it->second) out.push_back(s.accounts.at(id).user);  // by id, as SQLite orders
    if (out.empty()) return not_found("no such user: " + address);
    return out;
}

Result<std::vector<std::string>> MemoryStore::addresses_of(UserId user) {
    std::lock_guard lock(mutex_);
    auto a = state_->account(user);
    if (!a) return a.error();
    std::vector<std::string> out{(*a)->user.address};
    for (const auto& [alias, targets] : state_->aliases)
        if (targets.count(user)) out.push_back(alias);
    return out;
}

Result<Credentials> MemoryStore::find_credentials(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s.error();
    std::lock_guard lock(mutex_);
    auto a = state_->existing_account(address);
    if (!a) return a.error();
    return Credentials{(*a)->user, (*a)->password_hash};
}

// ---- delivery ------------------------------------------------------------------------------

void MemoryStore::deliver_async(const StoredMessage& message, std::span<const UserId> recipients,
                                TimePoint internal_date, Completion<DeliveryReceipt> done) {
    if (auto s = check_delivery(message, recipients, options_.max_message_size); !s) return done(s.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<DeliveryReceipt> {
        std::vector<State::Mailbox*> inboxes;
        for (UserId id : recipients) {
            State::Mailbox* inbox = s.mailbox_named(id, "INBOX");
            if (!inbox) return not_found("no user with id " + std::to_string(id));
            inboxes.push_back(inbox);
        }
        for (const State::Mailbox* inbox : inboxes)
            if (auto room = s.check_room(*inbox, 1, message.raw.size(), true); !room) return room.error();
        DeliveryReceipt receipt;
        receipt.message = s.store_message(message);
        State::StoredEntry entry{receipt.message, 0, {}, 0, internal_date, message.raw.size()};
        for (std::size_t i = 0; i < inboxes.size(); ++i) {
            State::Added added = s.add_entries(*inboxes[i], std::span<const State::StoredEntry>(&entry, 1));
            receipt.entries.push_back({recipients[i], inboxes[i]->id, added.uids.front()});
            changes.push_back({ChangeKind::appended, recipients[i], inboxes[i]->id, added.modseq});
        }
        return receipt;
    }));
}

void MemoryStore::submit_async(const Submission& submission, Completion<SubmissionReceipt> done) {
    if (auto s = check_submission(submission, options_.max_message_size); !s) return done(s.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<SubmissionReceipt> {
        std::map<MailboxId, std::pair<std::size_t, std::uint64_t>> pending;
        auto inboxes = s.inboxes_with_room(submission.local, submission.message.raw.size(), pending);
        if (!inboxes) return inboxes.error();
        return s.store_submission(submission.message, submission.local, *inboxes, submission.outbound,
                                  submission.internal_date, changes);
    }));
}

// ---- outbound queue --------------------------------------------------------------------------

Result<std::vector<QueuedRecipient>> MemoryStore::list_queue() {
    std::lock_guard lock(mutex_);
    std::vector<QueuedRecipient> out;
    for (const auto& [id, q] : state_->queue) out.push_back(state_->queued_row(q));
    return out;
}

Result<QueuedRecipient> MemoryStore::find_queued(QueueId id) {
    std::lock_guard lock(mutex_);
    auto it = state_->queue.find(id);
    if (it == state_->queue.end()) return not_found("no queue entry " + std::to_string(id));
    return state_->queued_row(it->second);
}

Result<std::vector<QueuedRecipient>> MemoryStore::due_recipients(TimePoint now, std::size_t limit,
                                                                 std::span<const QueueId> busy) {
    std::lock_guard lock(mutex_);
    std::vector<const QueuedRecipient*> due;
    for (const auto& [id, q] : state_->queue)
        if (!q.held && q.next_attempt <= now && !std::binary_search(busy.begin(), busy.end(), id)) due.push_back(&q);
    std::sort(due.begin(), due.end(), [](const QueuedRecipient* a, const QueuedRecipient* b) {
        return std::pair(a->next_attempt, a->id) < std::pair(b->next_attempt, b->id);
    });
    std::vector<QueuedRecipient> out;
    for (std::size_t i = 0; i < due.size() && i < limit; ++i) out.push_back(state_->queued_row(*due[i]));
    return out;
}

Result<std::optional<TimePoint>> MemoryStore::next_due() {
    std::lock_guard lock(mutex_);
    std::optional<TimePoint> next;
    for (const auto& [id, q] : state_->queue)
        if (!q.held && (!next || q.next_attempt < *next)) next = q.next_attempt;
    return next;
}

Result<std::string> MemoryStore::read_queued_message(MessageId message) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, q] : state_->queue)
        if (q.message == message) return state_->messages.at(message).raw;
    return not_found("no queued message " + std::to_string(message));
}

void MemoryStore::settle_async(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices,
                               Completion<void> done) {
    for (const auto& n : notices)
        if (auto s = check_submission(n, 0); !s) return done(s.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Status {
        // Everything that can fail is checked before anything changes.
        std::map<MailboxId, std::pair<std::size_t, std::uint64_t>> pending;
        std::vector<std::vector<State::Mailbox*>> inboxes;
        for (const auto& n : notices) {
            auto found = s.inboxes_with_room(n.local, n.message.raw.size(), pending);
            if (!found) return found.error();
            inboxes.push_back(std::move(*found));
        }
        for (const auto& o : outcomes) {
            if (o.kind == QueueOutcome::Kind::done) {
                s.remove_queued(o.id);
                continue;
            }
            auto it = s.queue.find(o.id);
            if (it == s.queue.end()) continue;  // deleted meanwhile
            QueuedRecipient& q = it->second;
            if (o.count_attempt) ++q.attempts;
            q.next_attempt = o.next_attempt;
            q.last_reply = o.last_reply;
            q.delay_warned = q.delay_warned || o.delay_warned;
        }
        for (std::size_t i = 0; i < notices.size(); ++i)
            s.store_submission(notices[i].message, notices[i].local, inboxes[i], notices[i].outbound,
                               notices[i].internal_date, changes);
        return {};
    }));
}

void MemoryStore::control_queue_async(QueueAction action, std::optional<QueueId> id, Completion<std::size_t> done) {
    if (action == QueueAction::remove && !id) return done(invalid("queue delete needs an entry id"));
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<std::size_t> {
        if (id && !s.queue.count(*id)) return not_found("no queue entry " + std::to_string(*id));
        if (action == QueueAction::remove) return std::size_t{s.remove_queued(*id) ? 1u : 0u};
        const TimePoint now = TimePoint(std::chrono::seconds(now_seconds()));
        std::size_t changed = 0;
        for (auto& [qid, q] : s.queue) {
            if (id && qid != *id) continue;
            if (action == QueueAction::retry && !q.held) {
                if (q.next_attempt > now) q.next_attempt = now;
                ++changed;
            } else if (action == QueueAction::hold && !q.held) {
                q.held = true;
                ++changed;
            } else if (action == QueueAction::release && q.held) {
                q.held = false;
                ++changed;
            }
        }
        if (changed > 0) changes.push_back({ChangeKind::queued, 0, 0, 0});
        return changed;
    }));
}

// ---- maildrop locks --------------------------------------------------------------------------

Result<std::unique_ptr<MaildropLock>> MemoryStore::lock_maildrop(UserId user) {
    std::string address;
    {
        std::lock_guard lock(mutex_);
        auto a = state_->account(user);
        if (!a) return a.error();
        address = (*a)->user.address;
    }
    return locks_->lock(locks_, user, address);
}

// ---- mailboxes: reads ------------------------------------------------------------------------

Result<std::vector<MailboxInfo>> MemoryStore::list_mailboxes(UserId user) {
    std::lock_guard lock(mutex_);
    auto a = state_->account(user);
    if (!a) return a.error();
    std::vector<MailboxInfo> out;
    for (const auto& [name, id] : (*a)->mailboxes) out.push_back(state_->info(state_->mailboxes.at(id)));
    return out;
}

Result<MailboxInfo> MemoryStore::find_mailbox(UserId user, std::string_view name_in) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return name.error();
    std::lock_guard lock(mutex_);
    const State::Mailbox* m = state_->mailbox_named(user, *name);
    if (!m) return not_found("no mailbox " + *name);
    return state_->info(*m);
}

Result<std::vector<std::string>> MemoryStore::list_subscriptions(UserId user) {
    std::lock_guard lock(mutex_);
    auto a = state_->account(user);
    if (!a) return a.error();
    return std::vector<std::string>((*a)->subscriptions.begin(), (*a)->subscriptions.end());
}

Result<MailboxStatus> MemoryStore::mailbox_status(MailboxId mailbox) {
    std::lock_guard lock(mutex_);
    auto box = state_->mailbox(mailbox);
    if (!box) return box.error();
    MailboxStatus status;
    for (const auto& [uid, e] : (*box)->entries) {
        ++status.messages;
        if (!(e.flags & flag_seen)) ++status.unseen;
        if (e.flags & flag_deleted) ++status.deleted;
        status.size += e.size;
        if (uid >= (*box)->first_recent_uid) ++status.recent;
    }
    status.uidvalidity = (*box)->uidvalidity;
    status.uidnext = (*box)->uidnext;
    status.highestmodseq = (*box)->highestmodseq;
    return status;
}

Result<std::vector<Entry>> MemoryStore::fetch_entries(MailboxId mailbox, std::span<const UidRange> ranges,
                                                      FetchOptions options) {
    const std::vector<UidRange> merged = merge_uid_ranges(ranges);
    std::lock_guard lock(mutex_);
    auto box = state_->mailbox(mailbox);
    if (!box) return box.error();
    const auto& entries = (*box)->entries;
    std::vector<Entry> out;
    for (const auto& r : merged) {
        for (auto it = entries.lower_bound(r.first); it != entries.end() && it->first <= r.last; ++it)
            out.push_back(state_->entry(it->first, it->second, options.with_structure));
    }
    return out;
}

Result<std::string> MemoryStore::read_message(MailboxId mailbox, Uid uid) {
    return read_message_chunk(mailbox, uid, 0, std::string::npos);
}

Result<std::string> MemoryStore::read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                                    std::size_t length) {
    std::lock_guard lock(mutex_);
    auto box = state_->mailboxes.find(mailbox);
    const State::StoredEntry* e = nullptr;
    if (box != state_->mailboxes.end()) {
        auto it = box->second.entries.find(uid);
        if (it != box->second.entries.end()) e = &it->second;
    }
    if (!e) return not_found("no message with UID " + std::to_string(uid));
    const std::string& raw = state_->messages.at(e->message).raw;
    if (offset >= raw.size()) return std::string();
    return raw.substr(static_cast<std::size_t>(offset), length);
}

Result<Changes> MemoryStore::changes_since(MailboxId mailbox, ModSeq since) {
    std::lock_guard lock(mutex_);
    auto box = state_->mailbox(mailbox);
    if (!box) return box.error();
    Changes changes;
    changes.highestmodseq = (*box)->highestmodseq;
    for (const auto& [uid, e] : (*box)->entries)
        if (e.modseq > since) changes.changed.push_back(state_->entry(uid, e, false));
    for (const auto& [uid, modseq] : (*box)->expunged)
        if (modseq > since) changes.expunged.push_back(uid);
    return changes;
}

Result<QuotaUsage> MemoryStore::quota_usage(UserId user) {
    std::lock_guard lock(mutex_);
    auto a = state_->account(user);
    if (!a) return a.error();
    return QuotaUsage{(*a)->used_bytes, (*a)->user.quota_bytes, (*a)->used_messages, (*a)->user.quota_messages};
}

// ---- mailboxes: writes -----------------------------------------------------------------------

void MemoryStore::create_mailbox_async(UserId user, std::string_view name_in, SpecialUse special_use,
                                       Completion<MailboxInfo> done) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return done(name.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<MailboxInfo> {
        auto owner = s.account(user);
        if (!owner) return owner.error();
        if ((*owner)->mailboxes.count(*name))
            return make_error(Errc::already_exists, "mailbox " + *name + " already exists");
        auto uidvalidities = s.next_uidvalidities(State::missing_parents(**owner, *name).size() + 1);
        if (!uidvalidities) return uidvalidities.error();
        State::Mailbox& m = s.create_with_parents(**owner, *name, special_use, *uidvalidities);
        changes.push_back({ChangeKind::mailboxes, user, 0, 0});
        return s.info(m);
    }));
}

void MemoryStore::rename_mailbox_async(UserId user, std::string_view from_in, std::string_view to_in,
                                       Completion<void> done) {
    auto from = checked_mailbox_name(from_in);
    if (!from) return done(from.error());
    auto to = checked_mailbox_name(to_in);
    if (!to) return done(to.error());
    if (*to == "INBOX") return done(make_error(Errc::already_exists, "mailbox INBOX already exists"));
    if (starts_with(*to, children_prefix(*from)))
        return done(invalid("cannot rename " + *from + " into itself (" + *to + ")"));
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Status {
        State::Mailbox* source = s.mailbox_named(user, *from);
        if (!source) return not_found("no mailbox " + *from);
        State::Account& owner = s.accounts.at(user);
        if (owner.mailboxes.count(*to)) return make_error(Errc::already_exists, "mailbox " + *to + " already exists");
        const std::vector<std::string> parents = State::missing_parents(owner, *to);
        if (*from == "INBOX") {
            // RFC 9051 6.3.6: the messages move to the new mailbox; INBOX stays, empty.
            auto uidvalidities = s.next_uidvalidities(parents.size() + 1);
            if (!uidvalidities) return uidvalidities.error();
            State::Mailbox& created = s.create_with_parents(owner, *to, SpecialUse::none, *uidvalidities);
            // Cannot fail: same owner (no quota), and an empty mailbox has every UID left.
            auto moved = s.transfer(source->id, s.all_uids(*source), created.id, true, changes);
            (void)moved;
        } else {
            // The mailbox and its children take the new name; their subscriptions follow.
            std::vector<std::pair<std::string, std::string>> renames;  // old, new
            for (auto it = owner.mailboxes.lower_bound(*from);
                 it != owner.mailboxes.end() && (it->first == *from || starts_with(it->first, children_prefix(*from)));
                 ++it)
                renames.emplace_back(it->first, *to + it->first.substr(from->size()));
            for (const auto& [old_name, new_name] : renames)
                if (owner.mailboxes.count(new_name))
                    return make_error(Errc::already_exists, "mailbox " + new_name + " already exists");
            auto uidvalidities = s.next_uidvalidities(parents.size());
            if (!uidvalidities) return uidvalidities.error();
            for (std::size_t i = 0; i < parents.size(); ++i)
                s.create_mailbox(owner, parents[i], SpecialUse::none, (*uidvalidities)[i]);
            std::vector<MailboxId> ids;
            for (const auto& [old_name, new_name] : renames) {
                ids.push_back(owner.mailboxes.at(old_name));
                owner.mailboxes.erase(old_name);
            }
            for (std::size_t i = 0; i < renames.size(); ++i) {
                owner.mailboxes[renames[i].second] = ids[i];
                s.mailboxes.at(ids[i]).name = renames[i].second;
            }
            std::vector<std::string> subscribed;
            for (auto it = owner.subscriptions.begin(); it != owner.subscriptions.end();) {
                if (*it == *from || starts_with(*it, children_prefix(*from))) {
                    subscribed.push_back(*to + it->substr(from->size()));
                    it = owner.subscriptions.erase(it);
                } else {
                    ++it;
                }
            }
            owner.subscriptions.insert(subscribed.begin(), subscribed.end());
        }
        changes.push_back({ChangeKind::mailboxes, user, 0, 0});
        return {};
    }));
}

void MemoryStore::delete_mailbox_async(UserId user, std::string_view name_in, Completion<void> done) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return done(name.error());
    if (*name == "INBOX") return done(invalid("INBOX cannot be deleted"));
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Status {
        State::Mailbox* box = s.mailbox_named(user, *name);
        if (!box) return not_found("no mailbox " + *name);
        State::Account& owner = s.accounts.at(user);
        if (State::has_children(owner, *name))
            return invalid("mailbox " + *name + " has child mailboxes; delete them first");
        const MailboxId id = box->id;
        ExpungeResult removed = s.remove_entries(*box, s.all_uids(*box));
        owner.mailboxes.erase(*name);
        s.mailboxes.erase(id);
        changes.push_back({ChangeKind::expunged, user, id, removed.modseq});
        changes.push_back({ChangeKind::mailboxes, user, 0, 0});
        return {};
    }));
}

void MemoryStore::set_subscribed_async(UserId user, std::string_view name_in, bool subscribed, Completion<void> done) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return done(name.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Status {
        auto owner = s.account(user);
        if (!owner) return owner.error();
        changes.push_back({ChangeKind::mailboxes, user, 0, 0});
        if (subscribed) (*owner)->subscriptions.insert(*name);
        else (*owner)->subscriptions.erase(*name);
        return {};
    }));
}

void MemoryStore::set_flags_async(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change,
                                  Completion<FlagResult> done) {
    auto keywords = checked_flag_change(change, uids);
    if (!keywords) return done(keywords.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<FlagResult> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        struct Update {
            State::StoredEntry* entry;
            Flags flags;
            std::set<std::string> keywords;
        };
        FlagResult result;
        std::vector<Update> updates;
        for (Uid uid : uids) {
            auto it = (*box)->entries.find(uid);
            if (it == (*box)->entries.end()) continue;
            State::StoredEntry& e = it->second;
            if (change.unchanged_since && e.modseq > *change.unchanged_since) {
                result.failed.push_back(uid);
                continue;
            }
            Update u{&e, e.flags, e.keywords};
            switch (change.operation) {
                case FlagOperation::add:
                    u.flags |= change.flags;
                    u.keywords.insert(keywords->begin(), keywords->end());
                    break;
                case FlagOperation::remove:
                    u.flags &= ~change.flags;
                    for (const auto& k : *keywords) u.keywords.erase(k);
                    break;
                case FlagOperation::replace:
                    u.flags = change.flags;
                    u.keywords = *keywords;
                    break;
            }
            if (u.keywords.size() > kMaxKeywordsPerEntry) return too_many_keywords(uid);
            if (u.flags == e.flags && u.keywords == e.keywords) {
                result.unchanged.push_back({uid, e.flags, {e.keywords.begin(), e.keywords.end()}, e.modseq});
                continue;
            }
            result.updated.push_back({uid, u.flags, {u.keywords.begin(), u.keywords.end()}, 0});
            updates.push_back(std::move(u));
        }
        if (updates.empty()) return result;
        const ModSeq modseq = ++(*box)->highestmodseq;
        for (auto& u : updates) {
            u.entry->flags = u.flags;
            u.entry->keywords = std::move(u.keywords);
            u.entry->modseq = modseq;
        }
        for (auto& updated : result.updated) updated.modseq = modseq;
        changes.push_back({ChangeKind::flags, (*box)->user, mailbox, modseq});
        return result;
    }));
}

void MemoryStore::copy_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                     Completion<CopyResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    done(commit(
        [&](State& s, std::vector<MailboxChange>& changes) { return s.transfer(from, uids, to, false, changes); }));
}

void MemoryStore::move_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                     Completion<CopyResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    done(commit(
        [&](State& s, std::vector<MailboxChange>& changes) { return s.transfer(from, uids, to, true, changes); }));
}

void MemoryStore::expunge_async(MailboxId mailbox, std::span<const Uid> uids, Completion<ExpungeResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<ExpungeResult> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        ExpungeResult result = s.remove_entries(**box, uids);
        if (!result.expunged.empty()) changes.push_back({ChangeKind::expunged, (*box)->user, mailbox, result.modseq});
        return result;
    }));
}

void MemoryStore::expunge_deleted_async(MailboxId mailbox, std::optional<std::span<const Uid>> only,
                                        Completion<ExpungeResult> done) {
    if (only) {
        if (auto s = check_uids(*only); !s) return done(s.error());
    }
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<ExpungeResult> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        std::vector<Uid> uids;
        for (const auto& [uid, e] : (*box)->entries) {
            if (!(e.flags & flag_deleted)) continue;
            if (!only || std::binary_search(only->begin(), only->end(), uid)) uids.push_back(uid);
        }
        ExpungeResult result = s.remove_entries(**box, uids);
        if (!result.expunged.empty()) changes.push_back({ChangeKind::expunged, (*box)->user, mailbox, result.modseq});
        return result;
    }));
}

void MemoryStore::claim_recent_async(MailboxId mailbox, Completion<RecentClaim> done) {
    done(commit([&](State& s, std::vector<MailboxChange>&) -> Result<RecentClaim> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        RecentClaim claim{(*box)->first_recent_uid, (*box)->uidnext};
        (*box)->first_recent_uid = (*box)->uidnext;
        return claim;
    }));
}

void MemoryStore::append_async(MailboxId mailbox, const StoredMessage& message, Flags flags,
                               std::span<const std::string> keywords_in, TimePoint internal_date,
                               Completion<AppendResult> done) {
    auto keywords = checked_append(message, flags, keywords_in, options_.max_message_size);
    if (!keywords) return done(keywords.error());
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<AppendResult> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        if (auto room = s.check_room(**box, 1, message.raw.size(), true); !room) return room.error();
        State::StoredEntry entry{s.store_message(message), flags, std::move(*keywords), 0, internal_date,
                                 message.raw.size()};
        State::Added added = s.add_entries(**box, std::span<const State::StoredEntry>(&entry, 1));
        changes.push_back({ChangeKind::appended, (*box)->user, mailbox, added.modseq});
        return AppendResult{(*box)->uidvalidity, added.uids.front(), added.modseq};
    }));
}

void MemoryStore::append_all_async(MailboxId mailbox, std::span<const AppendItem> items,
                                   Completion<std::vector<AppendResult>> done) {
    if (items.empty()) return done(make_error(Errc::invalid_argument, "nothing to append"));
    std::vector<std::set<std::string>> keywords;
    std::uint64_t bytes = 0;
    for (const AppendItem& item : items) {
        auto checked = checked_append(item.message, item.flags, item.keywords, options_.max_message_size);
        if (!checked) return done(checked.error());
        keywords.push_back(std::move(*checked));
        bytes += item.message.raw.size();
    }
    done(commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<std::vector<AppendResult>> {
        auto box = s.mailbox(mailbox);
        if (!box) return box.error();
        if (auto room = s.check_room(**box, items.size(), bytes, true); !room) return room.error();
        std::vector<State::StoredEntry> entries;
        for (std::size_t i = 0; i < items.size(); ++i)
            entries.push_back(State::StoredEntry{s.store_message(items[i].message), items[i].flags,
                                                 std::move(keywords[i]), 0, items[i].internal_date,
                                                 items[i].message.raw.size()});
        State::Added added = s.add_entries(**box, entries);
        changes.push_back({ChangeKind::appended, (*box)->user, mailbox, added.modseq});
        std::vector<AppendResult> out;
        for (Uid uid : added.uids) out.push_back(AppendResult{(*box)->uidvalidity, uid, added.modseq});
        return out;
    }));
}

// ---- change feed ---------------------------------------------------------------------------

Result<std::unique_ptr<ChangeSubscription>> MemoryStore::subscribe(UserId user, ChangeCallback callback) {
    return changes_->subscribe(changes_, user, std::move(callback));
}

// ---- administration --------------------------------------------------------------------------

Status MemoryStore::add_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (auto s = validate_domain(domain); !s) return s;
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        if (!s.domains.insert(domain).second)
            return make_error(Errc::already_exists, "domain " + domain + " already exists");
        return {};
    });
}

Status MemoryStore::remove_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (auto s = validate_domain(domain); !s) return s;
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        if (auto local = s.check_local_domain(domain); !local) return local;
        std::size_t users = 0, aliases = 0;
        for (const auto& [address, id] : s.account_ids) users += domain_of(address) == domain;
        for (const auto& [address, targets] : s.aliases) aliases += domain_of(address) == domain;
        if (users > 0 || aliases > 0)
            return invalid("domain " + domain + " still has " + std::to_string(users) + " user(s) and " +
                           std::to_string(aliases) + " alias(es); remove them first");
        s.domains.erase(domain);
        return {};
    });
}

Result<std::string> MemoryStore::hash_password(std::string_view password) {
    return storage::hash_password(password, options_);
}

Result<User> MemoryStore::add_user(std::string_view address_in, std::string_view password, std::uint64_t quota_bytes) {
    UserImport wanted{normalize_address(address_in), {}, quota_bytes};
    if (auto s = validate_address(wanted.address); !s) return s.error();
    auto hash = hash_password(password);  // before the mutex: argon2 is slow
    if (!hash) return hash.error();
    wanted.password_hash = std::move(*hash);
    return commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<User> {
        if (auto ok = s.check_new_user(wanted.address); !ok) return ok.error();
        auto uidvalidities = s.next_uidvalidities(std::size(kDefaultMailboxes));
        if (!uidvalidities) return uidvalidities.error();
        return s.create_user(wanted, options_, *uidvalidities, changes);
    });
}

Result<std::vector<User>> MemoryStore::import_users(std::span<const UserImport> users) {
    auto checked = checked_imports(users);  // everything that needs no store, first
    if (!checked) return checked.error();
    const std::vector<UserImport>& wanted = *checked;
    if (wanted.empty()) return std::vector<User>();
    return commit([&](State& s, std::vector<MailboxChange>& changes) -> Result<std::vector<User>> {
        for (const auto& w : wanted)
            if (auto ok = s.check_new_user(w.address); !ok) return ok.error();
        constexpr std::size_t per_user = std::size(kDefaultMailboxes);
        auto uidvalidities = s.next_uidvalidities(per_user * wanted.size());
        if (!uidvalidities) return uidvalidities.error();
        std::vector<User> added;
        added.reserve(wanted.size());
        for (std::size_t i = 0; i < wanted.size(); ++i)
            added.push_back(
                s.create_user(wanted[i], options_,
                              std::span<const std::uint32_t>(*uidvalidities).subspan(i * per_user, per_user), changes));
        return added;
    });
}

Status MemoryStore::remove_user(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s;
    return commit([&](State& s, std::vector<MailboxChange>& changes) -> Status {
        auto found = s.existing_account(address);
        if (!found) return found.error();
        const UserId id = (*found)->user.id;
        for (const auto& [name, mailbox] : (*found)->mailboxes) {
            for (const auto& [uid, e] : s.mailboxes.at(mailbox).entries) s.release_message(e.message);
            s.mailboxes.erase(mailbox);
        }
        for (auto it = s.aliases.begin(); it != s.aliases.end();) {
            it->second.erase(id);
            it = it->second.empty() ? s.aliases.erase(it) : std::next(it);
        }
        s.account_ids.erase(address);
        s.accounts.erase(id);
        changes.push_back({ChangeKind::mailboxes, id, 0, 0});
        return {};
    });
}

Status MemoryStore::set_password(std::string_view address_in, std::string_view password) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s;
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        auto found = s.existing_account(address);
        if (!found) return found.error();
        (*found)->password_hash = std::move(*hash);
        return {};
    });
}

Status MemoryStore::set_quota(std::string_view address_in, std::uint64_t quota_bytes,
                              std::optional<std::uint64_t> quota_messages) {
    std::string address = normalize_address(address_in);
    if (auto s = validate_address(address); !s) return s;
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        auto found = s.existing_account(address);
        if (!found) return found.error();
        (*found)->user.quota_bytes = quota_bytes;
        if (quota_messages) (*found)->user.quota_messages = *quota_messages;
        return {};
    });
}

Result<std::vector<User>> MemoryStore::list_users(std::string_view domain_in) {
    auto domain = domain_filter(domain_in);
    if (!domain) return domain.error();
    std::lock_guard lock(mutex_);
    if (auto local = state_->check_filter(*domain); !local) return local.error();
    std::vector<User> out;
    for (const auto& [address, id] : state_->account_ids)
        if (in_filter(address, *domain)) out.push_back(state_->accounts.at(id).user);
    return out;
}

Status MemoryStore::add_alias(std::string_view alias_in, std::string_view target_in) {
    std::string alias = normalize_address(alias_in);
    std::string target = normalize_address(target_in);
    if (auto s = validate_address(alias); !s) return s;
    if (auto s = validate_address(target); !s) return s;
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        if (auto local = s.check_local_domain(domain_of(alias)); !local) return local;
        if (s.account(alias)) return make_error(Errc::already_exists, alias + " is a user, not an alias");
        auto user = s.existing_account(target);
        if (!user) return user.error();
        if (!s.aliases[alias].insert((*user)->user.id).second)
            return make_error(Errc::already_exists, "alias " + alias + " -> " + target + " already exists");
        return {};
    });
}

Status MemoryStore::remove_alias(std::string_view alias_in, std::string_view target_in) {
    std::string alias = normalize_address(alias_in);
    std::string target = normalize_address(target_in);
    if (auto s = validate_address(alias); !s) return s;
    if (!target.empty()) {
        if (auto s = validate_address(target); !s) return s;
    }
    return commit([&](State& s, std::vector<MailboxChange>&) -> Status {
        auto it = s.aliases.find(alias);
        if (target.empty()) {
            if (it == s.aliases.end()) return not_found("no such alias: " + alias);
            s.aliases.erase(it);
            return {};
        }
        const State::Account* user = s.account(target);
        if (it == s.aliases.end() || !user || !it->second.erase(user->user.id))
            return not_found("no such alias: " + alias + " -> " + target);
        if (it->second.empty()) s.aliases.erase(it);
        return {};
    });
}

Result<std::vector<Alias>> MemoryStore::list_aliases(std::string_view domain_in) {
    auto domain = domain_filter(domain_in);
    if (!domain) return domain.error();
    std::lock_guard lock(mutex_);
    if (auto local = state_->check_filter(*domain); !local) return local.error();
    std::vector<Alias> out;
    for (const auto& [address, targets] : state_->aliases) {
        if (!in_filter(address, *domain)) continue;
        Alias alias{address, {}};
        for (UserId id : targets) alias.targets.push_back(state_->accounts.at(id).user.address);
        std::sort(alias.targets.begin(), alias.targets.end());
        out.push_back(std::move(alias));
    }
    return out;
}

Result<StoreStats> MemoryStore::stats() {
    std::lock_guard lock(mutex_);
    const State& s = *state_;
    StoreStats stats;
    stats.domains = s.domains.size();
    stats.users = s.accounts.size();
    stats.aliases = s.aliases.size();
    stats.mailboxes = s.mailboxes.size();
    stats.messages = s.messages.size();
    for (const auto& [id, m] : s.mailboxes) stats.entries += m.entries.size();
    for (const auto& [id, m] : s.messages) stats.message_bytes += m.raw.size();
    stats.queued = s.queue.size();
    return stats;
}

Status MemoryStore::integrity_check() {
    std::lock_guard lock(mutex_);
    const State& s = *state_;
    std::vector<std::string> problems;
    auto problem = [&](std::string text) {
        if (problems.size() < 10) problems.push_back(std::move(text));
    };
    std::map<MessageId, std::size_t> references;
    for (const auto& [id, a] : s.accounts) {
        const std::string& who = a.user.address;
        if (a.user.id != id) problem("user " + who + " filed under id " + std::to_string(id));
        if (auto it = s.account_ids.find(who); it == s.account_ids.end() || it->second != id)
            problem("user " + who + " missing from the address index");
        if (!s.domains.count(std::string(domain_of(who)))) problem("user " + who + " outside every local domain");
        if (!a.mailboxes.count("INBOX")) problem("user " + who + " has no INBOX");
        std::uint64_t bytes = 0, count = 0;
        for (const auto& [name, mailbox] : a.mailboxes) {
            auto it = s.mailboxes.find(mailbox);
            if (it == s.mailboxes.end() || it->second.user != id || it->second.name != name) {
                problem("mailbox " + name + " of " + who + " is not in the mailbox table as such");
                continue;
            }
            const State::Mailbox& m = it->second;
            if (m.uidvalidity == 0 || m.uidvalidity > s.last_uidvalidity)
                problem("mailbox " + name + " of " + who + " has UIDVALIDITY beyond the last one given");
            for (const auto& [uid, e] : m.entries) {
                ++count;
                bytes += e.size;
                ++references[e.message];
                if (uid == 0 || uid >= m.uidnext)
                    problem("UID " + std::to_string(uid) + " in " + name + " not below UIDNEXT");
                if (e.modseq == 0 || e.modseq > m.highestmodseq)
                    problem("UID " + std::to_string(uid) + " in " + name + " has a modseq beyond HIGHESTMODSEQ");
                auto message = s.messages.find(e.message);
                if (message == s.messages.end())
                    problem("UID " + std::to_string(uid) + " in " + name + " has no message");
                else if (message->second.raw.size() != e.size)
                    problem("UID " + std::to_string(uid) + " in " + name + " has the wrong size");
            }
            for (const auto& [uid, modseq] : m.expunged) {
                if (m.entries.count(uid) || uid >= m.uidnext || modseq > m.highestmodseq)
                    problem("expunged UID " + std::to_string(uid) + " in " + name + " is inconsistent");
            }
        }
        if (bytes != a.used_bytes || count != a.used_messages)
            problem("usage of " + who + " is " + std::to_string(a.used_bytes) + " bytes in " +
                    std::to_string(a.used_messages) + " messages, its entries hold " + std::to_string(bytes) + " in " +
                    std::to_string(count));
    }
    for (const auto& [id, q] : s.queue) {
        ++references[q.message];
        if (!s.messages.count(q.message)) problem("queue entry " + std::to_string(id) + " has no message");
    }
    std::size_t owned = 0;
    for (const auto& [id, a] : s.accounts) owned += a.mailboxes.size();
    if (owned != s.mailboxes.size()) problem("mailboxes without an owner");
    if (s.account_ids.size() != s.accounts.size()) problem("the address index and the users disagree");
    for (const auto& [id, m] : s.messages) {
        auto it = references.find(id);
        std::size_t held = it == references.end() ? 0 : it->second;
        if (held == 0 || held != m.entries)
            problem("message " + std::to_string(id) + " counts " + std::to_string(m.entries) + " entries, " +
                    std::to_string(held) + " hold it");
    }
    for (const auto& [alias, targets] : s.aliases) {
        if (targets.empty()) problem("alias " + alias + " has no target");
        if (s.account_ids.count(alias)) problem("alias " + alias + " is also a user");
        if (!s.domains.count(std::string(domain_of(alias)))) problem("alias " + alias + " outside every local domain");
        for (UserId id : targets)
            if (!s.accounts.count(id)) problem("alias " + alias + " points at a removed user");
    }
    if (problems.empty()) return {};
    std::string report;
    for (const auto& p : problems) report += (report.empty() ? "" : "; ") + p;
    return make_error(Errc::io_error, "store integrity check failed: " + report);
}

}  // namespace hikyaku::storage
