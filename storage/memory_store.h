// memory_store.h: the store kept in this process's memory, implementing every role of Store
// (store.h) with the SQLite backend's rules and error kinds: for in-process tests of
// sessions, where a test must take milliseconds and leave no file behind. Not a mock: it
// keeps every domain, user, alias, mailbox, entry and message, and enforces what
// sqlite_store.cpp enforces (UIDVALIDITY strictly increasing over the store and at least the
// current time, UIDNEXT only growing, HIGHESTMODSEQ raised once per changing call, the
// expunge log, quotas with too_big and over_quota, single-instance message bytes, name
// validation, all-or-none calls). The contract tests in tests/storage run against both.
//
// Threads: one mutex guards the whole state; every call is thread-safe and holds it for the
// call's work only. Writes complete inline: the completion runs on the caller's thread
// before the _async call returns (completion.h allows it), never under the mutex, so a
// completion may call the store again. Change callbacks run after the change is applied,
// never under the mutex, on the thread of the write that made the change (or of a
// concurrent writer already delivering changes), in the order the changes were applied; a
// write made without a concurrent writer has called its subscribers before it returns.
// Maildrop locks exclude within this store object only (there is no other process).
// Reads never wait for a disk, so they never fail with would_block.
//
// Must never: half-apply a call (every write checks everything before it changes anything);
// call a completion or a change callback while holding the mutex; call a callback after its
// subscription's destructor returned; keep message bytes no entry and no queue row references.
#pragma once

#include <memory>
#include <mutex>

#include "storage/store.h"

namespace hikyaku::storage {

class MemoryStore final : public Store {
public:
    explicit MemoryStore(StoreOptions options);  // options.path and options.create are ignored
    ~MemoryStore() override;

    // Directory
    Result<std::vector<std::string>> list_domains() override;
    Result<bool> is_local_domain(std::string_view domain) override;
    Result<User> find_user(std::string_view address) override;
    Result<std::vector<User>> resolve_recipient(std::string_view address) override;
    Result<std::vector<std::string>> addresses_of(UserId user) override;
    Result<Credentials> find_credentials(std::string_view address) override;

    // Delivery
    void deliver_async(const StoredMessage& message, std::span<const UserId> recipients, TimePoint internal_date,
                       Completion<DeliveryReceipt> done) override;
    void submit_async(const Submission& submission, Completion<SubmissionReceipt> done) override;
    std::uint64_t max_message_size() const override { return options_.max_message_size; }

    // QueueRole (storage/queue.h)
    Result<std::vector<QueuedRecipient>> list_queue() override;
    Result<QueuedRecipient> find_queued(QueueId id) override;
    Result<std::vector<QueuedRecipient>> due_recipients(TimePoint now, std::size_t limit,
                                                        std::span<const QueueId> busy) override;
    Result<std::optional<TimePoint>> next_due() override;
    Result<std::string> read_queued_message(MessageId message) override;
    void settle_async(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices,
                      Completion<void> done) override;
    void control_queue_async(QueueAction action, std::optional<QueueId> id, Completion<std::size_t> done) override;

    // MaildropLocking
    Result<std::unique_ptr<MaildropLock>> lock_maildrop(UserId user) override;

    // Mailboxes: reads
    Result<std::vector<MailboxInfo>> list_mailboxes(UserId user) override;
    Result<MailboxInfo> find_mailbox(UserId user, std::string_view name) override;
    Result<std::vector<std::string>> list_subscriptions(UserId user) override;
    Result<MailboxStatus> mailbox_status(MailboxId mailbox) override;
    Result<std::vector<Entry>> fetch_entries(MailboxId mailbox, std::span<const UidRange> uids,
                                             FetchOptions options = {}) override;
    Result<std::string> read_message(MailboxId mailbox, Uid uid) override;
    Result<std::string> read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                           std::size_t length) override;
    Result<Changes> changes_since(MailboxId mailbox, ModSeq since) override;
    Result<QuotaUsage> quota_usage(UserId user) override;

