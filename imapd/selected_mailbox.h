// selected_mailbox.h: the SELECTED state's view of one mailbox (RFC 9051 2.3.1.2, 7.5.1): the
// message sequence numbers the client has been told about, each message's UID and flags as
// last reported, and the changes made by other sessions that are still to be announced.
//
// Sequence numbers change only when this session announces them: an EXISTS for new messages,
// an EXPUNGE for removed ones. A message another session expunged stays in the view (a
// "ghost": its data is gone, its number still counts) until an EXPUNGE may be sent, which is
// never while a FETCH, STORE or SEARCH (by sequence number) is answered (RFC 9051 7.5.1).
// Flag changes by others become untagged FETCH (FLAGS ...) responses at the next command
// (with UID and MODSEQ once CONDSTORE is enabled, RFC 7162 3.1; removals as one VANISHED
// instead of EXPUNGEs once QRESYNC is, 3.2.10).
// This session's own changes update the view directly (no echo from the store's log).
// Pure: the session feeds it what the store says (storage::Changes) and sends what it gives.
// Must never: renumber a message without announcing it; announce a message twice; announce
// a flag change the client already saw.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "imapd/mailbox_view_cache.h"
#include "imapd/sequence_set.h"
#include "storage/types.h"

namespace hikyaku::imap {

class SelectedMailbox {
public:
    struct Message {
        storage::Uid uid = 0;
        storage::Flags flags = 0;
        std::uint32_t keywords = 0;  // index into the keyword sets (0: none)
        bool expunged = false;       // gone from the store, not yet announced
        bool recent = false;         // \Recent for this session (RFC 3501 2.3.2)
    };

    // The view of `base` (the mailbox's messages as of base.modseq, mailbox_view_cache.h).
    SelectedMailbox(storage::MailboxInfo info, bool read_only, const ViewBase& base);

    const storage::MailboxInfo& info() const { return info_; }
    storage::MailboxId id() const { return info_.id; }
    bool read_only() const { return read_only_; }

    // Messages in the view, ghosts included (the number EXISTS last said, or will say).
    std::uint32_t count() const { return static_cast<std::uint32_t>(messages_.size()); }
    const Message& at(std::uint32_t sequence) const { return messages_[sequence - 1]; }
    std::optional<std::uint32_t> sequence_of(storage::Uid uid) const;
    storage::Uid highest_uid() const { return messages_.empty() ? 0 : messages_.back().uid; }
    const std::vector<std::string>& keywords_of(const Message& m) const { return keyword_sets_[m.keywords]; }
    // Every keyword in use (for FLAGS and PERMANENTFLAGS).
    std::vector<std::string> keywords_in_use() const;
    // The sequence numbers a set names: message numbers, or (uid) UIDs mapped to numbers
    // (UIDs not in the view are skipped; "n:*" includes the last message, RFC 9051 6.4.9).
    std::vector<std::uint32_t> sequence_numbers(const SequenceSet& set, bool uid) const;
    // The first message without \Seen (RFC 3501 [UNSEEN n]), 0 if none.
    std::uint32_t first_unseen() const;
    // \Recent: marks the messages whose UIDs the claim covers (or, read-only, every message
    // at or above `first`); recent_count() for the RECENT responses.
    void mark_recent(const storage::RecentClaim& claim);
    std::uint32_t recent_count() const;
    // The recent count, remembered as announced (the RECENT of SELECT).
    std::uint32_t announce_recent() { return announced_recent_ = recent_count(); }
    // Messages not yet marked either way since they arrived: the UIDs from `after` on.
    storage::Uid newest_unclaimed() const { return unclaimed_from_; }

    // ---- changes ------------------------------------------------------------------------
    // The modseq up to which the store's changes are known.
    storage::ModSeq known_modseq() const { return known_modseq_; }
    // Folds in what the store reported since known_modseq(): new messages, flags set by
    // others (compared with the view, so this session's own changes are not echoed), and
    // expunges (ghosts until announced).
    void learn(const storage::Changes& changes);
    // NOTIFY without FlagChange for the selected mailbox (RFC 5465 5.1): flag changes learned
    // so far are not announced.
    void forget_flag_updates() { flag_updates_.clear(); }
    // This session changed a message's flags: the view takes them, nothing is announced.
    void set_flags(storage::Uid uid, storage::Flags flags, std::span<const std::string> keywords);
    // The untagged responses due now: EXPUNGE (only if allowed), EXISTS, RECENT (IMAP4rev1
    // sessions), FLAGS when new keywords came into use, then FETCH FLAGS. `with_uid` adds UID
    // to the FETCH responses (during UID commands); `rev1` adds RECENT and \Recent;
    // `with_modseq` adds MODSEQ (RFC 7162 3.1: CONDSTORE enabled); `vanished` announces the
    // expunges as "* VANISHED uid-set" (RFC 7162 3.2.10: QRESYNC enabled).
    std::string take_updates(bool expunges_allowed, bool with_uid, bool rev1, bool with_modseq = false,
                             bool vanished = false);
    // "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" if a keyword came into use since they
    // were last sent (a client must hear of a keyword before it sees it on a message).
    std::string keyword_announcement();
    // Removes expunged messages now (this session's EXPUNGE, MOVE, or announced ghosts) and
    // returns their sequence numbers in the order the EXPUNGE responses must be sent.
    std::vector<std::uint32_t> remove(std::span<const storage::Uid> uids);
    // remove() and the responses that announce it: "* n EXPUNGE" for each, or one
    // "* VANISHED uid-set" of the announced messages (RFC 7162 3.2.10); "" if none was known.
    std::string remove_and_announce(std::span<const storage::Uid> uids, bool vanished);
    bool has_pending_expunges() const { return pending_expunges_ > 0; }
    // The messages expunged by others and not yet announced (what take_updates() would
    // announce with expunges allowed), ascending.
    std::vector<storage::Uid> ghost_uids() const;
    // The messages whose flags or keywords changed (this session's changes too) or that
    // arrived since the last call, ascending, each once: what a kept search result must look
    // at again (RFC 5267 4.3). Empties the list.
    std::vector<storage::Uid> take_touched();

private:
    // remove(), also giving the UIDs of the announced messages (in `announced_uids`).
    std::vector<std::uint32_t> remove(std::span<const storage::Uid> uids, std::vector<storage::Uid>* announced_uids);

    storage::MailboxInfo info_;
    bool read_only_;
    std::vector<Message> messages_;
    KeywordSets keyword_sets_;
    storage::ModSeq known_modseq_ = 0;
    std::uint32_t announced_count_ = 0;  // what the last EXISTS said
    // UIDs whose FLAGS are to be announced, with the modseq of the change.
    std::vector<std::pair<storage::Uid, storage::ModSeq>> flag_updates_;
    std::size_t pending_expunges_ = 0;
    std::uint32_t announced_recent_ = 0;      // what the last RECENT said
    std::size_t announced_keyword_sets_ = 1;  // keyword sets whose keywords FLAGS listed
    storage::Uid unclaimed_from_ = 0;         // UIDs above this arrived unmarked
    std::vector<storage::Uid> touched_;       // see take_touched()
};

}  // namespace hikyaku::imap
