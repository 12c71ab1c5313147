// async_store.cpp: the store's writes as awaitables (see async_store.h).
#include "common/server/async_store.h"

namespace hikyaku::server {

using namespace storage;

asio::awaitable<StoredMessage> AsyncStore::prepare(std::string_view raw) {
    if (raw.size() <= kInlineParseLimit) co_return prepare_message(raw);
    co_return co_await pool_.run([&] { return prepare_message(raw); });
}

asio::awaitable<Result<DeliveryReceipt>> AsyncStore::deliver(std::string_view raw, std::span<const UserId> recipients,
                                                             TimePoint internal_date) {
    const StoredMessage message = co_await prepare(raw);
    co_return co_await submit<DeliveryReceipt>([&](Completion<DeliveryReceipt> done) {
        store_.deliver_async(message, recipients, internal_date, std::move(done));
    });
}

asio::awaitable<Result<SubmissionReceipt>> AsyncStore::submit(std::string_view raw, std::span<const UserId> local,
                                                              const OutboundEnvelope& outbound,
                                                              TimePoint internal_date) {
    Submission submission;
    submission.message = co_await prepare(raw);
    submission.local.assign(local.begin(), local.end());
    submission.outbound = outbound;
    submission.internal_date = internal_date;
    co_return co_await submit<SubmissionReceipt>(
        [&](Completion<SubmissionReceipt> done) { store_.submit_async(submission, std::move(done)); });
}

asio::awaitable<Result<AppendResult>> AsyncStore::append(MailboxId mailbox, std::string_view raw, Flags flags,
                                                         std::span<const std::string> keywords,
                                                         TimePoint internal_date) {
    const StoredMessage message = co_await prepare(raw);
    co_return co_await submit<AppendResult>([&](Completion<AppendResult> done) {
        store_.append_async(mailbox, message, flags, keywords, internal_date, std::move(done));
    });
}

asio::awaitable<Result<std::vector<AppendResult>>> AsyncStore::append_all(MailboxId mailbox,
                                                                          std::vector<AppendItem> items) {
    for (AppendItem& item : items) item.message = co_await prepare(item.message.raw);
    co_return co_await submit<std::vector<AppendResult>>(
        [&](Completion<std::vector<AppendResult>> done) { store_.append_all_async(mailbox, items, std::move(done)); });
}

asio::awaitable<Result<FlagResult>> AsyncStore::set_flags(MailboxId mailbox, std::span<const Uid> uids,
                                                          const FlagChange& change) {
    co_return co_await submit<FlagResult>(
        [&](Completion<FlagResult> done) { store_.set_flags_async(mailbox, uids, change, std::move(done)); });
}

asio::awaitable<Result<CopyResult>> AsyncStore::copy(MailboxId from, std::span<const Uid> uids, MailboxId to) {
    co_return co_await submit<CopyResult>(
        [&](Completion<CopyResult> done) { store_.copy_entries_async(from, uids, to, std::move(done)); });
}

asio::awaitable<Result<CopyResult>> AsyncStore::move(MailboxId from, std::span<const Uid> uids, MailboxId to) {
    co_return co_await submit<CopyResult>(
        [&](Completion<CopyResult> done) { store_.move_entries_async(from, uids, to, std::move(done)); });
}

asio::awaitable<Result<ExpungeResult>> AsyncStore::expunge(MailboxId mailbox, std::span<const Uid> uids) {
    co_return co_await submit<ExpungeResult>(
        [&](Completion<ExpungeResult> done) { store_.expunge_async(mailbox, uids, std::move(done)); });
}

asio::awaitable<Result<ExpungeResult>> AsyncStore::expunge_deleted(MailboxId mailbox,
                                                                   std::optional<std::span<const Uid>> only) {
    co_return co_await submit<ExpungeResult>(
        [&](Completion<ExpungeResult> done) { store_.expunge_deleted_async(mailbox, only, std::move(done)); });
}

asio::awaitable<Result<MailboxInfo>> AsyncStore::create_mailbox(UserId user, std::string_view name, SpecialUse use) {
    co_return co_await submit<MailboxInfo>(
        [&](Completion<MailboxInfo> done) { store_.create_mailbox_async(user, name, use, std::move(done)); });
}

asio::awaitable<Status> AsyncStore::rename_mailbox(UserId user, std::string_view from, std::string_view to) {
    co_return co_await submit<void>(
        [&](Completion<void> done) { store_.rename_mailbox_async(user, from, to, std::move(done)); });
}

asio::awaitable<Status> AsyncStore::delete_mailbox(UserId user, std::string_view name) {
    co_return co_await submit<void>(
        [&](Completion<void> done) { store_.delete_mailbox_async(user, name, std::move(done)); });
}

asio::awaitable<Status> AsyncStore::set_subscribed(UserId user, std::string_view name, bool subscribed) {
    co_return co_await submit<void>(
        [&](Completion<void> done) { store_.set_subscribed_async(user, name, subscribed, std::move(done)); });
}

asio::awaitable<Result<RecentClaim>> AsyncStore::claim_recent(MailboxId mailbox) {
    co_return co_await submit<RecentClaim>(
        [&](Completion<RecentClaim> done) { store_.claim_recent_async(mailbox, std::move(done)); });
}

}  // namespace hikyaku::server
