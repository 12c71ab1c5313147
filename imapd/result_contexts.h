// result_contexts.h: the search contexts of RFC 5267 (CONTEXT=SEARCH, CONTEXT=SORT) that one
// session keeps for its selected mailbox: the results of SEARCH / SORT RETURN (UPDATE ...),
// kept current, and the ESEARCH updates (ADDTO, REMOVEFROM) that tell the client how they
// changed; also PARTIAL's slice of a result (4.4, RFC 9394 3.1).
//
// Pure: the session evaluates the changed messages (search_eval.h) and hands the verdicts in;
// this decides what each context gains and loses and writes the responses. Results are kept
// by UID and turned into sequence numbers only when written, through the view's numbering.
//
// RFC 5267 4.3: a SEARCH context's ADDTO and REMOVEFROM carry position 0 and the messages in
// ascending order. A SORT context's carry positions in the sorted result: REMOVEFROM items
// come first, highest position first, each naming a run of consecutive positions by the first
// of them; then ADDTO items, lowest position first, each a run of consecutive positions in the
// result as it stands after the items before it; the set lists a run in sort order. Sort keys
// never change for a message, so members keep their relative order and a new member goes
// where a full SORT would put it.
//
// Bounds: at most ContextLimits::max_contexts contexts (the session answers [NOUPDATE] for one
// more) and max_messages messages in one result (a bigger result is not kept: NOUPDATE at the
// start, or an untagged OK [NOUPDATE "tag"] when an update would make it bigger, and the
// context is dropped). Must never: announce a message twice in one context, leave a message
// in a context after announcing its removal, or write a sequence number for a message the
// view no longer shows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/imap_command.h"
#include "imapd/search_eval.h"
#include "imapd/sort_thread.h"
#include "storage/types.h"

namespace hikyaku::imap {

// Contexts one session keeps at once.
inline constexpr std::size_t kMaxUpdateContexts = 8;
// Messages in one kept result (a SORT context keeps each one's sort facts).
inline constexpr std::size_t kMaxContextMessages = 100'000;

struct ContextLimits {
    std::size_t max_contexts = kMaxUpdateContexts;
    std::size_t max_messages = kMaxContextMessages;
};

// What a re-evaluation found for one message of one context.
struct ContextVerdict {
    storage::Uid uid = 0;
    bool matches = false;
    std::optional<MessageFacts> facts;  // SORT contexts, when it matches: its facts, number = UID
};

// One kept result.
struct ResultContext {
    std::string tag;   // the SEARCH's or SORT's tag: ESEARCH (TAG ...)
    bool uid = false;  // UID SEARCH / UID SORT: the numbers written are UIDs
    SearchProgram program;
    std::vector<SortCriterion> criteria;  // empty for a SEARCH context
    std::vector<storage::Uid> members;    // SEARCH: ascending; SORT: in sort order
    std::vector<MessageFacts> facts;      // SORT: the members' facts, by ascending UID (number = UID)
    bool sorted() const { return !criteria.empty(); }
};

class ResultContexts {
public:
    // The sequence number the view gives a UID (the message must still be in the view).
    using Numbering = std::function<std::uint32_t(storage::Uid)>;

    explicit ResultContexts(ContextLimits limits = {}) : limits_(limits) {}

    const ContextLimits& limits() const { return limits_; }
    bool empty() const { return contexts_.empty(); }
    std::size_t size() const { return contexts_.size(); }
    std::vector<ResultContext>& contexts() { return contexts_; }
    const std::vector<ResultContext>& contexts() const { return contexts_; }

    // Whether a result of `messages` messages under `tag` may be kept (a context with the
    // same tag would be replaced, so it does not count).
    bool can_keep(std::string_view tag, std::size_t messages) const;
    // Keeps it, replacing a context with the same tag. Call can_keep() first.
    void keep(ResultContext context);
    // CANCELUPDATE of one tag: false if no context has it.
    bool cancel(std::string_view tag);
    void clear() { contexts_.clear(); }

    // Messages about to be announced as expunged: the REMOVEFROM responses of every context
    // holding some (numbered as the view numbers them now, so before the EXPUNGE responses);
    // they leave the contexts.
    std::string remove(std::span<const storage::Uid> gone, const Numbering& number);
    // The verdicts of a re-evaluation, one list per context (in contexts() order), each sorted
    // by UID: the ESEARCH updates, and NOUPDATE for a context dropped for growing too big.
    std::string apply(std::span<const std::vector<ContextVerdict>> verdicts, const Numbering& number);

private:
    std::string update_search(ResultContext& context, std::span<const ContextVerdict> verdicts,
                              const Numbering& number);
    std::string update_sort(ResultContext& context, std::span<const ContextVerdict> verdicts, const Numbering& number);

    ContextLimits limits_;
    std::vector<ResultContext> contexts_;
};

// PARTIAL (RFC 5267 4.4, RFC 9394 3.1): the part of `result` (in its order) at the range's
// positions; positions past the end are ignored.
std::vector<std::uint32_t> partial_slice(std::span<const std::uint32_t> result, const PartialRange& range);
// The range as echoed in the response: "2:4", "-1:-5".
std::string format_partial_range(const PartialRange& range);

}  // namespace hikyaku::imap
