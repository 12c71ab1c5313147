// imap_contexts.cpp: the session's search contexts (RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT; see
// result_contexts.h): keeping the result of a SEARCH or SORT RETURN (UPDATE), looking again at
// the messages that changed, and CANCELUPDATE.
//
// RFC 5267 4.3: while a context is kept, every change the session learns of (its own STORE,
// another session's flag changes, new mail, expunges) that moves a message into or out of the
// result is told as an untagged ESEARCH (TAG "tag") ADDTO / REMOVEFROM, when untagged
// responses are due (after a command, in IDLE). A message expunged leaves the result by a
// REMOVEFROM sent before its EXPUNGE (so its number is still the client's); while an EXPUNGE
// may not be sent (RFC 9051 7.5.1) the message stays in the result. A message's membership is
// decided when it changes, by the search keys as they read then: keys that depend on the
// sequence numbers or on the time ("1:3", "$", YOUNGER) are not re-read for the messages that
// did not change.
// Must never: keep a context past the mailbox's deselection, keep more than
// ContextLimits::max_contexts of them, or read a message of the store that no context needs.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "imapd/imap_session_internal.h"
#include "imapd/search_eval.h"
#include "imapd/searched_message.h"
#include "imapd/sort_thread.h"
#include "storage/store.h"

namespace hikyaku::imap {

std::optional<ResponseCode> Session::keep_context(const Command& c, const SearchArgs& search,
                                                  std::vector<SortCriterion> criteria,
                                                  std::vector<storage::Uid> members, std::vector<MessageFacts> facts) {
    if (!contexts_.can_keep(c.tag, members.size())) return ResponseCode::noupdate(c.tag);
    auto program = SearchProgram::prepare(search);
    if (!program) return ResponseCode::noupdate(c.tag);  // cannot happen: the search ran with it
    ResultContext context{c.tag, c.uid, std::move(*program), std::move(criteria), std::move(members), std::move(facts)};
    if (!context.sorted()) std::sort(context.members.begin(), context.members.end());
    contexts_.keep(std::move(context));
    return std::nullopt;
}

std::string Session::context_removals(std::span<const storage::Uid> gone) {
    if (contexts_.empty() || gone.empty()) return {};
    return contexts_.remove(gone, [this](storage::Uid uid) {
        auto seq = selected_->sequence_of(uid);
        return seq ? *seq : 0;
    });
}

asio::awaitable<void> Session::update_contexts() {
    if (!selected_ || ended()) co_return;
    std::vector<storage::Uid> touched = selected_->take_touched();
    if (contexts_.empty() || touched.empty()) co_return;
    // A message expunged but not yet announced keeps its place until its EXPUNGE.
    std::erase_if(touched, [&](storage::Uid uid) {
        auto seq = selected_->sequence_of(uid);
        return !seq || selected_->at(*seq).expunged;
    });
    if (touched.empty()) co_return;
    bool structure = false;
    for (const ResultContext& context : contexts_.contexts())
        structure = structure || context.sorted() || context.program.needs_header() || context.program.needs_body();
    std::vector<storage::UidRange> ranges;
    for (storage::Uid uid : touched) {
        if (!ranges.empty() && ranges.back().last + 1 == uid) ranges.back().last = uid;
        else ranges.push_back({uid, uid});
    }
    const storage::MailboxId mailbox = selected_->id();
    SearchContext search;
    search.message_count = selected_->count();
    search.highest_uid = selected_->highest_uid();
    search.now = now();
    search.saved_uids = saved_search_;
    const std::vector<ResultContext>& contexts = contexts_.contexts();
    const SortThreadLimits limits;
    // The keys may read every changed message: off the event loop.
    auto verdicts = co_await store().pool().run([&]() -> Result<std::vector<std::vector<ContextVerdict>>> {
        auto entries = store()->fetch_entries(mailbox, ranges, storage::FetchOptions{structure});
        if (!entries) return entries.error();
        std::vector<std::vector<ContextVerdict>> out(contexts.size());
        for (const auto& entry : *entries) {
            auto seq = selected_->sequence_of(entry.uid);
            if (!seq || selected_->at(*seq).expunged) continue;
            SearchedMessage message(*store(), mailbox, *seq, entry, *selected_);
            for (std::size_t i = 0; i < contexts.size(); ++i) {
                const SearchOutcome outcome = contexts[i].program.evaluate(message, search);
                if (outcome == SearchOutcome::too_costly) continue;  // left as it was
                ContextVerdict verdict{entry.uid, outcome == SearchOutcome::match, std::nullopt};
                if (verdict.matches && contexts[i].sorted())
                    verdict.facts = sort_facts_of(message, entry, entry.uid, limits);
                out[i].push_back(std::move(verdict));
            }
        }
        return out;
    });
    if (!verdicts) {
        spdlog::warn("{} search contexts not updated: {}", connection().log_prefix(), verdicts.error().message);
        co_return;
    }
    const std::string updates = contexts_.apply(*verdicts, [this](storage::Uid uid) {
        auto seq = selected_->sequence_of(uid);
        return seq ? *seq : 0;
    });
    if (!updates.empty()) send(updates);
}

asio::awaitable<Tagged> Session::on_cancelupdate(const Command& c) {
    const CancelUpdateArgs& args = *c.get<CancelUpdateArgs>();
    // Every tag must name a kept context; otherwise nothing is cancelled.
    for (const std::string& tag : args.tags) {
        const auto& kept = contexts_.contexts();
        if (std::none_of(kept.begin(), kept.end(), [&](const ResultContext& k) { return k.tag == tag; }))
            co_return Tagged::no("No search context with that tag is kept");
    }
    for (const std::string& tag : args.tags) contexts_.cancel(tag);
    co_return Tagged::ok("Cancelupdate completed");
}

}  // namespace hikyaku::imap
