// mailboxes.h: the store's mailbox role: a user's mailboxes and the entries in them (UID,
// flags, keywords, modseq), read by pop3d and imapd and written by imapd (and POP3's QUIT).
//
// Reads (the methods returning Result) are blocking and cheap: each sees one consistent
// snapshot. They may fail with Errc::would_block when the caller asked not to wait for the
// disk (ReadMode, storage/store.h). Writes are submitted with a Completion that runs after
// the write is durable (storage/completion.h); each write is one transaction that bumps the
// mailbox's HIGHESTMODSEQ once if anything changed. The blocking forms of the writes (same
// name without _async) wait for that completion: for mailctl and tests, never an event loop.
//
// UID lists passed to writes must be increasing and without 0 (normalize_uids() in
// storage/message.h); UIDs that do not exist are ignored (RFC 9051 STORE/COPY of vanished
// UIDs). Names are validated: no empty segment, no "." or ".." segment, no control
// characters, length and depth caps; "INBOX" is case-insensitive.
// Must never: let a UID go backwards or be reused in a mailbox; change an entry without
// raising HIGHESTMODSEQ; half-apply a call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/completion.h"
#include "storage/types.h"

namespace hikyaku::storage {

class Mailboxes {
public:
    virtual ~Mailboxes() = default;

    // ---- reads ----------------------------------------------------------------------------
    virtual Result<std::vector<MailboxInfo>> list_mailboxes(UserId user) = 0;
    virtual Result<MailboxInfo> find_mailbox(UserId user, std::string_view name) = 0;
    Result<MailboxInfo> inbox(UserId user) { return find_mailbox(user, "INBOX"); }
    virtual Result<std::vector<std::string>> list_subscriptions(UserId user) = 0;
    virtual Result<MailboxStatus> mailbox_status(MailboxId mailbox) = 0;
    // Entries ordered by UID.
    virtual Result<std::vector<Entry>> fetch_entries(MailboxId mailbox, std::span<const UidRange> uids,
                                                     FetchOptions options = {}) = 0;
    // Message bytes: whole, or a chunk [offset, offset+length) (shorter at the end, empty past
    // it) for streaming large messages without holding them in memory.
    virtual Result<std::string> read_message(MailboxId mailbox, Uid uid) = 0;
    virtual Result<std::string> read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                                   std::size_t length) = 0;
    // The bytes of several messages in one snapshot (a FETCH of many small bodies), in the
    // order of `uids`; nullopt for a UID with no entry. By default, read_message for each.
    virtual Result<std::vector<std::optional<std::string>>> read_messages(MailboxId mailbox, std::span<const Uid> uids);
    // Entries new or changed, and UIDs expunged, after `since` (RFC 7162).
    virtual Result<Changes> changes_since(MailboxId mailbox, ModSeq since) = 0;
    virtual Result<QuotaUsage> quota_usage(UserId user) = 0;
    // The full-text index (IMAP SEARCH BODY/TEXT, issue 13): the UIDs of `mailbox`, in
    // increasing order, whose message may hold `folded_needle` (mime::search_fold applied) as
    // a substring of its body text, or with `with_header` of its header text too. A superset
    // of the true matches: the caller still checks each. nullopt when this backend cannot
    // narrow (it has no index, or the needle is shorter than the index's 3 characters).
    virtual Result<std::optional<std::vector<Uid>>> text_search_candidates(MailboxId /*mailbox*/,
                                                                           std::string_view /*folded_needle*/,
                                                                           bool /*with_header*/) {
        return std::optional<std::vector<Uid>>{};
    }

    // ---- writes ---------------------------------------------------------------------------
    // Creates missing parents too. already_exists if the name is taken.
    virtual void create_mailbox_async(UserId user, std::string_view name, SpecialUse special_use,
                                      Completion<MailboxInfo> done) = 0;
    // Renames children along. Renaming INBOX moves its entries to the new mailbox (RFC 9051
    // 6.3.6) and leaves INBOX empty. The renamed mailbox keeps its UIDVALIDITY.
    virtual void rename_mailbox_async(UserId user, std::string_view from, std::string_view to,
                                      Completion<void> done) = 0;
    // Refuses INBOX and a mailbox with children. Its entries are expunged.
    virtual void delete_mailbox_async(UserId user, std::string_view name, Completion<void> done) = 0;
    // Subscriptions are by name and may name a mailbox that does not exist (RFC 9051 6.3.7).
    virtual void set_subscribed_async(UserId user, std::string_view name, bool subscribed, Completion<void> done) = 0;
    virtual void set_flags_async(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change,
                                 Completion<FlagResult> done) = 0;
    virtual void copy_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                    Completion<CopyResult> done) = 0;
    virtual void move_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                    Completion<CopyResult> done) = 0;
    virtual void expunge_async(MailboxId mailbox, std::span<const Uid> uids, Completion<ExpungeResult> done) = 0;
    // IMAP EXPUNGE / UID EXPUNGE: entries flagged \Deleted (restricted to `only` if given).
    virtual void expunge_deleted_async(MailboxId mailbox, std::optional<std::span<const Uid>> only,
                                       Completion<ExpungeResult> done) = 0;
    // RFC 3501 2.3.2: messages are \Recent for the first session that selects their mailbox
    // read-write after they arrived. Claims every unclaimed UID for the caller (moves the
    // mailbox's first recent UID to UIDNEXT) and says which they were. No modseq change.
    virtual void claim_recent_async(MailboxId mailbox, Completion<RecentClaim> done) = 0;
    // too_big past the maximum message size, over_quota past the owner's quota.
    virtual void append_async(MailboxId mailbox, const StoredMessage& message, Flags flags,
                              std::span<const std::string> keywords, TimePoint internal_date,
                              Completion<AppendResult> done) = 0;
    // RFC 3502 MULTIAPPEND: every item in one transaction, all or none: consecutive UIDs and
    // one modseq; any item too big, over quota or with bad keywords refuses them all.
    // invalid_argument for no items.
    virtual void append_all_async(MailboxId mailbox, std::span<const AppendItem> items,
                                  Completion<std::vector<AppendResult>> done) = 0;

    // ---- blocking forms of the writes (mailctl, tests) -----------------------------------
    Result<MailboxInfo> create_mailbox(UserId user, std::string_view name, SpecialUse special_use = SpecialUse::none);
    Status rename_mailbox(UserId user, std::string_view from, std::string_view to);
    Status delete_mailbox(UserId user, std::string_view name);
    Status set_subscribed(UserId user, std::string_view name, bool subscribed);
    // These normalise `uids` first (any order, duplicates and 0 allowed).
    Result<FlagResult> set_flags(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change);
    Result<CopyResult> copy_entries(MailboxId from, std::span<const Uid> uids, MailboxId to);
    Result<CopyResult> move_entries(MailboxId from, std::span<const Uid> uids, MailboxId to);
    Result<ExpungeResult> expunge(MailboxId mailbox, std::span<const Uid> uids);
    Result<ExpungeResult> expunge_deleted(MailboxId mailbox, std::optional<std::span<const Uid>> only = {});
    Result<RecentClaim> claim_recent(MailboxId mailbox);
    // Prepares (parses) the message first.
    Result<AppendResult> append(MailboxId mailbox, std::string_view raw, Flags flags,
                                std::span<const std::string> keywords, TimePoint internal_date);
    // The items' messages must be prepared (storage/message.h prepare_message).
    Result<std::vector<AppendResult>> append_all(MailboxId mailbox, std::span<const AppendItem> items);
};

}  // namespace hikyaku::storage