    // Mailboxes: writes
    void create_mailbox_async(UserId user, std::string_view name, SpecialUse special_use,
                              Completion<MailboxInfo> done) override;
    void rename_mailbox_async(UserId user, std::string_view from, std::string_view to, Completion<void> done) override;
    void delete_mailbox_async(UserId user, std::string_view name, Completion<void> done) override;
    void set_subscribed_async(UserId user, std::string_view name, bool subscribed, Completion<void> done) override;
    void set_flags_async(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change,
                         Completion<FlagResult> done) override;
    void copy_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                            Completion<CopyResult> done) override;
    void move_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                            Completion<CopyResult> done) override;
    void expunge_async(MailboxId mailbox, std::span<const Uid> uids, Completion<ExpungeResult> done) override;
    void expunge_deleted_async(MailboxId mailbox, std::optional<std::span<const Uid>> only,
                               Completion<ExpungeResult> done) override;
    void claim_recent_async(MailboxId mailbox, Completion<RecentClaim> done) override;
    void append_async(MailboxId mailbox, const StoredMessage& message, Flags flags,
                      std::span<const std::string> keywords, TimePoint internal_date,
                      Completion<AppendResult> done) override;
    void append_all_async(MailboxId mailbox, std::span<const AppendItem> items,
                          Completion<std::vector<AppendResult>> done) override;

    // ChangeFeed
    Result<std::unique_ptr<ChangeSubscription>> subscribe(UserId user, ChangeCallback callback) override;

    // Administration
    Status add_domain(std::string_view domain) override;
    Status remove_domain(std::string_view domain) override;
    Result<User> add_user(std::string_view address, std::string_view password, std::uint64_t quota_bytes = 0) override;
    Status remove_user(std::string_view address) override;
    Status set_password(std::string_view address, std::string_view password) override;
    Status set_quota(std::string_view address, std::uint64_t quota_bytes,
                     std::optional<std::uint64_t> quota_messages = std::nullopt) override;
    Result<std::string> hash_password(std::string_view password) override;
    Result<std::vector<User>> import_users(std::span<const UserImport> users) override;
    Result<std::vector<User>> list_users(std::string_view domain = {}) override;
    Status add_alias(std::string_view alias, std::string_view target_user) override;
    Status remove_alias(std::string_view alias, std::string_view target_user = {}) override;
    Result<std::vector<Alias>> list_aliases(std::string_view domain = {}) override;
    // file_bytes and schema_version are 0: there is no file and no schema.
    Result<StoreStats> stats() override;
    // Checks the state's own invariants (usage counters, message references, UIDs below
    // UIDNEXT, modseqs up to HIGHESTMODSEQ, names, aliases); io_error naming what is wrong.
    Status integrity_check() override;
    // Nothing is ever pending: this backend has no full-text index.
    Result<TextIndexProgress> index_pending_text(std::size_t) override { return TextIndexProgress{}; }

    struct State;       // everything the store holds (memory_store.cpp)
    class ChangeQueue;  // changes waiting for their callbacks, and the subscribers
    class LockTable;    // the maildrops held

private:
    // Runs `apply(state, changes)` under the mutex; a failed apply must have changed nothing.
    // The changes of a successful apply are queued in order under the mutex and delivered
    // after it is released. Returns apply's result.
    template <class Apply>
    auto commit(Apply&& apply);

    const StoreOptions options_;
    std::mutex mutex_;  // guards *state_
    std::unique_ptr<State> state_;
    std::shared_ptr<ChangeQueue> changes_;  // shared with subscriptions, which may outlive us
    std::shared_ptr<LockTable> locks_;      // shared with held locks, which may outlive us
};

// A new, empty store (no domains, no users). Cannot fail.
std::unique_ptr<MemoryStore> open_memory_store(const StoreOptions& options);

}  // namespace hikyaku::storage
