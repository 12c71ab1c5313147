// selected_mailbox.cpp: the selected mailbox's view (see selected_mailbox.h).
#include "imapd/selected_mailbox.h"

#include <algorithm>
#include <set>

#include "imapd/response_writer.h"

namespace hikyaku::imap {

SelectedMailbox::SelectedMailbox(storage::MailboxInfo info, bool read_only, const ViewBase& base)
    : info_(std::move(info)), read_only_(read_only), keyword_sets_(base.keyword_sets) {
    messages_.reserve(base.messages.size());
    for (const ViewMessage& m : base.messages) messages_.push_back({m.uid, m.flags, m.keywords, false});
    // The base may be newer than the mailbox's info (read after it): the changes between are
    // then learned again, which changes nothing (learn() compares with the view).
    known_modseq_ = std::min(info_.highestmodseq, base.modseq);
    announced_count_ = count();
    announced_keyword_sets_ = keyword_sets_.size();
    unclaimed_from_ = highest_uid();
}

void SelectedMailbox::mark_recent(const storage::RecentClaim& claim) {
    for (auto& m : messages_)
        if (claim.contains(m.uid) || (read_only_ && m.uid >= claim.first)) m.recent = true;
    unclaimed_from_ = highest_uid();
}

std::uint32_t SelectedMailbox::recent_count() const {
    std::uint32_t n = 0;
    for (const auto& m : messages_)
        if (m.recent) ++n;
    return n;
}

std::string SelectedMailbox::keyword_announcement() {
    if (announced_keyword_sets_ == keyword_sets_.size()) return {};
    announced_keyword_sets_ = keyword_sets_.size();
    const std::vector<std::string> keywords = keywords_in_use();
    std::string out = "* FLAGS " + format_flag_list(storage::kAllSystemFlags, keywords) + "\r\n";
    if (!read_only_)
        out +=
            untagged_status(ResponseStatus::ok, ResponseCode::permanentflags(storage::kAllSystemFlags, keywords, true),
                            "Flags permitted");
    return out;
}

std::vector<std::string> SelectedMailbox::keywords_in_use() const { return keyword_sets_.all(); }

std::optional<std::uint32_t> SelectedMailbox::sequence_of(storage::Uid uid) const {
    auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                               [](const Message& m, storage::Uid u) { return m.uid < u; });
    if (it == messages_.end() || it->uid != uid) return std::nullopt;
    return static_cast<std::uint32_t>(it - messages_.begin() + 1);
}

