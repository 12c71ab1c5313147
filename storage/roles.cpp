// roles.cpp: what the store's roles do above any backend: the blocking forms of the writes
// (for mailctl and tests), the cache-only read scope, StoreOptions from the config, and
// password hashing at the options' cost.
#include <chrono>

#include "common/config.h"
#include "storage/message.h"
#include "storage/password.h"
#include "storage/store.h"
#include "storage/store_rules.h"

namespace hikyaku::storage {

namespace {
thread_local unsigned cache_only_depth = 0;
}  // namespace

CacheOnlyReads::CacheOnlyReads() { ++cache_only_depth; }
CacheOnlyReads::~CacheOnlyReads() { --cache_only_depth; }
bool CacheOnlyReads::active() { return cache_only_depth > 0; }

StoreOptions store_options(const Config& config) {
    StoreOptions options;
    options.path = config.storage.path;
    options.max_message_size = config.storage.max_message_size + kTraceHeaderAllowance;
    options.default_quota = config.storage.default_quota;
    options.default_quota_messages = config.storage.default_quota_messages;
    return options;
}

Result<std::string> hash_password(std::string_view password, const StoreOptions& options) {
    if (auto s = check_password(password); !s) return s.error();
    PasswordCost cost;
    cost.memory_kib = options.argon2_memory_kib;
    cost.iterations = options.argon2_iterations;
    return hash_password(password, cost);
}

Result<DeliveryReceipt> Delivery::deliver(std::string_view raw, std::span<const UserId> recipients,
                                          TimePoint internal_date) {
    const StoredMessage message = prepare_message(raw);
    const std::vector<UserId> unique = unique_recipients(recipients);
    return wait_for<DeliveryReceipt>(
        [&](Completion<DeliveryReceipt> done) { deliver_async(message, unique, internal_date, std::move(done)); });
}

Result<SubmissionReceipt> Delivery::submit(std::string_view raw, std::span<const UserId> local,
                                           const OutboundEnvelope& outbound, TimePoint internal_date) {
    Submission submission;
    submission.message = prepare_message(raw);
    submission.local = unique_recipients(local);
    submission.outbound = outbound;
    submission.internal_date = internal_date;
    return wait_for<SubmissionReceipt>(
        [&](Completion<SubmissionReceipt> done) { submit_async(submission, std::move(done)); });
}

Status QueueRole::settle(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices) {
    return wait_for<void>([&](Completion<void> done) { settle_async(outcomes, notices, std::move(done)); });
}

Result<std::size_t> QueueRole::control_queue(QueueAction action, std::optional<QueueId> id) {
    return wait_for<std::size_t>(
        [&](Completion<std::size_t> done) { control_queue_async(action, id, std::move(done)); });
}

Result<std::vector<std::optional<std::string>>> Mailboxes::read_messages(MailboxId mailbox, std::span<const Uid> uids) {
    std::vector<std::optional<std::string>> out;
    out.reserve(uids.size());
    for (Uid uid : uids) {
        auto raw = read_message(mailbox, uid);
        if (raw) out.emplace_back(std::move(*raw));
        else if (raw.error().code == Errc::not_found) out.emplace_back(std::nullopt);
        else return raw.error();
    }
    return out;
}

Result<MailboxInfo> Mailboxes::create_mailbox(UserId user, std::string_view name, SpecialUse special_use) {
    return wait_for<MailboxInfo>(
        [&](Completion<MailboxInfo> done) { create_mailbox_async(user, name, special_use, std::move(done)); });
}

Status Mailboxes::rename_mailbox(UserId user, std::string_view from, std::string_view to) {
    return wait_for<void>([&](Completion<void> done) { rename_mailbox_async(user, from, to, std::move(done)); });
}

Status Mailboxes::delete_mailbox(UserId user, std::string_view name) {
    return wait_for<void>([&](Completion<void> done) { delete_mailbox_async(user, name, std::move(done)); });
}

Status Mailboxes::set_subscribed(UserId user, std::string_view name, bool subscribed) {
    return wait_for<void>(
        [&](Completion<void> done) { set_subscribed_async(user, name, subscribed, std::move(done)); });
}

Result<FlagResult> Mailboxes::set_flags(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change) {
    const std::vector<Uid> normalized = normalize_uids(uids);
    return wait_for<FlagResult>(
        [&](Completion<FlagResult> done) { set_flags_async(mailbox, normalized, change, std::move(done)); });
}

Result<CopyResult> Mailboxes::copy_entries(MailboxId from, std::span<const Uid> uids, MailboxId to) {
    const std::vector<Uid> normalized = normalize_uids(uids);
    return wait_for<CopyResult>(
        [&](Completion<CopyResult> done) { copy_entries_async(from, normalized, to, std::move(done)); });
}

Result<CopyResult> Mailboxes::move_entries(MailboxId from, std::span<const Uid> uids, MailboxId to) {
    const std::vector<Uid> normalized = normalize_uids(uids);
    return wait_for<CopyResult>(
        [&](Completion<CopyResult> done) { move_entries_async(from, normalized, to, std::move(done)); });
}

Result<ExpungeResult> Mailboxes::expunge(MailboxId mailbox, std::span<const Uid> uids) {
    const std::vector<Uid> normalized = normalize_uids(uids);
    return wait_for<ExpungeResult>(
        [&](Completion<ExpungeResult> done) { expunge_async(mailbox, normalized, std::move(done)); });
}

Result<ExpungeResult> Mailboxes::expunge_deleted(MailboxId mailbox, std::optional<std::span<const Uid>> only) {
    std::optional<std::vector<Uid>> normalized;
    if (only) normalized = normalize_uids(*only);
    std::optional<std::span<const Uid>> restricted;
    if (normalized) restricted = std::span<const Uid>(*normalized);
    return wait_for<ExpungeResult>(
        [&](Completion<ExpungeResult> done) { expunge_deleted_async(mailbox, restricted, std::move(done)); });
}

Result<RecentClaim> Mailboxes::claim_recent(MailboxId mailbox) {
    return wait_for<RecentClaim>([&](Completion<RecentClaim> done) { claim_recent_async(mailbox, std::move(done)); });
}

Result<AppendResult> Mailboxes::append(MailboxId mailbox, std::string_view raw, Flags flags,
                                       std::span<const std::string> keywords, TimePoint internal_date) {
    const StoredMessage message = prepare_message(raw);
    return wait_for<AppendResult>([&](Completion<AppendResult> done) {
        append_async(mailbox, message, flags, keywords, internal_date, std::move(done));
    });
}

Result<std::vector<AppendResult>> Mailboxes::append_all(MailboxId mailbox, std::span<const AppendItem> items) {
    return wait_for<std::vector<AppendResult>>(
        [&](Completion<std::vector<AppendResult>> done) { append_all_async(mailbox, items, std::move(done)); });
}

}  // namespace hikyaku::storage
