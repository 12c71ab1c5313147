// store.h: the narrow interface every daemon and mailctl use to reach the mailbox store.
//
// What it is: domains, users, aliases, mailboxes, messages and per-mailbox entries (UID,
// flags, keywords, modseq), plus durable delivery, POP3 maildrop locks and change
// notification. One backend exists (SQLite, sqlite_store.cpp); a PostgreSQL one could
// implement the same class later. Every method is thread-safe and blocking: call it from the
// blocking-work pool, never from an event-loop thread.
//
// Must never: expose SQL or sqlite/argon2 types; acknowledge a write before it is durable;
// half-apply a call (each mutating call is all or none); report "database is locked";
// reveal through its errors or timing whether an address exists (authenticate).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hikyaku::storage {

using UserId = std::int64_t;
using MailboxId = std::int64_t;
using MessageId = std::int64_t;  // one stored copy of a message's bytes (single instance)
using Uid = std::uint32_t;       // IMAP UID: unique and increasing within one mailbox
using ModSeq = std::uint64_t;    // RFC 7162 mod-sequence, per mailbox
using TimePoint = std::chrono::sys_seconds;

inline constexpr Uid kMaxUid = 0xFFFFFFFFu;

// Named limits (STYLE 9). Mailbox names are UTF-8 (IMAP modified UTF-7 is imapd's concern).
inline constexpr std::size_t kMaxAddressLength = 254;        // RFC 5321 4.5.3.1.3
inline constexpr std::size_t kMaxLocalPartLength = 64;       // RFC 5321 4.5.3.1.1
inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::size_t kMaxMailboxNameLength = 512;    // whole name, bytes
inline constexpr std::size_t kMaxMailboxSegmentLength = 255; // one "/" segment, bytes
inline constexpr std::size_t kMaxMailboxDepth = 32;          // "/" segments
inline constexpr std::size_t kMaxKeywordLength = 64;
inline constexpr std::size_t kMaxKeywordsPerEntry = 64;
inline constexpr std::size_t kMaxPasswordLength = 1024;
inline constexpr char kMailboxDelimiter = '/';

struct StoreOptions {
    std::string path;                      // the SQLite file; "<path>.notify/" and
                                           // "<path>.locks/" are created beside it
    bool create = false;                   // true: create and migrate (mailctl init);
                                           // false: the store must exist (daemons)
    std::uint64_t max_message_size = 50u << 20;  // bytes; deliver/append refuse larger
    std::uint64_t default_quota = 0;       // bytes for users added with quota 0; 0 = none
    std::chrono::milliseconds busy_timeout{30000};  // wait this long for other writers
    std::uint32_t argon2_memory_kib = 19456;  // argon2id cost (OWASP 2023 minimum)
    std::uint32_t argon2_iterations = 2;
    std::size_t group_commit_max_batch = 256;  // deliveries sharing one commit at most
    std::chrono::milliseconds change_poll_interval{250};  // data_version fallback poll
};

// ---- directory ----------------------------------------------------------------------

struct User {
    UserId id = 0;
    std::string address;          // normalised: lower case
    std::uint64_t quota_bytes = 0;  // 0 = unlimited
};

// One user of a bulk import (Store::import_users): a password hash made elsewhere (by
// Store::hash_password, `mailctl pw`, or Dovecot's `doveadm pw -s ARGON2ID`).
struct UserImport {
    std::string address;
    std::string password_hash;      // "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
    std::uint64_t quota_bytes = 0;  // 0 = the store's default_quota, as in add_user
};

struct Alias {
    std::string address;                 // the alias, normalised
    std::vector<std::string> targets;    // user addresses it expands to
};

// ---- mailboxes ----------------------------------------------------------------------

enum class SpecialUse { none, sent, drafts, trash, junk, archive };
// "\\Sent", "\\Drafts", ... (RFC 6154); "" for none.
std::string_view special_use_attribute(SpecialUse use);

