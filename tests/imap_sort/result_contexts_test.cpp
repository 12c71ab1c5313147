// result_contexts_test.cpp: the search contexts of RFC 5267 (imapd/result_contexts.h) without a
// session: what a SEARCH or SORT context gains and loses from verdicts and expunges, the ADDTO
// and REMOVEFROM responses (positions 0 for SEARCH, sort positions for SORT, sequence numbers
// through the view's numbering or UIDs), the limits (contexts kept, messages in one result,
// NOUPDATE), CANCELUPDATE, and PARTIAL's slices (RFC 5267 4.4, RFC 9394 3.1).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "imapd/response_writer.h"
#include "imapd/result_contexts.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

SearchProgram all_program() {
    SearchArgs args;
    args.program.kind = SearchKeyKind::and_;
    args.program.children.push_back(SearchKey{});
    return *SearchProgram::prepare(args);
}

ResultContext search_context(std::string tag, bool uid, std::vector<storage::Uid> members) {
    return ResultContext{std::move(tag), uid, all_program(), {}, std::move(members), {}};
}

MessageFacts facts(storage::Uid uid, std::uint64_t size) {
    MessageFacts f;
    f.number = uid;
    f.size = size;
    return f;
}

// A SORT context by SIZE over (uid, size) pairs given by ascending UID.
ResultContext size_context(std::string tag, std::vector<std::pair<storage::Uid, std::uint64_t>> sizes) {
    ResultContext c{std::move(tag), false, all_program(), {SortCriterion{SortKey::size, false}}, {}, {}};
    for (auto [uid, size] : sizes) c.facts.push_back(facts(uid, size));
    for (std::uint32_t n : sort_messages(c.facts, c.criteria)) c.members.push_back(n);
    return c;
}

ContextVerdict yes(storage::Uid uid) { return {uid, true, std::nullopt}; }
ContextVerdict no(storage::Uid uid) { return {uid, false, std::nullopt}; }
ContextVerdict yes_sized(storage::Uid uid, std::uint64_t size) { return {uid, true, facts(uid, size)}; }

// The view: UID n*10 is message n.
std::uint32_t tens(storage::Uid uid) { return uid / 10; }

}  // namespace

