// types.h: the values that cross the store's interfaces (storage/*.h roles): ids, named
// limits, users, mailboxes, entries, flags and the results of writes. Plain data, no
// behaviour beyond formatting; backend-neutral (no SQL, no sqlite or argon2 types).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hikyaku::storage {

using UserId = std::int64_t;
using MailboxId = std::int64_t;
using MessageId = std::int64_t;  // one stored copy of a message's bytes (single instance)
using QueueId = std::int64_t;    // one queued recipient of outbound mail
using Uid = std::uint32_t;       // IMAP UID: unique and increasing within one mailbox
using ModSeq = std::uint64_t;    // RFC 7162 mod-sequence, per mailbox
using TimePoint = std::chrono::sys_seconds;

inline constexpr Uid kMaxUid = 0xFFFFFFFFu;

// Named limits (STYLE 9). Mailbox names are UTF-8 (IMAP modified UTF-7 is imapd's concern).
inline constexpr std::size_t kMaxAddressLength = 254;   // RFC 5321 4.5.3.1.3
inline constexpr std::size_t kMaxLocalPartLength = 64;  // RFC 5321 4.5.3.1.1
inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::size_t kMaxMailboxNameLength = 512;     // whole name, bytes
inline constexpr std::size_t kMaxMailboxSegmentLength = 255;  // one "/" segment, bytes
inline constexpr std::size_t kMaxMailboxDepth = 32;           // "/" segments
inline constexpr std::size_t kMaxKeywordLength = 64;
inline constexpr std::size_t kMaxKeywordsPerEntry = 64;
inline constexpr std::size_t kMaxPasswordLength = 1024;
inline constexpr char kMailboxDelimiter = '/';

// ---- directory ----------------------------------------------------------------------

struct User {
    UserId id = 0;
    std::string address;               // normalised: lower case
    std::uint64_t quota_bytes = 0;     // 0 = unlimited
    std::uint64_t quota_messages = 0;  // most entries in all their mailboxes; 0 = unlimited
};

// What a login is checked against (storage/authenticate.h): the user and the argon2id PHC
// string of their password. Never logged, never sent anywhere.
struct Credentials {
    User user;
    std::string password_hash;
};

// One user of a bulk import (Store::import_users): a password hash made elsewhere (by
// Store::hash_password, `mailctl pw`, or Dovecot's `doveadm pw -s ARGON2ID`).
struct UserImport {
    std::string address;
    std::string password_hash;         // "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
    std::uint64_t quota_bytes = 0;     // 0 = the store's default_quota, as in add_user
    std::uint64_t quota_messages = 0;  // 0 = the store's default_quota_messages
};

struct Alias {
    std::string address;               // the alias, normalised
    std::vector<std::string> targets;  // user addresses it expands to
};

// ---- mailboxes ----------------------------------------------------------------------

enum class SpecialUse { none, sent, drafts, trash, junk, archive };
// "\\Sent", "\\Drafts", ... (RFC 6154); "" for none.
std::string_view special_use_attribute(SpecialUse use);

struct MailboxInfo {
    MailboxId id = 0;
    UserId user = 0;
    std::string name;  // "INBOX", "Archive/2024"
    SpecialUse special_use = SpecialUse::none;
    bool subscribed = false;
    bool has_children = false;
    std::uint32_t uidvalidity = 0;
    Uid uidnext = 1;
    ModSeq highestmodseq = 0;
    Uid first_recent_uid = 1;  // RFC 3501 \Recent: UIDs from here on are still unclaimed
};

struct MailboxStatus {
    std::uint32_t messages = 0;
    std::uint32_t unseen = 0;   // entries without \Seen
    std::uint32_t deleted = 0;  // entries with \Deleted
    std::uint64_t size = 0;     // sum of entry sizes, bytes
    std::uint32_t recent = 0;   // entries at or above the first recent UID (RFC 3501 RECENT)
    std::uint32_t uidvalidity = 0;
    Uid uidnext = 1;
    ModSeq highestmodseq = 0;
};

