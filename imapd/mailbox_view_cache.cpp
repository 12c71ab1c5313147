// mailbox_view_cache.cpp: the per-process cache of SELECT's starting views (see
// mailbox_view_cache.h).
#include "imapd/mailbox_view_cache.h"

#include <algorithm>
#include <set>

namespace hikyaku::imap {

std::uint32_t KeywordSets::intern(std::span<const std::string> keywords) {
    if (keywords.empty()) return 0;
    for (std::size_t i = 1; i < sets_.size(); ++i)
        if (std::equal(sets_[i].begin(), sets_[i].end(), keywords.begin(), keywords.end()))
            return static_cast<std::uint32_t>(i);
    sets_.emplace_back(keywords.begin(), keywords.end());
    return static_cast<std::uint32_t>(sets_.size() - 1);
}

std::vector<std::string> KeywordSets::all() const {
    std::set<std::string> all;
    for (const auto& set : sets_) all.insert(set.begin(), set.end());
    return {all.begin(), all.end()};
}

ViewBase ViewBase::from_entries(storage::MailboxId mailbox, std::uint32_t uidvalidity, storage::ModSeq modseq,
                                std::span<const storage::Entry> entries) {
    ViewBase base;
    base.mailbox = mailbox;
    base.uidvalidity = uidvalidity;
    base.modseq = modseq;
    base.messages.reserve(entries.size());
    for (const storage::Entry& e : entries)
        base.messages.push_back({e.uid, e.flags, base.keyword_sets.intern(e.keywords)});
    return base;
}

ViewBase ViewBase::advanced(const storage::Changes& changes) const {
    ViewBase next;
    next.mailbox = mailbox;
    next.uidvalidity = uidvalidity;
    next.modseq = std::max(modseq, changes.highestmodseq);
    next.keyword_sets = keyword_sets;
    next.messages.reserve(messages.size() + changes.changed.size());
    // Both lists ascend by UID (the store returns them so): one merge, the changed entry
    // winning over the cached one, the expunged UIDs skipped.
    auto changed = changes.changed.begin();
    auto gone = changes.expunged.begin();
    auto is_gone = [&](storage::Uid uid) {
        while (gone != changes.expunged.end() && *gone < uid) ++gone;
        return gone != changes.expunged.end() && *gone == uid;
    };
    auto take_changed = [&] {
        if (!is_gone(changed->uid))
            next.messages.push_back({changed->uid, changed->flags, next.keyword_sets.intern(changed->keywords)});
        ++changed;
    };
    for (const ViewMessage& m : messages) {
        while (changed != changes.changed.end() && changed->uid < m.uid) take_changed();
        if (changed != changes.changed.end() && changed->uid == m.uid) {
            take_changed();
            continue;
        }
        if (!is_gone(m.uid)) next.messages.push_back(m);
    }
    while (changed != changes.changed.end()) take_changed();
    return next;
}

std::shared_ptr<const ViewBase> MailboxViewCache::find(storage::MailboxId mailbox, std::uint32_t uidvalidity) {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(mailbox);
    if (it == slots_.end() || it->second.base->uidvalidity != uidvalidity) return nullptr;
    touch(it->second);
    return it->second.base;
}

namespace {
// What a base counts against the bound: its messages, and for the base itself about as much
// as kBaseWeight messages' entries (so a great many empty mailboxes are bounded too).
constexpr std::size_t kBaseWeight = 8;
std::size_t weight(const ViewBase& base) { return base.messages.size() + kBaseWeight; }
}  // namespace

void MailboxViewCache::keep(std::shared_ptr<const ViewBase> base) {
    if (!base || weight(*base) > max_messages_) return;
    std::lock_guard lock(mutex_);
    auto it = slots_.find(base->mailbox);
    if (it != slots_.end()) {
        const ViewBase& held = *it->second.base;
        if (held.uidvalidity == base->uidvalidity && held.modseq > base->modseq) return;
        messages_ -= weight(held);
        it->second.base = std::move(base);
        messages_ += weight(*it->second.base);
        touch(it->second);
    } else {
        recency_.push_front(base->mailbox);
        messages_ += weight(*base);
        const storage::MailboxId id = base->mailbox;
        slots_.emplace(id, Slot{std::move(base), recency_.begin()});
    }
    // The one just kept is at the front and fits alone: the loop stops before it.
    while (messages_ > max_messages_) {
        auto last = slots_.find(recency_.back());
        messages_ -= weight(*last->second.base);
        slots_.erase(last);
        recency_.pop_back();
    }
}

void MailboxViewCache::touch(Slot& slot) { recency_.splice(recency_.begin(), recency_, slot.recency); }

std::size_t MailboxViewCache::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::size_t MailboxViewCache::mailboxes() const {
    std::lock_guard lock(mutex_);
    return slots_.size();
}

std::shared_ptr<MailboxViewCache> make_view_cache(std::uint64_t max_messages) {
    if (max_messages == 0) return nullptr;
    return std::make_shared<MailboxViewCache>(static_cast<std::size_t>(max_messages));
}

}  // namespace hikyaku::imap
