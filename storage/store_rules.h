// store_rules.h: the rules every backend of the store applies the same way, written once so
// the SQLite backend and the in-memory one (memory_store.h) cannot drift apart: the size and
// quota checks with their error kinds and words, keyword lists, password rules, the checks
// of an import, the next UIDVALIDITY, UID ranges as IMAP gives them, the mailboxes a new
// user gets.
//
// Pure functions, no store access, no I/O.
// Must never: return an error kind other than the one a protocol answers for it (too_big
// vs over_quota, STYLE 19); let a UIDVALIDITY repeat or go backwards.
// References: RFC 9051 2.3.1.1 (UIDVALIDITY), 6.4.4 and 6.4.9 (UID sets), RFC 6154
// (special-use mailboxes).
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::storage {

// too_big past `max` bytes (0 = no maximum).
Status check_message_size(std::uint64_t size, std::uint64_t max);

// What an owner already uses, or what a write would add: bytes and messages (entries).
struct QuotaAmount {
    std::uint64_t bytes = 0;
    std::uint64_t messages = 0;
};

// over_quota if `adding` would take `owner` (who uses `used`) past their byte quota or their
// message quota (RFC 9208 5.1 STORAGE, 5.2 MESSAGE); the message names the limit and says
// whether the mailbox is already full or only this does not fit.
Status check_quota(const User& owner, QuotaAmount used, QuotaAmount adding);

// Each keyword valid (validate_keyword), at most kMaxKeywordsPerEntry distinct ones;
// sorted and unique. invalid_argument or limit_exceeded.
Result<std::set<std::string>> checked_keywords(std::span<const std::string> keywords);
// The argument checks of the writes, made before a backend looks at its data: a delivery
// (size, at least one recipient, none twice), a UID list (increasing, no 0), a flag change
// (its keywords, known flag bits, its UIDs) and an append (size, flag bits, keywords). The
// last two return the keywords, sorted and unique.
Status check_delivery(const StoredMessage& message, std::span<const UserId> recipients, std::uint64_t max_size);
// A submission (storage/queue.h): size, at least one recipient local or remote, none twice,
// every remote recipient a valid address. A notice of QueueRole::settle_async is checked the
// same way with no size limit (max_size 0).
Status check_submission(const Submission& submission, std::uint64_t max_size);
Status check_uids(std::span<const Uid> uids);
Result<std::set<std::string>> checked_flag_change(const FlagChange& change, std::span<const Uid> uids);
Result<std::set<std::string>> checked_append(const StoredMessage& message, Flags flags,
                                             std::span<const std::string> keywords, std::uint64_t max_size);

// limit_exceeded naming the UID, for a flag change that would leave too many keywords.
Error too_many_keywords(Uid uid);

// Not empty, at most kMaxPasswordLength bytes, no NUL. invalid_argument or limit_exceeded.
Status check_password(std::string_view password);

// The UIDVALIDITY after `last`: strictly greater, and at least `now_seconds` while that fits
// in 32 bits. limit_exceeded when every value is used up.
Result<std::uint32_t> next_uidvalidity(std::uint32_t last, std::int64_t now_seconds);
std::int64_t now_seconds();

// UID ranges as a client may write them ("5:2", "0:3", overlapping), as increasing,
// disjoint, non-adjacent ranges from 1.
std::vector<UidRange> merge_uid_ranges(std::span<const UidRange> ranges);

// import_users' checks that need no store: each address valid (normalised in the result),
// each hash an argon2id PHC string, no address twice. invalid_argument naming the address.
Result<std::vector<UserImport>> checked_imports(std::span<const UserImport> users);

// The part after the last '@' of a valid address.
std::string_view domain_of(std::string_view address);

// The mailboxes add_user and import_users create, in this order, each subscribed.
inline constexpr std::pair<const char*, SpecialUse> kDefaultMailboxes[] = {
    {"INBOX", SpecialUse::none},  {"Sent", SpecialUse::sent}, {"Drafts", SpecialUse::drafts},
    {"Trash", SpecialUse::trash}, {"Junk", SpecialUse::junk},
};

}  // namespace hikyaku::storage