// System flags as bits (RFC 9051 2.3.2); keywords are separate strings.
enum Flag : std::uint32_t {
    flag_seen = 1u << 0,
    flag_answered = 1u << 1,
    flag_flagged = 1u << 2,
    flag_deleted = 1u << 3,
    flag_draft = 1u << 4,
};
using Flags = std::uint32_t;
inline constexpr Flags kAllSystemFlags = 0x1F;

// An entry: one message as it sits in one mailbox.
struct Entry {
    Uid uid = 0;
    MessageId message = 0;
    Flags flags = 0;
    std::vector<std::string> keywords;  // sorted, unique
    ModSeq modseq = 0;
    TimePoint internal_date{};
    std::uint64_t size = 0;                // octets of the raw message as stored (CRLF lines)
    std::optional<std::string> structure;  // mime::encode_cache blob, if asked and stored
    // RFC 8514: when the entry was added to this mailbox (delivery, append, copy, move), by
    // the store's clock; the epoch (0) when unknown (entries older than schema version 5).
    TimePoint save_date{};
};

struct UidRange {
    Uid first = 1;
    Uid last = kMaxUid;  // inclusive; kMaxUid stands for IMAP "*"
};

struct FetchOptions {
    bool with_structure = false;
};

enum class FlagOperation { add, remove, replace };

struct FlagChange {
    FlagOperation operation = FlagOperation::add;
    Flags flags = 0;
    std::vector<std::string> keywords;
    std::optional<ModSeq> unchanged_since;  // RFC 7162 UNCHANGEDSINCE
};

struct FlagUpdate {
    Uid uid = 0;
    Flags flags = 0;
    std::vector<std::string> keywords;
    ModSeq modseq = 0;
};

struct FlagResult {
    std::vector<FlagUpdate> updated;    // entries whose flags changed, with their new modseq
    std::vector<FlagUpdate> unchanged;  // asked for, already as requested (current state)
    std::vector<Uid> failed;            // UNCHANGEDSINCE failed (RFC 7162 MODIFIED)
};

// RFC 3501 2.3.2 \Recent: the UIDs [first, uidnext) a session claimed as recent for itself.
struct RecentClaim {
    Uid first = 1;
    Uid uidnext = 1;
    bool contains(Uid uid) const { return uid >= first && uid < uidnext; }
};

struct CopyResult {
    std::uint32_t destination_uidvalidity = 0;
    std::vector<std::pair<Uid, Uid>> uids;  // (source, destination), source order (COPYUID)
};

struct ExpungeResult {
    std::vector<Uid> expunged;  // increasing
    ModSeq modseq = 0;          // the mailbox's new HIGHESTMODSEQ (0 if nothing expunged)
};

struct AppendResult {
    std::uint32_t uidvalidity = 0;
    Uid uid = 0;
    ModSeq modseq = 0;
};

struct Changes {
    std::vector<Entry> changed;  // entries with modseq > since (new or flags changed)
    std::vector<Uid> expunged;   // UIDs expunged with modseq > since, increasing
    ModSeq highestmodseq = 0;
};

struct QuotaUsage {
    std::uint64_t used_bytes = 0;
    std::uint64_t limit_bytes = 0;  // 0 = unlimited
    std::uint64_t messages = 0;
    std::uint64_t limit_messages = 0;  // 0 = unlimited
};

// ---- delivery -----------------------------------------------------------------------

// A message ready to be stored: its bytes and its MIME structure parsed once (see
// prepare_message in storage/message.h), so no backend parses messages itself.
// What the full-text index keeps of a message: the text IMAP SEARCH matches in, folded
// (common/mime/search_text.h).
struct SearchText {
    std::string header;  // the top-level header fields, decoded (TEXT)
    std::string body;    // the text parts, decoded (BODY, TEXT)
};

struct StoredMessage {
    std::string_view raw;                  // CRLF lines as received
    std::optional<std::string> structure;  // mime::encode_cache blob; nullopt if unparsable
    // nullopt: not indexed (no structure, or more text than the index takes); a search
    // then reads the message itself.
    std::optional<SearchText> search_text;
};

