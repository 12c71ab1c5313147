// searched_message.h: one message of the selected mailbox as SEARCH, SORT and THREAD see it
// (search_eval.h's SearchMessage over the store): its flags from the session's view, its
// header and body read from the store only when a key asks, once.
// Internal to the session (imap_messages.cpp, imap_sort.cpp). Runs on the blocking pool.
// Must never: read the message when no key needs it, or change the view.
#pragma once

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "common/mime/message.h"
#include "imapd/object_id.h"
#include "imapd/search_eval.h"
#include "imapd/selected_mailbox.h"
#include "storage/store.h"

namespace hikyaku::imap {

// Increasing UIDs as the store's ranges (consecutive UIDs merged).
inline std::vector<storage::UidRange> uid_ranges(std::span<const storage::Uid> uids) {
    std::vector<storage::UidRange> ranges;
    for (const auto& iv : intervals_of(uids)) ranges.push_back({iv.first, iv.last});
    return ranges;
}

// The UIDs a SEARCH, SORT or THREAD evaluates: those the store's full-text index allows for
// the BODY and TEXT keys every match must satisfy (SearchProgram::required_texts), as UID
// ranges; every UID when the index cannot narrow. The index narrows, evaluate() decides.
inline Result<std::vector<storage::UidRange>> search_ranges(storage::Store& store, storage::MailboxId mailbox,
                                                            const SearchProgram& program) {
    std::optional<std::vector<storage::Uid>> allowed;
    for (const SearchProgram::RequiredText& text : program.required_texts()) {
        auto found = store.text_search_candidates(mailbox, text.needle, text.with_header);
        if (!found) return found.error();
        if (!*found) continue;
        if (!allowed) {
            allowed = std::move(**found);
            continue;
        }
        std::vector<storage::Uid> both;
        std::set_intersection(allowed->begin(), allowed->end(), (*found)->begin(), (*found)->end(),
                              std::back_inserter(both));
        *allowed = std::move(both);
    }
    if (!allowed) return std::vector<storage::UidRange>{storage::UidRange{}};
    return uid_ranges(*allowed);
}

// RFC 8514: the save date; entries stored before the store kept one use their internal date.
inline storage::TimePoint saved_at(const storage::Entry& entry) {
    return entry.save_date == storage::TimePoint{} ? entry.internal_date : entry.save_date;
}

class SearchedMessage final : public SearchMessage {
public:
    SearchedMessage(storage::Store& store, storage::MailboxId mailbox, std::uint32_t sequence,
                    const storage::Entry& entry, const SelectedMailbox& box)
        : store_(store), mailbox_(mailbox), sequence_(sequence), entry_(entry), box_(box) {}
    std::uint32_t sequence_number() const override { return sequence_; }
    std::uint32_t uid() const override { return entry_.uid; }
    storage::Flags flags() const override { return box_.at(sequence_).flags; }
    bool recent() const override { return box_.at(sequence_).recent; }
    bool has_keyword(std::string_view keyword) const override {
        for (const auto& k : box_.keywords_of(box_.at(sequence_)))
            if (iequals(k, keyword)) return true;
        return false;
    }
    DateTime internal_date() const override { return DateTime{entry_.internal_date, 0}; }
    std::uint64_t size() const override { return entry_.size; }
    std::uint64_t modseq() const override { return entry_.modseq; }
    std::string email_id() const override { return email_object_id(entry_.message, entry_.internal_date); }
    DateTime save_date() const override { return DateTime{saved_at(entry_), 0}; }
    const std::vector<mime::HeaderField>& header_fields() override {
        parse();
        return parsed_ ? parsed_->headers : empty_headers_;
    }
    const std::string& body_text() override {
        if (!body_) {
            body_.emplace();
            if (auto raw = store_.read_message(mailbox_, entry_.uid)) {
                parse();
                if (parsed_) *body_ = searchable_body_text(*raw, *parsed_);
            }
        }
        return *body_;
    }

    // The parsed message (the cached structure, else the message parsed now); nullptr when it
    // cannot be read. SORT and THREAD take their keys from it.
    const mime::ParsedMessage* parsed() {
        parse();
        return parsed_ ? &*parsed_ : nullptr;
    }

private:
    void parse() {
        if (parsed_attempted_) return;
        parsed_attempted_ = true;
        if (entry_.structure) {
            if (auto decoded = mime::decode_cache(*entry_.structure)) parsed_ = std::move(*decoded);
        }
        if (!parsed_) {
            if (auto raw = store_.read_message(mailbox_, entry_.uid))
                if (auto p = mime::parse_message(*raw)) parsed_ = std::move(*p);
        }
    }
    storage::Store& store_;
    storage::MailboxId mailbox_;
    std::uint32_t sequence_;
    const storage::Entry& entry_;
    const SelectedMailbox& box_;
    bool parsed_attempted_ = false;
    std::optional<mime::ParsedMessage> parsed_;
    std::optional<std::string> body_;
    std::vector<mime::HeaderField> empty_headers_;
};

}  // namespace hikyaku::imap
