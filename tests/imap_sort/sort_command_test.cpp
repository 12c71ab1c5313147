// sort_command_test.cpp: the SORT and THREAD grammar (imapd/imap_command_sort.cpp). Every
// vector goes through the framer whole, split at every byte and in fixed chunks (the
// harness checks the framed commands are identical), then the grammar: criteria with
// REVERSE, RETURN options (ESORT), the mandatory charset, search keys, UID forms, errors with
// their reason, and GrammarLimits::max_sort_criteria at and past its bound.
#include <doctest/doctest.h>

#include <string>

#include "imapd/imap_command.h"
#include "tests/imap_parser/reader_harness.h"

using namespace imap_test;
using namespace hikyaku;

namespace {

ParseResult parse_line(const std::string& line, const GrammarLimits& limits = {}) {
    Trace t = run_all_splits(line + "\r\n");
    REQUIRE_MESSAGE(t.commands.size() == 1, line);
    return parse_command(t.commands.front(), limits);
}

Command ok(const std::string& line, const GrammarLimits& limits = {}) {
    auto r = parse_line(line, limits);
    if (auto* e = std::get_if<CommandError>(&r)) FAIL("unexpected error: " << e->text << " for: " << line);
    return std::get<Command>(r);
}

CommandError err(const std::string& line, const GrammarLimits& limits = {}) {
    auto r = parse_line(line, limits);
    REQUIRE_MESSAGE(std::holds_alternative<CommandError>(r), "accepted: " << line);
    return std::get<CommandError>(r);
}

}  // namespace

TEST_CASE("SORT: criteria, REVERSE, charset, keys") {
    Command c = ok("a sort (reverse arrival Cc DATE from size subject to displayfrom REVERSE displayto) UTF-8 all");
    CHECK(c.verb == Verb::sort);
    CHECK(!c.uid);
    const SortArgs& s = *c.get<SortArgs>();
    CHECK(s.criteria == std::vector<SortCriterion>{{SortKey::arrival, true},
                                                   {SortKey::cc, false},
                                                   {SortKey::date, false},
                                                   {SortKey::from, false},
                                                   {SortKey::size, false},
                                                   {SortKey::subject, false},
                                                   {SortKey::to, false},
                                                   {SortKey::display_from, false},
                                                   {SortKey::display_to, true}});
    CHECK(s.search.charset == "UTF-8");
    CHECK(!s.search.return_options);
    REQUIRE(s.search.program.children.size() == 1);
    CHECK(s.search.program.children[0].kind == SearchKeyKind::all);

    Command u = ok("b UID SORT (SUBJECT) \"us-ascii\" UNSEEN (FROM {3}\r\nann) 1:*");
    CHECK(u.uid);
    const SortArgs& us = *u.get<SortArgs>();
    CHECK(us.search.charset == "us-ascii");
    REQUIRE(us.search.program.children.size() == 3);
    CHECK(us.search.program.children[1].children[0].text == "ann");
    CHECK(sort_key_name(SortKey::display_from) == std::string("DISPLAYFROM"));
}

TEST_CASE("SORT RETURN: ESORT options, () is ALL") {
    const SortArgs s = *ok("a SORT RETURN (MIN MAX COUNT ALL) (DATE) US-ASCII ALL").get<SortArgs>();
    REQUIRE(s.search.return_options);
    CHECK(*s.search.return_options == SearchReturn{true, true, true, true, false, false, std::nullopt});
    const SortArgs e = *ok("a SORT RETURN () (DATE) US-ASCII ALL").get<SortArgs>();
    CHECK(*e.search.return_options == SearchReturn{false, false, true, false, false, false, std::nullopt});
    CHECK(err("a SORT RETURN (SAVE) (DATE) US-ASCII ALL").text.find("unknown SORT return option") != std::string::npos);
    CHECK(err("a SORT RETURN (FOO) (DATE) US-ASCII ALL").kind == CommandErrorKind::syntax);
}

TEST_CASE("SORT RETURN: UPDATE and PARTIAL of CONTEXT=SORT (RFC 5267 4.3-4.4)") {
    const SortArgs u = *ok("a UID SORT RETURN (UPDATE ALL) (REVERSE ARRIVAL) US-ASCII UNSEEN").get<SortArgs>();
    CHECK(u.search.return_options->update);
    CHECK(u.search.return_options->all);
    CHECK_FALSE(u.search.return_options->partial);
    // UPDATE alone is not RETURN (): no ALL is implied.
    CHECK_FALSE(ok("a SORT RETURN (UPDATE) (DATE) US-ASCII ALL").get<SortArgs>()->search.return_options->all);
    const SortArgs p = *ok("a SORT RETURN (PARTIAL 4:2) (ARRIVAL) US-ASCII ALL").get<SortArgs>();
    CHECK(*p.search.return_options->partial == PartialRange{2, 4});
    CHECK(*ok("a SORT RETURN (PARTIAL -1:-5) (DATE) UTF-8 ALL").get<SortArgs>()->search.return_options->partial ==
          PartialRange{-1, -5});
    for (std::string line :
         {"a SORT RETURN (PARTIAL 1) (ARRIVAL) US-ASCII ALL", "a SORT RETURN (PARTIAL 1:*) (ARRIVAL) US-ASCII ALL",
          "a SORT RETURN (PARTIAL *:1) (ARRIVAL) US-ASCII ALL",
          "a SORT RETURN (PARTIAL 1:2 PARTIAL 3:4) (ARRIVAL) US-ASCII ALL"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax);
    }
}