struct MailboxInfo {
    MailboxId id = 0;
    UserId user = 0;
    std::string name;              // "INBOX", "Archive/2024"
    SpecialUse special_use = SpecialUse::none;
    bool subscribed = false;
    bool has_children = false;
    std::uint32_t uidvalidity = 0;
    Uid uidnext = 1;
    ModSeq highestmodseq = 0;
};

struct MailboxStatus {
    std::uint32_t messages = 0;
    std::uint32_t unseen = 0;     // entries without \Seen
    std::uint32_t deleted = 0;    // entries with \Deleted
    std::uint64_t size = 0;       // sum of entry sizes, bytes
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
    std::uint64_t size = 0;            // octets of the raw message as stored (CRLF lines)
    std::optional<std::string> structure;  // mime::encode_cache blob, if asked and stored
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
    std::vector<FlagUpdate> updated;  // entries whose flags changed, with their new modseq
    std::vector<FlagUpdate> unchanged;  // asked for, already as requested (current state)
    std::vector<Uid> failed;          // UNCHANGEDSINCE failed (RFC 7162 MODIFIED)
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
    std::vector<Entry> changed;   // entries with modseq > since (new or flags changed)
    std::vector<Uid> expunged;    // UIDs expunged with modseq > since, increasing
    ModSeq highestmodseq = 0;
};

struct QuotaUsage {
    std::uint64_t used_bytes = 0;
    std::uint64_t limit_bytes = 0;  // 0 = unlimited
    std::uint64_t messages = 0;
};

// ---- delivery -----------------------------------------------------------------------

struct DeliveredEntry {
    UserId user = 0;
    MailboxId mailbox = 0;
    Uid uid = 0;
};

struct DeliveryReceipt {
    MessageId message = 0;  // stored once for all recipients
    std::vector<DeliveredEntry> entries;
};

// ---- POP3 maildrop lock -------------------------------------------------------------

// Held while a POP3 session owns a maildrop (RFC 1939 4). Excludes every other holder, in
// this process and in others; released by the destructor, and by the kernel if the process
// dies. Costs no file descriptor per lock (the SQLite backend record-locks one byte per
// user in one lock file per store: storage/maildrop_locks.h).
class MaildropLock {
public:
    virtual ~MaildropLock() = default;
    MaildropLock() = default;
    MaildropLock(const MaildropLock&) = delete;
    MaildropLock& operator=(const MaildropLock&) = delete;
};

// ---- change notification ------------------------------------------------------------

enum class ChangeKind {
    appended,        // new entries (delivery, append, copy, move)
    flags,           // flags or keywords changed
    expunged,        // entries removed
    mailboxes,       // a mailbox of the user was created, renamed or deleted
    unknown,         // something changed in the store; recheck (data_version fallback)
};

struct MailboxChange {
    ChangeKind kind = ChangeKind::unknown;
    UserId user = 0;        // 0 when unknown
    MailboxId mailbox = 0;  // 0 when unknown or for ChangeKind::mailboxes
    ModSeq modseq = 0;      // the mailbox's HIGHESTMODSEQ after the change, 0 if unknown
};

// Callbacks run on the store's one notification thread of this process, after the change
// is durable; they must return quickly (post to an io_context). Destroying the
// subscription unregisters it; once the destructor returns the callback is not running
// and will not run again.
using ChangeCallback = std::function<void(const MailboxChange&)>;
class ChangeSubscription {
public:
    virtual ~ChangeSubscription() = default;
    ChangeSubscription() = default;
    ChangeSubscription(const ChangeSubscription&) = delete;
    ChangeSubscription& operator=(const ChangeSubscription&) = delete;
};

struct StoreStats {
    std::uint64_t domains = 0;
    std::uint64_t users = 0;
    std::uint64_t aliases = 0;
    std::uint64_t mailboxes = 0;
    std::uint64_t messages = 0;       // stored copies (single instance)
    std::uint64_t entries = 0;        // mailbox entries
    std::uint64_t message_bytes = 0;  // bytes of stored copies
    std::uint64_t file_bytes = 0;     // database file (plus WAL)
    int schema_version = 0;
};

