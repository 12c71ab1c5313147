// sqlite_store.h: the SQLite backend of Store (store.h), built by open_store().
//
// Threads: reads check out a connection from a pool and run in one read transaction each,
// on the caller's thread; writes go as jobs to the GroupCommitWriter (one writer thread per
// open store), so concurrent deliveries share commits, and complete on the writer thread. POP3 maildrop locks are MaildropLocks (one
// lock file per store, a record lock per user). Change notification is ChangeNotifier.
//
// Must never: hold a read transaction across calls (it would pin the WAL); write outside
// the writer thread; hash passwords on the writer thread (argon2 costs tens of ms).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "storage/change_notifier.h"
#include "storage/group_commit.h"
#include "storage/maildrop_locks.h"
#include "storage/password.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace hikyaku::storage {

class SqliteStore final : public Store {
public:
    static Result<std::unique_ptr<SqliteStore>> open(const StoreOptions& options);
    ~SqliteStore() override;

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

    // QueueRole
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
    Result<std::vector<std::optional<std::string>>> read_messages(MailboxId mailbox,
                                                                  std::span<const Uid> uids) override;
    Result<std::string> read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                           std::size_t length) override;
    Result<Changes> changes_since(MailboxId mailbox, ModSeq since) override;
    Result<std::optional<std::vector<Uid>>> text_search_candidates(MailboxId mailbox, std::string_view folded_needle,
                                                                   bool with_header) override;
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
    Result<StoreStats> stats() override;
    Status integrity_check() override;
    Result<TextIndexProgress> index_pending_text(std::size_t max_messages) override;

    // For tests and the benchmark: how many commits the writer made for how many jobs.
    std::size_t batches_committed() const { return writer_->batches_committed(); }
    std::size_t jobs_committed() const { return writer_->jobs_committed(); }

    class Reader;  // a pooled read connection on loan; returns to the pool when destroyed

private:
    explicit SqliteStore(StoreOptions options);
    Result<Reader> borrow_reader();
    void give_back(sqlite::Connection connection);
    // A write whose job yields a T, completed through `done` after the commit.
    template <class T, class Job>
    void write_async(Completion<T> done, Job job);
    // The administration's blocking writes.
    Status write(WriteJob job);

    StoreOptions options_;
    std::unique_ptr<MaildropLocks> maildrop_locks_;  // "<store>.locks/maildrops.lock"
    std::unique_ptr<ChangeNotifier> notifier_;
    std::unique_ptr<GroupCommitWriter> writer_;

    std::mutex readers_mutex_;
    std::vector<sqlite::Connection> idle_readers_;
};

}  // namespace hikyaku::storage
