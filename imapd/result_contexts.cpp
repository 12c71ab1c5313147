// result_contexts.cpp: the search contexts of RFC 5267 (see result_contexts.h).
#include "imapd/result_contexts.h"

#include <algorithm>

#include "imapd/response_writer.h"

namespace hikyaku::imap {
namespace {

std::uint32_t wire_number(const ResultContext& context, storage::Uid uid, const ResultContexts::Numbering& number) {
    return context.uid ? uid : number(uid);
}

std::string update_response(const ResultContext& context, std::vector<ContextChange> changes) {
    if (changes.empty()) return {};
    EsearchResult result;
    result.changes = std::move(changes);
    return esearch_response(context.tag, context.uid, result);
}

// Runs of consecutive positions (ascending, 1-based) as [first, last] index pairs into `positions`.
std::vector<std::pair<std::size_t, std::size_t>> runs(std::span<const std::size_t> positions) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t i = 0; i < positions.size();) {
        std::size_t j = i;
        while (j + 1 < positions.size() && positions[j + 1] == positions[j] + 1) ++j;
        out.emplace_back(i, j);
        i = j + 1;
    }
    return out;
}

bool holds(const ResultContext& context, storage::Uid uid) {
    if (!context.sorted()) return std::binary_search(context.members.begin(), context.members.end(), uid);
    auto it = std::lower_bound(context.facts.begin(), context.facts.end(), uid,
                               [](const MessageFacts& f, storage::Uid u) { return f.number < u; });
    return it != context.facts.end() && it->number == uid;
}

}  // namespace

bool ResultContexts::can_keep(std::string_view tag, std::size_t messages) const {
    if (messages > limits_.max_messages) return false;
    std::size_t others = 0;
    for (const ResultContext& c : contexts_)
        if (c.tag != tag) ++others;
    return others < limits_.max_contexts;
}

void ResultContexts::keep(ResultContext context) {
    cancel(context.tag);
    contexts_.push_back(std::move(context));
}

bool ResultContexts::cancel(std::string_view tag) {
    auto it = std::find_if(contexts_.begin(), contexts_.end(), [&](const ResultContext& c) { return c.tag == tag; });
    if (it == contexts_.end()) return false;
    contexts_.erase(it);
    return true;
}

std::string ResultContexts::remove(std::span<const storage::Uid> gone, const Numbering& number) {
    if (gone.empty() || contexts_.empty()) return {};
    std::vector<storage::Uid> sorted_gone(gone.begin(), gone.end());
    std::sort(sorted_gone.begin(), sorted_gone.end());
    sorted_gone.erase(std::unique(sorted_gone.begin(), sorted_gone.end()), sorted_gone.end());
    std::string out;
    for (ResultContext& context : contexts_) {
        std::vector<ContextVerdict> verdicts;
        for (storage::Uid uid : sorted_gone) verdicts.push_back({uid, false, std::nullopt});
        out += context.sorted() ? update_sort(context, verdicts, number) : update_search(context, verdicts, number);
    }
    return out;
}

std::string ResultContexts::apply(std::span<const std::vector<ContextVerdict>> verdicts, const Numbering& number) {
    std::string out;
    std::vector<ResultContext> kept;
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
        ResultContext& context = contexts_[i];
        if (i < verdicts.size() && !verdicts[i].empty()) {
            std::size_t grown = context.members.size();
            for (const ContextVerdict& v : verdicts[i])
                if (v.matches && !holds(context, v.uid)) ++grown;
            if (grown > limits_.max_messages) {
                // RFC 5267 4.3: the server stops updating a context and says so.
                out += untagged_status(ResponseStatus::ok, ResponseCode::noupdate(context.tag),
                                       "Search result too large to keep updating");
                continue;
            }
            out += context.sorted() ? update_sort(context, verdicts[i], number)
                                    : update_search(context, verdicts[i], number);
        }
        kept.push_back(std::move(context));
    }
    contexts_ = std::move(kept);
    return out;
}