// ---- the store ----------------------------------------------------------------------

class Store {
public:
    virtual ~Store() = default;

    // Domains (mailctl). remove_domain refuses while users or aliases remain in it.
    virtual Status add_domain(std::string_view domain) = 0;
    virtual Status remove_domain(std::string_view domain) = 0;
    virtual Result<std::vector<std::string>> list_domains() = 0;
    virtual Result<bool> is_local_domain(std::string_view domain) = 0;

    // Users. add_user creates INBOX, Sent, Drafts, Trash and Junk (subscribed). quota 0 means
    // the store's default_quota. remove_user deletes their mailboxes, entries and aliases.
    virtual Result<User> add_user(std::string_view address, std::string_view password,
                                  std::uint64_t quota_bytes = 0) = 0;
    virtual Status remove_user(std::string_view address) = 0;
    virtual Status set_password(std::string_view address, std::string_view password) = 0;
    virtual Status set_quota(std::string_view address, std::uint64_t quota_bytes) = 0;
    // The argon2id PHC string add_user would store for this password (the store's cost;
    // the same password checks). No store access: slow (argon2), never on an event loop.
    virtual Result<std::string> hash_password(std::string_view password) = 0;
    // Adds every user, with add_user's mailboxes and subscriptions, in one write
    // transaction: all or none. invalid_argument for a malformed address, a hash that is
    // not an argon2id PHC string, or an address twice in the batch; not_found for a domain
    // that is not local; already_exists for an existing user or alias. The error names the
    // address. Returns the users in the order given. Hashes are stored as given.
    virtual Result<std::vector<User>> import_users(std::span<const UserImport> users) = 0;
    virtual Result<User> find_user(std::string_view address) = 0;
    virtual Result<std::vector<User>> list_users(std::string_view domain = {}) = 0;  // all if empty

    // auth_failed for an unknown address or a wrong password, with the same message and
    // (by a dummy verification) the same cost.
    virtual Result<User> authenticate(std::string_view address, std::string_view password) = 0;

    // Aliases: an address in a local domain expanding to one or more users.
    virtual Status add_alias(std::string_view alias, std::string_view target_user) = 0;
    // Removes one target, or every target when target_user is empty.
    virtual Status remove_alias(std::string_view alias, std::string_view target_user = {}) = 0;
    virtual Result<std::vector<Alias>> list_aliases(std::string_view domain = {}) = 0;

    // SMTP. resolve_recipient: the users an address reaches (a user, or an alias expanded);
    // invalid_argument for a malformed address, not_found for an unknown one.
    virtual Result<std::vector<User>> resolve_recipient(std::string_view address) = 0;
    // The user's own address and every alias reaching them (submission sender check).
    virtual Result<std::vector<std::string>> addresses_of(UserId user) = 0;
    // One message into each recipient's INBOX: one transaction, all or none; returns only
    // after the commit is durable. limit_exceeded if larger than max_message_size or if any
    // recipient would exceed their quota. Duplicated recipients get one copy.
    virtual Result<DeliveryReceipt> deliver(std::string_view raw, std::span<const UserId> recipients,
                                            TimePoint internal_date) = 0;
    virtual std::uint64_t max_message_size() const = 0;

    // POP3 (and anyone else).
    virtual Result<std::unique_ptr<MaildropLock>> lock_maildrop(UserId user) = 0;  // busy if held

