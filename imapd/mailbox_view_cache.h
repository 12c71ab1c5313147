// mailbox_view_cache.h: what a SELECT starts its view from (selected_mailbox.h), kept per
// mailbox in memory across sessions, as Dovecot keeps its index file: each message's UID, flags
// and keyword set as of a modseq. A SELECT of a mailbox in the cache reads only what changed
// since that modseq (the store's changes_since: entries with a higher modseq, and the expunge
// log, which is never pruned) and copies the rest, instead of reading every entry; a 100,000
// message INBOX then opens in about a millisecond (bench/README.md).
//
// ViewBase is immutable once built and shared (shared_ptr<const>): a SELECT copies it into its
// own view, builds the advanced base (the cached one plus the changes) and offers it back. The
// cache is one per imapd process, shared by every session and thread (a mutex guards the map,
// never held during a store read), and bounded: [imapd] view_cache_messages messages in all
// (each base counting 8 more for itself, so empty mailboxes are bounded too), the least
// recently used mailbox dropped first; 0 turns it off.
// Must never: give a base for another mailbox or UIDVALIDITY than asked; keep more than its
// bound; replace a base with an older one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/types.h"

namespace hikyaku::imap {

// Keyword sets interned by index; 0 is the empty set. A view holds an index per message
// instead of a list of strings (most mailboxes use a handful of distinct sets).
class KeywordSets {
public:
    std::uint32_t intern(std::span<const std::string> keywords);
    const std::vector<std::string>& operator[](std::uint32_t index) const { return sets_[index]; }
    std::size_t size() const { return sets_.size(); }
    // Every keyword of every set, sorted, each once.
    std::vector<std::string> all() const;

private:
    std::vector<std::vector<std::string>> sets_{{}};
};

struct ViewMessage {
    storage::Uid uid = 0;
    storage::Flags flags = 0;
    std::uint32_t keywords = 0;  // index into ViewBase::keyword_sets
};

struct ViewBase {
    storage::MailboxId mailbox = 0;
    std::uint32_t uidvalidity = 0;
    storage::ModSeq modseq = 0;         // the store's changes up to here are in `messages`
    std::vector<ViewMessage> messages;  // ascending by UID
    KeywordSets keyword_sets;

    // Every entry of the mailbox (ascending by UID, as fetch_entries gives them).
    static ViewBase from_entries(storage::MailboxId mailbox, std::uint32_t uidvalidity, storage::ModSeq modseq,
                                 std::span<const storage::Entry> entries);
    // This base with `changes` (read since `modseq`) applied: expunged UIDs removed, changed
    // entries updated or added in UID order. Applying a change twice changes nothing, so a
    // base read a little after its modseq (a delivery between two reads) stays right.
    ViewBase advanced(const storage::Changes& changes) const;
};

class MailboxViewCache {
public:
    explicit MailboxViewCache(std::size_t max_messages) : max_messages_(max_messages) {}

    // The cached base of `mailbox` if it has this UIDVALIDITY (a mailbox deleted and created
    // again has another), else null.
    std::shared_ptr<const ViewBase> find(storage::MailboxId mailbox, std::uint32_t uidvalidity);
    // Keeps `base` unless the cache holds a newer one of the same mailbox, or it alone is over
    // the bound; drops the least recently used bases until the bound holds.
    void keep(std::shared_ptr<const ViewBase> base);

    std::size_t messages() const;  // counted against the bound now (messages + 8 per base)
    std::size_t mailboxes() const;

private:
    struct Slot {
        std::shared_ptr<const ViewBase> base;
        std::list<storage::MailboxId>::iterator recency;
    };
    void touch(Slot& slot);

    const std::size_t max_messages_;
    mutable std::mutex mutex_;
    std::unordered_map<storage::MailboxId, Slot> slots_;
    std::list<storage::MailboxId> recency_;  // front: most recently used
    std::size_t messages_ = 0;
};

// The process's cache for [imapd] view_cache_messages; null (no cache) for 0.
std::shared_ptr<MailboxViewCache> make_view_cache(std::uint64_t max_messages);

}  // namespace hikyaku::imap