std::vector<std::uint32_t> SelectedMailbox::sequence_numbers(const SequenceSet& set, bool uid) const {
    std::vector<std::uint32_t> out;
    if (!uid) {
        for (const auto& iv : set.resolve(count()))
            for (std::uint64_t n = iv.first; n <= iv.last; ++n) out.push_back(static_cast<std::uint32_t>(n));
        return out;
    }
    for (const auto& iv : set.resolve(highest_uid())) {
        auto first = std::lower_bound(messages_.begin(), messages_.end(), iv.first,
                                      [](const Message& m, storage::Uid u) { return m.uid < u; });
        for (auto it = first; it != messages_.end() && it->uid <= iv.last; ++it)
            out.push_back(static_cast<std::uint32_t>(it - messages_.begin() + 1));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::uint32_t SelectedMailbox::first_unseen() const {
    for (std::size_t i = 0; i < messages_.size(); ++i)
        if (!(messages_[i].flags & storage::flag_seen) && !messages_[i].expunged)
            return static_cast<std::uint32_t>(i + 1);
    return 0;
}

void SelectedMailbox::learn(const storage::Changes& changes) {
    for (storage::Uid uid : changes.expunged) {
        auto seq = sequence_of(uid);
        if (!seq) continue;
        Message& m = messages_[*seq - 1];
        if (!m.expunged) {
            m.expunged = true;
            ++pending_expunges_;
        }
    }
    for (const auto& e : changes.changed) {
        if (e.uid > highest_uid()) {
            messages_.push_back({e.uid, e.flags, keyword_sets_.intern(e.keywords), false});
            touched_.push_back(e.uid);
            continue;
        }
        auto seq = sequence_of(e.uid);
        if (!seq) continue;  // expunged and already removed
        Message& m = messages_[*seq - 1];
        if (m.expunged) continue;
        const std::uint32_t keywords = keyword_sets_.intern(e.keywords);
        if (m.flags != e.flags || m.keywords != keywords) {
            m.flags = e.flags;
            m.keywords = keywords;
            flag_updates_.emplace_back(e.uid, e.modseq);
            touched_.push_back(e.uid);
        }
    }
    known_modseq_ = std::max(known_modseq_, changes.highestmodseq);
}

void SelectedMailbox::set_flags(storage::Uid uid, storage::Flags flags, std::span<const std::string> keywords) {
    auto seq = sequence_of(uid);
    if (!seq) return;
    Message& m = messages_[*seq - 1];
    const std::uint32_t keyword_index = keyword_sets_.intern(keywords);
    if (m.flags != flags || m.keywords != keyword_index) touched_.push_back(uid);
    m.flags = flags;
    m.keywords = keyword_index;
}

std::vector<storage::Uid> SelectedMailbox::ghost_uids() const {
    std::vector<storage::Uid> out;
    if (pending_expunges_ == 0) return out;
    for (const auto& m : messages_)
        if (m.expunged) out.push_back(m.uid);
    return out;
}

std::vector<storage::Uid> SelectedMailbox::take_touched() {
    std::vector<storage::Uid> out = std::move(touched_);
    touched_.clear();
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::uint32_t> SelectedMailbox::remove(std::span<const storage::Uid> uids) { return remove(uids, nullptr); }

std::string SelectedMailbox::remove_and_announce(std::span<const storage::Uid> uids, bool vanished) {
    std::vector<storage::Uid> announced_uids;
    const std::vector<std::uint32_t> sequences = remove(uids, &announced_uids);
    std::string out;
    if (vanished) {
        if (announced_uids.empty()) return out;
        std::sort(announced_uids.begin(), announced_uids.end());
        return "* VANISHED " + format_number_set(announced_uids) + "\r\n";
    }
    for (std::uint32_t seq : sequences) out += "* " + std::to_string(seq) + " EXPUNGE\r\n";
    return out;
}

std::vector<std::uint32_t> SelectedMailbox::remove(std::span<const storage::Uid> uids,
                                                   std::vector<storage::Uid>* announced_uids) {
    // Highest first: every number sent is then still the one the client knows. A message the
    // client was never told about (beyond the last EXISTS) goes without a word.
    std::vector<std::uint32_t> sequences;
    for (storage::Uid uid : uids)
        if (auto seq = sequence_of(uid)) sequences.push_back(*seq);
    std::sort(sequences.rbegin(), sequences.rend());
    sequences.erase(std::unique(sequences.begin(), sequences.end()), sequences.end());
    std::vector<bool> gone(messages_.size(), false);
    std::vector<std::uint32_t> announced;
    for (std::uint32_t seq : sequences) {
        if (messages_[seq - 1].expunged) --pending_expunges_;
        gone[seq - 1] = true;
        if (seq <= announced_count_) {
            announced.push_back(seq);
            if (announced_uids) announced_uids->push_back(messages_[seq - 1].uid);
            --announced_count_;
        }
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < messages_.size(); ++i)
        if (!gone[i]) messages_[kept++] = messages_[i];
    messages_.resize(kept);
    return announced;
}

std::string SelectedMailbox::take_updates(bool expunges_allowed, bool with_uid, bool rev1, bool with_modseq,
                                          bool vanished) {
    std::string out;
    if (expunges_allowed && pending_expunges_ > 0) {
        std::vector<storage::Uid> ghosts;
        for (const auto& m : messages_)
            if (m.expunged) ghosts.push_back(m.uid);
        out += remove_and_announce(ghosts, vanished);
    }
    if (count() > announced_count_) {
        out += "* " + std::to_string(count()) + " EXISTS\r\n";
        announced_count_ = count();
    }
    if (rev1) {
        const std::uint32_t recent = recent_count();
        if (recent != announced_recent_) {
            out += "* " + std::to_string(recent) + " RECENT\r\n";
            announced_recent_ = recent;
        }
    }
    out += keyword_announcement();
    if (!flag_updates_.empty()) {
        // By UID, each once with the newest modseq of its changes.
        std::sort(flag_updates_.begin(), flag_updates_.end());
        for (std::size_t i = 0; i < flag_updates_.size(); ++i) {
            const auto [uid, modseq] = flag_updates_[i];
            if (i + 1 < flag_updates_.size() && flag_updates_[i + 1].first == uid) continue;
            auto seq = sequence_of(uid);
            if (!seq || *seq > announced_count_) continue;
            const Message& m = messages_[*seq - 1];
            if (m.expunged) continue;
            out += "* " + std::to_string(*seq) + " FETCH (";
            if (with_uid) out += "UID " + std::to_string(uid) + " ";
            if (with_modseq) out += "MODSEQ (" + std::to_string(modseq) + ") ";
            out += "FLAGS " + format_flag_list(m.flags, keyword_sets_[m.keywords], rev1 && m.recent) + ")\r\n";
        }
        flag_updates_.clear();
    }
    return out;
}

}  // namespace hikyaku::imap
