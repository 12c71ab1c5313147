// store_rules.cpp: the backend-neutral rules of the store (store_rules.h).
#include "storage/store_rules.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "storage/message.h"
#include "storage/password.h"
#include "storage/store.h"

namespace hikyaku::storage {

Status check_message_size(std::uint64_t size, std::uint64_t max) {
    if (max > 0 && size > max)
        return make_error(Errc::too_big, "message of " + std::to_string(size) +
                                             " bytes exceeds the maximum message size of " + std::to_string(max) +
                                             " bytes");
    return {};
}

Status check_quota(const User& owner, QuotaAmount used, QuotaAmount adding) {
    // Say which it is: already full, or only this message does not fit in what is left.
    if (owner.quota_bytes != 0 && used.bytes + adding.bytes > owner.quota_bytes) {
        const std::string usage =
            std::to_string(used.bytes) + " of " + std::to_string(owner.quota_bytes) + " bytes used";
        if (used.bytes >= owner.quota_bytes)
            return make_error(Errc::over_quota, "mailbox of " + owner.address + " is over quota (" + usage + ")");
        return make_error(Errc::over_quota, "message too large for the remaining quota of " + owner.address + " (" +
                                                std::to_string(adding.bytes) + " bytes; " + usage + ")");
    }
    if (owner.quota_messages != 0 && used.messages + adding.messages > owner.quota_messages) {
        const std::string usage =
            std::to_string(used.messages) + " of " + std::to_string(owner.quota_messages) + " messages";
        if (used.messages >= owner.quota_messages)
            return make_error(Errc::over_quota,
                              "mailbox of " + owner.address + " is over its message quota (" + usage + ")");
        return make_error(Errc::over_quota, "too many messages for the remaining message quota of " + owner.address +
                                                " (" + std::to_string(adding.messages) + " more; " + usage + ")");
    }
    return {};
}

Result<std::set<std::string>> checked_keywords(std::span<const std::string> keywords) {
    std::set<std::string> out;
    for (const auto& k : keywords) {
        if (auto s = validate_keyword(k); !s) return s.error();
        out.insert(k);
    }
    if (out.size() > kMaxKeywordsPerEntry)
        return make_error(Errc::limit_exceeded,
                          "more than " + std::to_string(kMaxKeywordsPerEntry) + " keywords on one message");
    return out;
}

Status check_delivery(const StoredMessage& message, std::span<const UserId> recipients, std::uint64_t max_size) {
    if (auto s = check_message_size(message.raw.size(), max_size); !s) return s;
    if (recipients.empty()) return make_error(Errc::invalid_argument, "delivery without recipients");
    if (unique_recipients(recipients).size() != recipients.size())
        return make_error(Errc::invalid_argument, "duplicate recipients");
    return {};
}

Status check_submission(const Submission& submission, std::uint64_t max_size) {
    if (auto s = check_message_size(submission.message.raw.size(), max_size); !s) return s;
    if (submission.local.empty() && submission.outbound.recipients.empty())
        return make_error(Errc::invalid_argument, "submission without recipients");
    if (unique_recipients(submission.local).size() != submission.local.size())
        return make_error(Errc::invalid_argument, "duplicate recipients");
    for (const auto& r : submission.outbound.recipients)
        if (auto s = validate_address(r); !s)
            return make_error(Errc::invalid_argument, "cannot queue <" + r + ">: " + s.error().message);
    const std::set<std::string> seen(submission.outbound.recipients.begin(), submission.outbound.recipients.end());
    if (seen.size() != submission.outbound.recipients.size())
        return make_error(Errc::invalid_argument, "duplicate outbound recipients");
    return {};
}

Status check_uids(std::span<const Uid> uids) {
    if (!is_normalized(uids)) return make_error(Errc::invalid_argument, "UIDs must be increasing and non-zero");
    return {};
}

namespace {

Status check_flag_bits(Flags flags) {
    if (flags & ~kAllSystemFlags) return make_error(Errc::invalid_argument, "unknown system flag bits");
    return {};
}

}  // namespace

Result<std::set<std::string>> checked_flag_change(const FlagChange& change, std::span<const Uid> uids) {
    auto keywords = checked_keywords(change.keywords);
    if (!keywords) return keywords;
    if (auto s = check_flag_bits(change.flags); !s) return s.error();
    if (auto s = check_uids(uids); !s) return s.error();
    return keywords;
}

Result<std::set<std::string>> checked_append(const StoredMessage& message, Flags flags,
                                             std::span<const std::string> keywords, std::uint64_t max_size) {
    if (auto s = check_message_size(message.raw.size(), max_size); !s) return s.error();
    if (auto s = check_flag_bits(flags); !s) return s.error();
    return checked_keywords(keywords);
}

Error too_many_keywords(Uid uid) {
    return make_error(Errc::limit_exceeded,
                      "more than " + std::to_string(kMaxKeywordsPerEntry) + " keywords on UID " + std::to_string(uid));
}

Status check_password(std::string_view password) {
    if (password.empty()) return make_error(Errc::invalid_argument, "empty password");
    if (password.size() > kMaxPasswordLength)
        return make_error(Errc::limit_exceeded,
                          "password longer than " + std::to_string(kMaxPasswordLength) + " bytes");
    if (password.find('\0') != std::string_view::npos)
        return make_error(Errc::invalid_argument, "password contains a NUL byte");
    return {};
}

Result<std::uint32_t> next_uidvalidity(std::uint32_t last, std::int64_t now) {
    constexpr std::int64_t kMax = 0xFFFFFFFFll;
    std::int64_t next = std::max<std::int64_t>(std::int64_t{last} + 1, now);
    if (next > kMax) next = std::int64_t{last} + 1;
    if (next > kMax) return make_error(Errc::limit_exceeded, "UIDVALIDITY values exhausted");
    return static_cast<std::uint32_t>(next);
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::vector<UidRange> merge_uid_ranges(std::span<const UidRange> ranges_in) {
    std::vector<UidRange> ranges;
    ranges.reserve(ranges_in.size());
    for (auto r : ranges_in) {
        if (r.first > r.last) std::swap(r.first, r.last);  // IMAP "5:2" means 2:5
        if (r.first == 0) r.first = 1;
        if (r.last == 0) continue;  // "0:0" names no UID
        ranges.push_back(r);
    }
    std::sort(ranges.begin(), ranges.end(), [](auto a, auto b) { return a.first < b.first; });
    std::vector<UidRange> merged;
    for (auto r : ranges) {
        if (!merged.empty() && std::uint64_t{r.first} <= std::uint64_t{merged.back().last} + 1)
            merged.back().last = std::max(merged.back().last, r.last);
        else merged.push_back(r);
    }
    return merged;
}

Result<std::vector<UserImport>> checked_imports(std::span<const UserImport> users) {
    auto invalid = [](std::string message) { return make_error(Errc::invalid_argument, std::move(message)); };
    std::vector<UserImport> wanted;
    wanted.reserve(users.size());
    std::unordered_set<std::string> seen;
    for (const auto& u : users) {
        UserImport w{normalize_address(u.address), u.password_hash, u.quota_bytes, u.quota_messages};
        if (auto s = validate_address(w.address); !s) return invalid("cannot import user: " + s.error().message);
        if (!is_argon2id_phc(w.password_hash))
            return invalid("cannot import " + w.address +
                           ": the password hash is not an argon2id PHC string "
                           "($argon2id$v=19$m=M,t=T,p=P$SALT$HASH)");
        if (!seen.insert(w.address).second) return invalid("cannot import " + w.address + ": it is in the list twice");
        wanted.push_back(std::move(w));
    }
    return wanted;
}

std::string_view domain_of(std::string_view address) { return address.substr(address.rfind('@') + 1); }

}  // namespace hikyaku::storage
