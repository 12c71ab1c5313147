// imap_sort.cpp: the SORT and THREAD commands of the selected state (see imap_session.h):
// the search keys select messages as SEARCH does (search_eval.h), their keys come from the
// cached structure, and sort_thread.h orders or threads them.
//
// RFC 5256 3 (SORT, UID SORT: "* SORT" with the numbers in order; THREAD, UID THREAD:
// "* THREAD" with thread lists; the charset is mandatory, an unknown one gets NO
// [BADCHARSET]), RFC 5267 3 (SORT RETURN: an ESEARCH response whose ALL keeps the sort
// order, MIN and MAX the first and last in it), RFC 5267 4.3-4.4 (UPDATE: the sorted result
// kept as a context, imap_contexts.cpp; PARTIAL: a slice of the sorted list, in its order),
// RFC 5957 (DISPLAYFROM, DISPLAYTO).
//
// Everything runs on the blocking pool: it may read every message of the mailbox.
// Must never: answer with a message the view does not show (expunged ones are left out),
// or collect more than SortThreadLimits::max_messages messages (NO [LIMIT]).
#include "imapd/imap_session_internal.h"
#include "imapd/search_eval.h"
#include "imapd/searched_message.h"
#include "imapd/sort_thread.h"
#include "storage/store.h"

namespace hikyaku::imap {

MessageFacts sort_facts_of(SearchedMessage& message, const storage::Entry& entry, std::uint32_t number,
                           const SortThreadLimits& limits) {
    const std::int64_t arrival = entry.internal_date.time_since_epoch().count();
    if (const mime::ParsedMessage* parsed = message.parsed())
        return message_facts(*parsed, number, arrival, entry.size, limits);
    // Unreadable: it still sorts and threads, by what the entry knows.
    MessageFacts bare;
    bare.number = number;
    bare.arrival = bare.sent = arrival;
    bare.size = entry.size;
    return bare;
}

asio::awaitable<Result<std::vector<MessageFacts>>> Session::collect_facts(const SearchArgs& search, bool uid) {
    auto program = SearchProgram::prepare(search);
    if (!program) co_return program.error();
    const storage::MailboxId mailbox = selected_->id();
    SearchContext context;
    context.message_count = selected_->count();
    context.highest_uid = selected_->highest_uid();
    context.now = now();
    context.saved_uids = saved_search_;
    const SortThreadLimits limits;
    auto found = co_await store().pool().run([&]() -> Result<std::vector<MessageFacts>> {
        auto ranges = search_ranges(*store(), mailbox, *program);
        if (!ranges) return ranges.error();
        auto entries = store()->fetch_entries(mailbox, *ranges, storage::FetchOptions{true});
        if (!entries) return entries.error();
        std::vector<MessageFacts> out;
        for (const auto& entry : *entries) {
            auto seq = selected_->sequence_of(entry.uid);
            if (!seq || selected_->at(*seq).expunged) continue;
            SearchedMessage message(*store(), mailbox, *seq, entry, *selected_);
            const SearchOutcome outcome = program->evaluate(message, context);
            if (outcome == SearchOutcome::too_costly) return make_error(Errc::limit_exceeded, "search too costly");
            if (outcome != SearchOutcome::match) continue;
            if (out.size() == limits.max_messages) return make_error(Errc::limit_exceeded, "too many messages");
            out.push_back(sort_facts_of(message, entry, uid ? entry.uid : *seq, limits));
        }
        return out;
    });
    co_return found;
}

Tagged Session::collect_failure(const Error& error, std::string_view what) const {
    if (error.code == Errc::unsupported)
        return Tagged::no("Unsupported charset", ResponseCode::badcharset({"UTF-8", "US-ASCII"}));
    if (error.code == Errc::limit_exceeded)
        return Tagged::no(std::string(what) + ": " + error.message, ResponseCode::simple(ResponseCodeKind::limit));
    return store_failure(error, what);
}

asio::awaitable<Tagged> Session::on_sort(const Command& c) {
    const SortArgs& args = *c.get<SortArgs>();
    const std::optional<SearchReturn>& want = args.search.return_options;
    const bool update = want && want->update;
    if (update && want->partial)
        co_return Tagged::no("UPDATE with PARTIAL is not supported", ResponseCode::simple(ResponseCodeKind::cannot));
    // Numbered by UID (mailbox order all the same), so a kept context can hold them.
    auto facts = co_await collect_facts(args.search, true);
    if (!facts) co_return collect_failure(facts.error(), "sort");
    const std::vector<std::uint32_t> uids = sort_messages(*facts, args.criteria);
    std::vector<std::uint32_t> numbers = uids;
    if (!c.uid)
        for (std::uint32_t& n : numbers) n = selected_->sequence_of(n).value_or(0);
    std::optional<ResponseCode> noupdate;
    if (want) {
        // RFC 5267 3.1: the result options over the sorted list; 4.4: PARTIAL, in sort order.
        EsearchResult result;
        if (want->min && !numbers.empty()) result.min = numbers.front();
        if (want->max && !numbers.empty()) result.max = numbers.back();
        if (want->count) result.count = numbers.size();
        if (want->all && !numbers.empty()) result.all = format_number_set(numbers);
        if (want->partial) {
            result.partial_range = format_partial_range(*want->partial);
            result.partial_set = format_number_set(partial_slice(numbers, *want->partial));
        }
        send(esearch_response(c.tag, c.uid, result));
        if (update) noupdate = keep_context(c, args.search, args.criteria, uids, std::move(*facts));
    } else {
        std::string out = "* SORT";
        for (std::uint32_t n : numbers) out += " " + std::to_string(n);
        send(out + "\r\n");
    }
    if (noupdate) co_return Tagged::ok("Sort completed; its result is not kept up to date", noupdate);
    co_return Tagged::ok("Sort completed");
}

asio::awaitable<Tagged> Session::on_thread(const Command& c) {
    const ThreadArgs& args = *c.get<ThreadArgs>();
    auto facts = co_await collect_facts(args.search, c.uid);
    if (!facts) co_return collect_failure(facts.error(), "thread");
    const ThreadAlgorithm algorithm = args.algorithm;
    auto threads = co_await store().pool().run([&]() -> Result<std::string> {
        auto t = thread_messages(*facts, algorithm);
        if (!t) return t.error();
        return format_threads(*t);
    });
    if (!threads) co_return collect_failure(threads.error(), "thread");
    send(threads->empty() ? std::string("* THREAD\r\n") : "* THREAD " + *threads + "\r\n");
    co_return Tagged::ok("Thread completed");
}

}  // namespace hikyaku::imap