std::string ResultContexts::update_search(ResultContext& context, std::span<const ContextVerdict> verdicts,
                                          const Numbering& number) {
    std::vector<storage::Uid> added, removed;
    for (const ContextVerdict& v : verdicts) {
        const bool member = holds(context, v.uid);
        if (v.matches && !member) added.push_back(v.uid);
        if (!v.matches && member) removed.push_back(v.uid);
    }
    if (added.empty() && removed.empty()) return {};
    std::vector<ContextChange> changes;
    auto numbers_of = [&](std::span<const storage::Uid> uids) {
        std::vector<std::uint32_t> numbers;
        for (storage::Uid uid : uids) numbers.push_back(wire_number(context, uid, number));
        std::sort(numbers.begin(), numbers.end());
        return numbers;
    };
    // Numbered before the members change (a removed message still has its number).
    if (!removed.empty()) changes.push_back({false, 0, format_number_set(numbers_of(removed))});
    if (!added.empty()) changes.push_back({true, 0, format_number_set(numbers_of(added))});
    std::vector<storage::Uid> members;
    members.reserve(context.members.size() + added.size());
    std::set_difference(context.members.begin(), context.members.end(), removed.begin(), removed.end(),
                        std::back_inserter(members));
    std::vector<storage::Uid> merged;
    merged.reserve(members.size() + added.size());
    std::merge(members.begin(), members.end(), added.begin(), added.end(), std::back_inserter(merged));
    context.members = std::move(merged);
    return update_response(context, std::move(changes));
}

std::string ResultContexts::update_sort(ResultContext& context, std::span<const ContextVerdict> verdicts,
                                        const Numbering& number) {
    std::vector<storage::Uid> removed;
    std::vector<MessageFacts> added;
    for (const ContextVerdict& v : verdicts) {
        const bool member = holds(context, v.uid);
        if (!v.matches && member) removed.push_back(v.uid);
        if (v.matches && !member && v.facts) added.push_back(*v.facts);
    }
    if (removed.empty() && added.empty()) return {};
    std::vector<ContextChange> changes;

    // REMOVEFROM: positions in the current order; runs, highest first.
    std::vector<std::size_t> positions;  // 1-based
    for (std::size_t i = 0; i < context.members.size(); ++i)
        if (std::binary_search(removed.begin(), removed.end(), context.members[i])) positions.push_back(i + 1);
    const auto removal_runs = runs(positions);
    for (auto it = removal_runs.rbegin(); it != removal_runs.rend(); ++it) {
        std::vector<std::uint32_t> numbers;
        for (std::size_t k = it->first; k <= it->second; ++k)
            numbers.push_back(wire_number(context, context.members[positions[k] - 1], number));
        changes.push_back({false, static_cast<std::uint32_t>(positions[it->first]), format_number_set(numbers)});
    }

    // The new result: the facts kept and added, by UID (mailbox order breaks ties), sorted.
    std::vector<MessageFacts> facts;
    facts.reserve(context.facts.size() + added.size());
    for (MessageFacts& f : context.facts)
        if (!std::binary_search(removed.begin(), removed.end(), f.number)) facts.push_back(std::move(f));
    for (MessageFacts& f : added) facts.push_back(std::move(f));
    std::sort(facts.begin(), facts.end(),
              [](const MessageFacts& a, const MessageFacts& b) { return a.number < b.number; });
    std::vector<std::uint32_t> order = sort_messages(facts, context.criteria);

    // ADDTO: the new members' positions in the new order; runs, lowest first.
    std::vector<storage::Uid> new_uids;
    for (const MessageFacts& f : added) new_uids.push_back(f.number);
    std::sort(new_uids.begin(), new_uids.end());
    positions.clear();
    for (std::size_t i = 0; i < order.size(); ++i)
        if (std::binary_search(new_uids.begin(), new_uids.end(), order[i])) positions.push_back(i + 1);
    for (const auto& [first, last] : runs(positions)) {
        std::vector<std::uint32_t> numbers;
        for (std::size_t k = first; k <= last; ++k)
            numbers.push_back(wire_number(context, order[positions[k] - 1], number));
        changes.push_back({true, static_cast<std::uint32_t>(positions[first]), format_number_set(numbers)});
    }
    context.facts = std::move(facts);
    context.members.assign(order.begin(), order.end());
    return update_response(context, std::move(changes));
}

std::vector<std::uint32_t> partial_slice(std::span<const std::uint32_t> result, const PartialRange& range) {
    const std::int64_t size = static_cast<std::int64_t>(result.size());
    // 0-based indexes [from, to], clipped to the result.
    std::int64_t from, to;
    if (range.first > 0) {
        from = range.first - 1;
        to = std::min(range.last, size) - 1;
    } else {
        from = std::max<std::int64_t>(size + range.last, 0);  // -5 of 10: index 5
        to = size + range.first;                              // -1 of 10: index 9
    }
    std::vector<std::uint32_t> out;
    for (std::int64_t i = from; i <= to && i < size; ++i)
        if (i >= 0) out.push_back(result[static_cast<std::size_t>(i)]);
    return out;
}

std::string format_partial_range(const PartialRange& range) {
    return std::to_string(range.first) + ":" + std::to_string(range.last);
}

}  // namespace hikyaku::imap