    // Mailboxes. Names are validated: no empty segment, no "." or ".." segment, no control
    // characters, length and depth caps; "INBOX" is case-insensitive.
    virtual Result<std::vector<MailboxInfo>> list_mailboxes(UserId user) = 0;
    virtual Result<MailboxInfo> find_mailbox(UserId user, std::string_view name) = 0;
    virtual Result<MailboxInfo> inbox(UserId user) = 0;
    // Creates missing parents too. already_exists if the name is taken.
    virtual Result<MailboxInfo> create_mailbox(UserId user, std::string_view name,
                                               SpecialUse special_use = SpecialUse::none) = 0;
    // Renames children along. Renaming INBOX moves its entries to the new mailbox (RFC 9051
    // 6.3.6) and leaves INBOX empty. The renamed mailbox keeps its UIDVALIDITY.
    virtual Status rename_mailbox(UserId user, std::string_view from, std::string_view to) = 0;
    // Refuses INBOX and a mailbox with children. Its entries are expunged.
    virtual Status delete_mailbox(UserId user, std::string_view name) = 0;
    // Subscriptions are by name and may name a mailbox that does not exist (RFC 9051 6.3.7).
    virtual Status set_subscribed(UserId user, std::string_view name, bool subscribed) = 0;
    virtual Result<std::vector<std::string>> list_subscriptions(UserId user) = 0;
    virtual Result<MailboxStatus> mailbox_status(MailboxId mailbox) = 0;

    // Entries, ordered by UID; one consistent snapshot per call.
    virtual Result<std::vector<Entry>> fetch_entries(MailboxId mailbox,
                                                     std::span<const UidRange> uids,
                                                     FetchOptions options = {}) = 0;
    // Message bytes: whole, or a chunk [offset, offset+length) (shorter at the end, empty
    // past it) for streaming large messages without holding them in memory.
    virtual Result<std::string> read_message(MailboxId mailbox, Uid uid) = 0;
    virtual Result<std::string> read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                                   std::size_t length) = 0;

    // Writes to entries. UIDs that do not exist are ignored (RFC 9051 STORE/COPY of
    // vanished UIDs). Each call is one transaction that bumps the mailbox's HIGHESTMODSEQ
    // once if anything changed.
    virtual Result<FlagResult> set_flags(MailboxId mailbox, std::span<const Uid> uids,
                                         const FlagChange& change) = 0;
    virtual Result<CopyResult> copy_entries(MailboxId from, std::span<const Uid> uids,
                                            MailboxId to) = 0;
    virtual Result<CopyResult> move_entries(MailboxId from, std::span<const Uid> uids,
                                            MailboxId to) = 0;
    virtual Result<ExpungeResult> expunge(MailboxId mailbox, std::span<const Uid> uids) = 0;
    // IMAP EXPUNGE / UID EXPUNGE: entries flagged \Deleted (restricted to `only` if given).
    virtual Result<ExpungeResult> expunge_deleted(MailboxId mailbox,
                                                  std::optional<std::span<const Uid>> only = {}) = 0;
    virtual Result<AppendResult> append(MailboxId mailbox, std::string_view raw, Flags flags,
                                        std::span<const std::string> keywords,
                                        TimePoint internal_date) = 0;
    virtual Result<Changes> changes_since(MailboxId mailbox, ModSeq since) = 0;
    virtual Result<QuotaUsage> quota_usage(UserId user) = 0;

    // Change notification, one mechanism per process. user 0 subscribes to every user.
    virtual Result<std::unique_ptr<ChangeSubscription>> subscribe(UserId user,
                                                                  ChangeCallback callback) = 0;

    // Administration.
    virtual Result<StoreStats> stats() = 0;
    virtual Status integrity_check() = 0;  // io_error with SQLite's report if not "ok"
};

// Opens (or with options.create, creates) the store. unsupported if its schema is newer than
// this build; not_found if it does not exist and options.create is false.
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

// Store::hash_password without a store: the cost (argon2_memory_kib, argon2_iterations) and
// password checks that a store opened with these options applies (`mailctl pw`).
Result<std::string> hash_password(std::string_view password, const StoreOptions& options);

// Validation shared with the protocols (pure, no store access).
Status validate_domain(std::string_view domain);
Status validate_address(std::string_view address);       // local@domain, dot-atom local part
Status validate_mailbox_name(std::string_view name);
Status validate_keyword(std::string_view keyword);        // IMAP atom, not starting with '\'
std::string normalize_address(std::string_view address);  // lower case
// Canonical mailbox name: "INBOX" for any case of inbox (also as first segment), else as is.
std::string normalize_mailbox_name(std::string_view name);

}  // namespace hikyaku::storage