TEST_CASE("SEARCH context: ADDTO and REMOVEFROM with position 0, by sequence number or UID") {
    ResultContexts contexts;
    contexts.keep(search_context("A1", false, {10, 30, 50}));
    contexts.keep(search_context("A2", true, {10, 30, 50}));
    const std::vector<std::vector<ContextVerdict>> verdicts{{yes(20), no(30), no(40), yes(50)},
                                                            {yes(20), no(30), no(40), yes(50)}};
    CHECK(contexts.apply(verdicts, tens) ==
          "* ESEARCH (TAG \"A1\") REMOVEFROM (0 3) ADDTO (0 2)\r\n"
          "* ESEARCH (TAG \"A2\") UID REMOVEFROM (0 30) ADDTO (0 20)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{10, 20, 50});
    // Nothing moved: nothing said.
    CHECK(contexts.apply(verdicts, tens).empty());
    // Several at once, written as a set.
    const std::vector<std::vector<ContextVerdict>> more{{yes(30), yes(40), yes(60)}, {}};
    CHECK(contexts.apply(more, tens) == "* ESEARCH (TAG \"A1\") ADDTO (0 3:4,6)\r\n");
    // Expunged: REMOVEFROM numbered as the view still numbers them, for each context holding them.
    CHECK(contexts.remove(std::vector<storage::Uid>{40, 20, 70, 20}, tens) ==
          "* ESEARCH (TAG \"A1\") REMOVEFROM (0 2,4)\r\n"
          "* ESEARCH (TAG \"A2\") UID REMOVEFROM (0 20)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{10, 30, 50, 60});
    CHECK(contexts.contexts()[1].members == std::vector<storage::Uid>{10, 50});
    CHECK(contexts.remove(std::vector<storage::Uid>{20}, tens).empty());
}

TEST_CASE("SORT context: REMOVEFROM runs highest first, ADDTO runs lowest first, in sort order") {
    ResultContexts contexts;
    // Sizes: uid 10:500 20:100 30:300 40:200 50:400 -> order 20 40 30 50 10.
    contexts.keep(size_context("S", {{10, 500}, {20, 100}, {30, 300}, {40, 200}, {50, 400}}));
    REQUIRE(contexts.contexts()[0].members == std::vector<storage::Uid>{20, 40, 30, 50, 10});
    // 40 and 30 (positions 2, 3) and 10 (position 5) leave: the later run first.
    std::vector<std::vector<ContextVerdict>> verdicts{{no(10), no(30), no(40)}};
    CHECK(contexts.apply(verdicts, tens) == "* ESEARCH (TAG \"S\") REMOVEFROM (5 1) REMOVEFROM (2 4,3)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{20, 50});
    // New ones: 60 (size 50) goes first, 70 (250) and 30 (300) between 20 and 50, 80 (900) last.
    verdicts = {{yes_sized(30, 300), yes_sized(60, 50), yes_sized(70, 250), yes_sized(80, 900)}};
    CHECK(contexts.apply(verdicts, tens) == "* ESEARCH (TAG \"S\") ADDTO (1 6) ADDTO (3 7,3) ADDTO (6 8)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{60, 20, 70, 30, 50, 80});
    // Removed and added in one update: removals first, then additions in the new order.
    verdicts = {{no(20), yes_sized(90, 260)}};
    CHECK(contexts.apply(verdicts, tens) == "* ESEARCH (TAG \"S\") REMOVEFROM (2 2) ADDTO (3 9)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{60, 70, 90, 30, 50, 80});
    // Equal keys keep mailbox (UID) order: 55 with size 400 after 50, before 80.
    verdicts = {{yes_sized(55, 400)}};
    CHECK(contexts.apply(verdicts, tens) == "* ESEARCH (TAG \"S\") ADDTO (6 5)\r\n");
    // Expunges: the positions they had.
    CHECK(contexts.remove(std::vector<storage::Uid>{60, 80}, tens) ==
          "* ESEARCH (TAG \"S\") REMOVEFROM (7 8) REMOVEFROM (1 6)\r\n");
    CHECK(contexts.contexts()[0].members == std::vector<storage::Uid>{70, 90, 30, 50, 55});
}

TEST_CASE("limits: contexts kept, messages in one result, NOUPDATE, CANCELUPDATE") {
    ResultContexts contexts(ContextLimits{2, 3});
    CHECK(contexts.can_keep("a", 3));
    CHECK_FALSE(contexts.can_keep("a", 4));  // too large to keep
    contexts.keep(search_context("a", false, {10}));
    contexts.keep(search_context("b", false, {10}));
    CHECK_FALSE(contexts.can_keep("c", 0));  // one more than the limit
    CHECK(contexts.can_keep("a", 1));        // replaces "a"
    contexts.keep(search_context("a", false, {10, 20}));
    CHECK(contexts.size() == 2);
    CHECK(contexts.contexts()[1].members.size() == 2);
    // Growing past max_messages drops the context and says so; the other is updated.
    const std::vector<std::vector<ContextVerdict>> verdicts{{yes(30)}, {yes(30), yes(40), yes(10)}};
    CHECK(contexts.apply(verdicts, tens) ==
          "* ESEARCH (TAG \"b\") ADDTO (0 3)\r\n"
          "* OK [NOUPDATE \"a\"] Search result too large to keep updating\r\n");
    REQUIRE(contexts.size() == 1);
    CHECK(contexts.contexts()[0].tag == "b");
    // Exactly at the bound is kept.
    CHECK(contexts.apply(std::vector<std::vector<ContextVerdict>>{{yes(40)}}, tens) ==
          "* ESEARCH (TAG \"b\") ADDTO (0 4)\r\n");
    CHECK(contexts.size() == 1);
    CHECK_FALSE(contexts.cancel("a"));
    CHECK(contexts.cancel("b"));
    CHECK(contexts.empty());
}

TEST_CASE("PARTIAL: positive and negative ranges, clipped to the result") {
    const std::vector<std::uint32_t> r{5, 3, 4, 2, 1};
    CHECK(partial_slice(r, {1, 1}) == std::vector<std::uint32_t>{5});
    CHECK(partial_slice(r, {2, 4}) == std::vector<std::uint32_t>{3, 4, 2});
    CHECK(partial_slice(r, {1, 6}) == r);
    CHECK(partial_slice(r, {6, 6}).empty());
    CHECK(partial_slice(r, {5, 4294967295}) == std::vector<std::uint32_t>{1});
    CHECK(partial_slice(r, {-1, -1}) == std::vector<std::uint32_t>{1});
    CHECK(partial_slice(r, {-1, -2}) == std::vector<std::uint32_t>{2, 1});
    CHECK(partial_slice(r, {-2, -100}) == std::vector<std::uint32_t>{5, 3, 4, 2});
    CHECK(partial_slice(r, {-6, -9}).empty());
    CHECK(partial_slice(std::vector<std::uint32_t>{}, {1, 10}).empty());
    CHECK(format_partial_range({2, 4}) == "2:4");
    CHECK(format_partial_range({-1, -100}) == "-1:-100");
    EsearchResult result;
    result.partial_range = "6:6";
    CHECK(esearch_response("t", false, result) == "* ESEARCH (TAG \"t\") PARTIAL (6:6 NIL)\r\n");
    result.partial_set = "2,4:5";
    CHECK(esearch_response("t", true, result) == "* ESEARCH (TAG \"t\") UID PARTIAL (6:6 2,4:5)\r\n");
    CHECK(format_response_code(ResponseCode::noupdate("B\"1")) == "[NOUPDATE \"B\\\"1\"]");
}