// One message of Mailboxes::append_all (RFC 3502 MULTIAPPEND).
struct AppendItem {
    StoredMessage message;
    Flags flags = 0;
    std::vector<std::string> keywords;
    TimePoint internal_date{};
};

struct DeliveredEntry {
    UserId user = 0;
    MailboxId mailbox = 0;
    Uid uid = 0;
};

struct DeliveryReceipt {
    MessageId message = 0;  // stored once for all recipients
    std::vector<DeliveredEntry> entries;
};

// ---- outbound queue (storage/queue.h) ----------------------------------------------------

// The recipients of a message that are not local, with the envelope sender they are sent
// for; stored as queue entries beside the one copy of the message.
struct OutboundEnvelope {
    std::string sender;                   // canonical; empty for the null sender "<>"
    std::vector<std::string> recipients;  // canonical addresses, unique, in other domains
};

// One message for local users and remote recipients at once: what smtpd submits, and what
// the delivery agent adds (a bounce) in the same transaction as its queue outcome.
struct Submission {
    StoredMessage message;
    std::vector<UserId> local;  // unique
    OutboundEnvelope outbound;  // may have no recipients
    TimePoint internal_date{};
};

struct SubmissionReceipt {
    MessageId message = 0;
    std::vector<DeliveredEntry> entries;  // local deliveries
    std::vector<QueueId> queued;          // outbound.recipients, in order
};

struct QueuedRecipient {
    QueueId id = 0;
    MessageId message = 0;
    std::string sender;  // empty: the null sender (a bounce)
    std::string recipient;
    std::uint32_t attempts = 0;
    TimePoint next_attempt{};
    TimePoint created{};
    std::string last_reply;     // the last reply or failure, one line
    bool held = false;          // never tried until released
    bool delay_warned = false;  // the sender was told of the delay
    std::uint64_t size = 0;     // of the message, octets
};

// What became of a queued recipient after a try (QueueRole::settle_async).
struct QueueOutcome {
    enum class Kind { done, deferred } kind = Kind::done;  // done: sent or bounced; removed
    QueueId id = 0;
    TimePoint next_attempt{};   // deferred: when to try again
    std::string last_reply;     // deferred
    bool count_attempt = true;  // deferred: false when no try was made (destination backoff)
    bool delay_warned = false;  // deferred: the delay warning goes with this outcome
};

enum class QueueAction { retry, remove, hold, release };

// ---- change notification ------------------------------------------------------------

enum class ChangeKind {
    appended,   // new entries (delivery, append, copy, move)
    flags,      // flags or keywords changed
    expunged,   // entries removed
    mailboxes,  // a mailbox of the user was created, renamed or deleted, or a subscription changed
    queued,     // outbound queue entries were added or made due (user and mailbox 0);
                // heard only by subscribers of every user (the delivery agent)
    unknown,    // something changed in the store; recheck (data_version fallback)
};

struct MailboxChange {
    ChangeKind kind = ChangeKind::unknown;
    UserId user = 0;        // 0 when unknown
    MailboxId mailbox = 0;  // 0 when unknown or for ChangeKind::mailboxes
    ModSeq modseq = 0;      // the mailbox's HIGHESTMODSEQ after the change, 0 if unknown
};

struct StoreStats {
    std::uint64_t domains = 0;
    std::uint64_t users = 0;
    std::uint64_t aliases = 0;
    std::uint64_t mailboxes = 0;
    std::uint64_t messages = 0;       // stored copies (single instance)
    std::uint64_t entries = 0;        // mailbox entries
    std::uint64_t message_bytes = 0;  // bytes of stored copies
    std::uint64_t queued = 0;         // outbound queue entries
    std::uint64_t file_bytes = 0;     // database file (plus WAL)
    int schema_version = 0;
    std::uint64_t unindexed_pending = 0;  // messages the full-text index has yet to take in
};

// What one step of Administration::index_pending_text did.
struct TextIndexProgress {
    std::uint64_t indexed = 0;      // taken into the full-text index
    std::uint64_t unindexable = 0;  // no structure or too much text: searches read them
    std::uint64_t remaining = 0;    // still pending after this step
};

}  // namespace hikyaku::storage