TEST_CASE("SORT: errors name what is wrong") {
    CHECK(err("a SORT").kind == CommandErrorKind::syntax);
    CHECK(err("a SORT () US-ASCII ALL").text.find("expected a sort key") != std::string::npos);
    CHECK(err("a SORT (REVERSE) US-ASCII ALL").kind == CommandErrorKind::syntax);
    CHECK(err("a SORT (REVERSE REVERSE DATE) US-ASCII ALL").text.find("unknown sort key") != std::string::npos);
    CHECK(err("a SORT (COLOR) US-ASCII ALL").text.find("unknown sort key") != std::string::npos);
    CHECK(err("a SORT DATE US-ASCII ALL").text.find("sort criteria") != std::string::npos);
    CHECK(err("a SORT (DATE) ALL").kind == CommandErrorKind::syntax);       // no charset: ALL taken as one, no keys
    CHECK(err("a SORT (DATE) US-ASCII").kind == CommandErrorKind::syntax);  // no keys
    CHECK(err("a SORT (DATE)  US-ASCII ALL").kind == CommandErrorKind::syntax);  // two spaces
    CHECK(err("a SORT (DATE) US-ASCII ALL ").kind == CommandErrorKind::syntax);  // trailing space
    CHECK(err("a SORT (DATE) US-ASCII BOGUS").text.find("unknown search key") != std::string::npos);
    CHECK(err("a UID SORT(DATE) US-ASCII ALL").kind == CommandErrorKind::unknown_command);
    // a recoverable error keeps the tag and names the command
    const CommandError e = err("t1 SORT (DATE) US-ASCII");
    CHECK(e.tag == "t1");
    CHECK(e.verb == Verb::sort);
    CHECK(e.text.rfind("SORT: ", 0) == 0);
}

TEST_CASE("SORT: max_sort_criteria at and past the bound, and the search-key bound") {
    GrammarLimits limits;
    limits.max_sort_criteria = 3;
    CHECK(ok("a SORT (DATE REVERSE SIZE TO) US-ASCII ALL", GrammarLimits{}).get<SortArgs>()->criteria.size() == 3);
    CHECK(ok("a SORT (DATE REVERSE SIZE TO) US-ASCII ALL", limits).get<SortArgs>()->criteria.size() == 3);
    CHECK(err("a SORT (DATE SIZE TO FROM) US-ASCII ALL", limits).kind == CommandErrorKind::limit_exceeded);
    std::string many = "a SORT (";
    for (std::size_t i = 0; i < kMaxSortCriteria; ++i) many += i ? " DATE" : "DATE";
    CHECK(ok(many + ") US-ASCII ALL").get<SortArgs>()->criteria.size() == kMaxSortCriteria);
    CHECK(err(many + " DATE) US-ASCII ALL").kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_search_keys = 2;
    CHECK(ok("a SORT (DATE) US-ASCII SEEN DRAFT", limits).verb == Verb::sort);
    CHECK(err("a SORT (DATE) US-ASCII SEEN DRAFT FLAGGED", limits).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("THREAD: algorithms, charset, keys, UID; errors") {
    Command r = ok("a THREAD REFERENCES UTF-8 ALL");
    CHECK(r.verb == Verb::thread);
    CHECK(r.get<ThreadArgs>()->algorithm == ThreadAlgorithm::references);
    CHECK(r.get<ThreadArgs>()->search.charset == "UTF-8");
    Command o = ok("a uid thread orderedsubject us-ascii subject \"x y\" 2:4");
    CHECK(o.uid);
    CHECK(o.get<ThreadArgs>()->algorithm == ThreadAlgorithm::ordered_subject);
    CHECK(o.get<ThreadArgs>()->search.program.children.size() == 2);
    CHECK(err("a THREAD").kind == CommandErrorKind::syntax);
    CHECK(err("a THREAD REFS US-ASCII ALL").text.find("unknown threading algorithm") != std::string::npos);
    CHECK(err("a THREAD REFERENCES US-ASCII").kind == CommandErrorKind::syntax);
    CHECK(err("a THREAD REFERENCES ALL").kind == CommandErrorKind::syntax);
    CHECK(err("a THREAD RETURN (ALL) REFERENCES US-ASCII ALL").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_search_depth = 3;  // "(" NOT SEEN: three levels
    CHECK(ok("a THREAD REFERENCES US-ASCII (NOT SEEN)", limits).verb == Verb::thread);
    CHECK(err("a THREAD REFERENCES US-ASCII ((NOT SEEN))", limits).kind == CommandErrorKind::limit_exceeded);
}
