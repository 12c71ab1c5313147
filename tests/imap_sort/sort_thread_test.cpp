// sort_thread_test.cpp: the SORT and THREAD library (imapd/sort_thread.h) against RFC 5256's
// rules and examples: base subjects (every ABNF element of 2.1, RFC 2047 words, which ones are
// replies), sent dates with the INTERNALDATE fallback, every sort key with REVERSE and ties,
// ORDEREDSUBJECT, and REFERENCES step by step (links, truncated and looping References,
// missing parents, duplicate and missing Message-IDs, dummy pruning, subject merging, sibling
// order), the thread-list syntax, and each SortThreadLimits bound at and past its limit.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/mime/message.h"
#include "imapd/sort_thread.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

// One message of a test mailbox: header lines (no body needed) and its INTERNALDATE.
struct Mail {
    std::string header;
    std::int64_t internal = 0;
    std::uint64_t size = 0;
};

std::vector<MessageFacts> facts_of(const std::vector<Mail>& mails, const SortThreadLimits& limits = {}) {
    std::vector<MessageFacts> out;
    for (std::size_t i = 0; i < mails.size(); ++i) {
        auto parsed = mime::parse_message(mails[i].header + "\r\nbody\r\n");
        REQUIRE(parsed.ok());
        out.push_back(
            message_facts(*parsed, static_cast<std::uint32_t>(i + 1), mails[i].internal, mails[i].size, limits));
    }
    return out;
}

std::string threads(const std::vector<Mail>& mails, ThreadAlgorithm algorithm = ThreadAlgorithm::references,
                    const SortThreadLimits& limits = {}) {
    const auto facts = facts_of(mails, limits);
    auto t = thread_messages(facts, algorithm, limits);
    REQUIRE(t.ok());
    return format_threads(*t);
}

std::vector<std::uint32_t> sorted(const std::vector<Mail>& mails, std::vector<SortCriterion> criteria) {
    const auto facts = facts_of(mails);
    return sort_messages(facts, criteria);
}

using Numbers = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("base subject: RFC 5256 2.1, each step") {
    CHECK(base_subject("a") == BaseSubject{"a", false});
    CHECK(base_subject("") == BaseSubject{"", false});
    // (1) encoded words decoded, tabs and folds to spaces, runs of spaces to one
    CHECK(base_subject("=?iso-8859-1?q?RE:_C?=") == BaseSubject{"C", true});
    CHECK(base_subject("=?us-ascii?b?UmU6IGM=?=") == BaseSubject{"c", true});
    CHECK(base_subject("=?iso-8859-1?q?_?=") == BaseSubject{"", false});
    CHECK(base_subject("a\t\tb\r\n  c") == BaseSubject{"a b c", false});
    // (2) trailers: "(fwd)" (any case) and whitespace, repeatedly; "(fwd)" makes a forward
    CHECK(base_subject("b (fWd)  (fwd)") == BaseSubject{"b", true});
    CHECK(base_subject("b (a)") == BaseSubject{"b (a)", false});
    CHECK(base_subject("b(fwd)x") == BaseSubject{"b(fwd)x", false});
    // (3) leaders: blobs then re / fw / fwd, optional blob, colon
    CHECK(base_subject("Re: x") == BaseSubject{"x", true});
    CHECK(base_subject("RE:x") == BaseSubject{"x", true});
    CHECK(base_subject("fw: x") == BaseSubject{"x", true});
    CHECK(base_subject("FWD: x") == BaseSubject{"x", true});
    CHECK(base_subject("re [list]: x") == BaseSubject{"x", true});
    CHECK(base_subject("Re[2]: x") == BaseSubject{"x", true});
    CHECK(base_subject("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)") == BaseSubject{"b", true});
    CHECK(base_subject("Ad: Re: Ad: Re: Ad: x") == BaseSubject{"Ad: Re: Ad: Re: Ad: x", false});
    CHECK(base_subject("Reply: x") == BaseSubject{"Reply: x", false});
    CHECK(base_subject("fwx: x") == BaseSubject{"fwx: x", false});
    // (4) a blob goes only when something is left
    CHECK(base_subject("[xyz]") == BaseSubject{"[xyz]", false});
    CHECK(base_subject("[xyz] a") == BaseSubject{"a", false});
    CHECK(base_subject("[a] [b] c") == BaseSubject{"c", false});
    CHECK(base_subject("[a][b]") == BaseSubject{"[b]", false});
    CHECK(base_subject("[a [b] c") == BaseSubject{"[a [b] c", false});
    // (6) "[fwd: ...]" around the whole, then again from (2)
    CHECK(base_subject("Re: [FWD: c]") == BaseSubject{"c", true});
    CHECK(base_subject("[fwd: x] y") == BaseSubject{"y", false});  // only a blob: not a forward
    CHECK(base_subject("re: [fwd: [fwd: re: [fwd: babylon]]]") == BaseSubject{"babylon", true});
    CHECK(base_subject("[fwd: a (fwd)]") == BaseSubject{"a", true});
    CHECK(base_subject("[fwd:]") == BaseSubject{"", true});
}

TEST_CASE("i;ascii-casemap maps a-z only") { CHECK(ascii_casemap("aZ_[{\xc3\xa4") == "AZ_[{\xc3\xa4"); }

TEST_CASE("Message IDs: valid ones, comments and whitespace, the bound") {
    using V = std::vector<std::string>;
    CHECK(message_ids("<a@b>") == V{"<a@b>"});
    CHECK(message_ids("  <a@b> (comment <x@y>) <c\r\n @d>") == V{"<a@b>", "<c@d>"});
    CHECK(message_ids("<no-at> <> <@> <a@b") == V{});
    CHECK(message_ids("<x <a@b>") == V{"<a@b>"});
    CHECK(message_ids("(unclosed <a@b>") == V{});
    CHECK(message_ids("<1@x> <2@x> <3@x> <4@x>", 3) == V{"<1@x>", "<3@x>", "<4@x>"});
    CHECK(message_ids("<1@x> <2@x> <3@x>", 3) == V{"<1@x>", "<2@x>", "<3@x>"});
    CHECK(message_ids("<1@x> <2@x>", 1) == V{"<1@x>"});
    CHECK(message_ids("<1@x>", 0) == V{});
    const std::string at_limit = "<" + std::string(kMaxMessageIdLength - 4, 'a') + "@b>";
    CHECK(message_ids(at_limit).size() == 1);
    CHECK(message_ids("<a" + at_limit.substr(1)).empty());
}

TEST_CASE("facts: sent date with INTERNALDATE fallback, addresses, display names, references") {
    const auto f = facts_of({
        {"Date: Fri, 22 Feb 2008 02:00:00 +0200\r\nSubject: Re: Hello\r\nFrom: Ann <ann@x.org>\r\n"
         "To: =?iso-8859-1?q?foo_aar?= <e@f.g>\r\nCc: grp: c@d.e;\r\nMessage-ID: <m1@x>\r\n"
         "References: <r1@x> <r2@x>\r\nIn-Reply-To: <r3@x>\r\n",
         100, 7},
        {"Date: not a date\r\nFrom: b@c.d\r\nTo: d\r\nIn-Reply-To: <r3@x> <r4@x>\r\n", 200, 8},
    });
    CHECK(f[0].sent == 1203638400);  // 2008-02-22T00:00:00Z
    CHECK(f[0].arrival == 100);
    CHECK(f[0].subject == "HELLO");
    CHECK(f[0].reply_or_forward);
    CHECK(f[0].from == "ANN");
    CHECK(f[0].display_from == "ANN");
    CHECK(f[0].to == "E");
    CHECK(f[0].display_to == "FOO AAR");
    CHECK(f[0].cc == "GRP");
    CHECK(f[0].message_id == "<m1@x>");
    CHECK(f[0].references == std::vector<std::string>{"<r1@x>", "<r2@x>"});
    CHECK(f[1].sent == 200);
    CHECK(f[1].display_from == "B@C.D");
    CHECK(f[1].cc.empty());
    CHECK(!f[1].message_id);
    CHECK(f[1].references == std::vector<std::string>{"<r3@x>"});
}

TEST_CASE("SORT: every key, REVERSE per key, ties in mailbox order") {
    // imaptest's sort-arrival, sort-size and sort-addresses mailboxes
    const std::vector<Mail> arrival{{"", 0, 10}, {"", 7200, 50}, {"", 3600, 20}, {"", 7200, 40}, {"", 7200, 30}};
    CHECK(sorted(arrival, {{SortKey::arrival, false}}) == Numbers{1, 3, 2, 4, 5});
    CHECK(sorted(arrival, {{SortKey::arrival, true}}) == Numbers{2, 4, 5, 3, 1});
    CHECK(sorted(arrival, {{SortKey::arrival, false}, {SortKey::size, true}}) == Numbers{1, 3, 2, 4, 5});
    CHECK(sorted(arrival, {{SortKey::size, false}}) == Numbers{1, 3, 5, 4, 2});
    CHECK(sorted(arrival, {}) == Numbers{1, 2, 3, 4, 5});
    const std::vector<Mail> addresses{
        {"From: user2@domain2.org\r\nTo: foo bar <user2@domain2.org>\r\nCc: user2@domain2.org (foo bar)\r\n", 0},
        {"From: user2@domain1.org\r\nTo: user2@domain1.org\r\nCc: user2: blah@domain1.org;\r\n", 3600},
        {"From: user1@domain1.org\r\nTo: user1@domain1.org\r\nCc: user1@domain1.org\r\n", 7200}};
    for (SortKey key : {SortKey::from, SortKey::to, SortKey::cc}) {
        CHECK(sorted(addresses, {{key, false}}) == Numbers{3, 1, 2});
        CHECK(sorted(addresses, {{key, true}}) == Numbers{1, 2, 3});
        CHECK(sorted(addresses, {{key, false}, {SortKey::arrival, true}}) == Numbers{3, 2, 1});
    }
    // sort-date: sent dates, two without a Date header (their INTERNALDATE counts)
    const std::int64_t day = 1203631200;  // 2008-02-22T00:00:00+0200
    const std::vector<Mail> dates{{"Date: Fri, 22 Feb 2008 00:00:00 +0200\r\n", day + 23 * 3600, 1},
                                  {"Date: Fri, 22 Feb 2008 02:00:00 +0200\r\n", day + 22 * 3600, 2},
                                  {"Date: Fri, 22 Feb 2008 01:00:00 +0200\r\n", day + 21 * 3600, 3},
                                  {"Date: Fri, 22 Feb 2008 02:00:00 +0200\r\n", day + 20 * 3600, 4},
                                  {"Subject: foo\r\n", day + 5423, 5},
                                  {"Date: Fri, 22 Feb 2008 02:00:00 +0200\r\n", day + 18 * 3600, 6},
                                  {"Subject: foo bar\r\n", day + 3600, 7}};
    CHECK(sorted(dates, {{SortKey::date, false}}) == Numbers{1, 3, 7, 5, 2, 4, 6});
    CHECK(sorted(dates, {{SortKey::date, true}}) == Numbers{2, 4, 6, 5, 3, 7, 1});
    CHECK(sorted(dates, {{SortKey::date, false}, {SortKey::size, true}}) == Numbers{1, 7, 3, 5, 6, 4, 2});
    // sort-display-to: the display name, else the address, a group's name
    const std::vector<Mail> display{{"To: foo bar <a@b.c>\r\n"},
                                    {"To: b@c.d\r\n"},
                                    {"To: d\r\n"},
                                    {"To: =?iso-8859-1?q?foo_aar?= <e@f.g>\r\n"},
                                    {"To: =?iso-8859-1?q?foo_car?= <f@g.h>\r\n"},
                                    {"To: a: xx@xx.org, yy@yy.org;\r\n"},
                                    {"To: z: aa@aa.org, bb@bb.org;\r\n"},
                                    {"To: empty:;\r\n"}};
    CHECK(sorted(display, {{SortKey::display_to, false}}) == Numbers{6, 2, 3, 8, 4, 1, 5, 7});
    CHECK(sorted(display, {{SortKey::display_to, true}}) == Numbers{7, 5, 1, 4, 8, 3, 2, 6});
    std::vector<Mail> display_from;
    for (const Mail& m : display) display_from.push_back({"From" + m.header.substr(2)});
    CHECK(sorted(display_from, {{SortKey::display_from, false}}) == Numbers{6, 2, 3, 8, 4, 1, 5, 7});
}

namespace {
// imaptest's sort-subject and thread-orderedsubject mailbox: all sent at the same moment.
const std::vector<Mail> kSubjects{{"Subject: a\r\n"},
                                  {"Subject: C\r\n"},
                                  {"Subject: b\r\n"},
                                  {"Subject: _\r\n"},
                                  {"Subject: [foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)\r\n"},
                                  {"Subject: b (a)\r\n"},
                                  {"Subject: Re: [FWD: c]\r\n"},
                                  {"Subject: [xyz]\r\n"},
                                  {"X-No-Subject: 1\r\n"},
                                  {"Subject: =?iso-8859-1?q?_?=\r\n"},
                                  {"Subject: Re: =?utf-8?q?b?=\r\n"},
                                  {"Subject: =?iso-8859-1?q?RE:_C?=\r\n"},
                                  {"Subject: =?us-ascii?b?UmU6IGM=?=\r\n"},
                                  {"Subject: Ad: Re: Ad: Re: Ad: x\r\n"},
                                  {"Subject: re: [fwd: [fwd: re: [fwd: babylon]]]\r\n"}};
}  // namespace

TEST_CASE("SORT SUBJECT: base subjects under i;ascii-casemap") {
    CHECK(sorted(kSubjects, {{SortKey::subject, false}}) == Numbers{9, 10, 1, 14, 3, 5, 11, 6, 15, 2, 7, 12, 13, 8, 4});
    CHECK(sorted(kSubjects, {{SortKey::subject, true}}) == Numbers{4, 8, 2, 7, 12, 13, 15, 6, 3, 5, 11, 14, 1, 9, 10});
}

TEST_CASE("THREAD=ORDEREDSUBJECT") {
    CHECK(threads(kSubjects, ThreadAlgorithm::ordered_subject) ==
          "(1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15)");
    // thread-orderedsubject2: children and threads ordered by sent date, Date else INTERNALDATE
    const std::int64_t t = 1203710400;  // 2008-02-22T22:00:00+0200
    const std::vector<Mail> dated{{"Subject: a\r\nDate: Fri, 22 Feb 2008 22:00:10 +0200\r\n", t + 3601},
                                  {"Date: Fri, 22 Feb 2008 22:00:09 +0200\r\nSubject: b\r\n", t + 3602},
                                  {"Date: Fri, 22 Feb 2008 22:00:08 +0200\r\nSubject: a\r\n", t + 3603},
                                  {"Date: Fri, 22 Feb 2008 22:00:07 +0200\r\nSubject: b\r\n", t + 3604},
                                  {"Subject: a\r\n", t + 30},
                                  {"Subject: b\r\n", t + 29},
                                  {"Subject: a\r\n", t + 28},
                                  {"Subject: b\r\n", t + 27}};
    CHECK(threads(dated, ThreadAlgorithm::ordered_subject) == "(4 (2)(8)(6))(3 (1)(7)(5))");
    CHECK(threads({}, ThreadAlgorithm::ordered_subject).empty());
}

TEST_CASE("THREAD=REFERENCES: links, loops, truncated References, missing parents") {
    // thread.mbox: 1.B breaks <c>'s link under <a> and then refuses <b> (a loop)
    const std::vector<Mail> loop{{"Message-ID: <a@b>\r\n", 17 * 3600},
                                 {"Message-Id: <b@b>\r\nReferences: <a@b> <c@b>\r\n", 15 * 3600},
                                 {"Message-Id: <c@b>\r\nReferences: <b@b>\r\n", 16 * 3600}};
    CHECK(threads(loop) == "(3 2)(1)");
    CHECK(threads({loop[1], loop[2]}) == "(2 1)");
    // a chain, and siblings in sent-date order
    CHECK(threads({{"Message-ID: <1@x>\r\n", 1},
                   {"Message-ID: <2@x>\r\nIn-Reply-To: <1@x>\r\n", 2},
                   {"Message-ID: <3@x>\r\nIn-Reply-To: <1@x>\r\n", 1},
                   {"Message-ID: <4@x>\r\nIn-Reply-To: <2@x>\r\n", 1}}) == "(1 (3)(2 4))");
    // a References list links its ids in order, without overriding an existing parent
    CHECK(threads({{"Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n"},
                   {"Message-ID: <d@x>\r\nReferences: <z@x> <b@x>\r\n"},
                   {"Message-ID: <a@x>\r\n"}}) == "(3 (1)(2))");
    // a message referring to itself; two referring to each other (the second link would loop)
    CHECK(threads({{"Message-ID: <s@x>\r\nReferences: <s@x>\r\n"}}) == "(1)");
    CHECK(threads({{"Message-ID: <p@x>\r\nReferences: <q@x>\r\n", 1},
                   {"Message-ID: <q@x>\r\nReferences: <p@x>\r\n", 2}}) == "(2 1)");
    // References wins over In-Reply-To; In-Reply-To is used when References has no valid id
    CHECK(threads({{"Message-ID: <a@x>\r\n"},
                   {"Message-ID: <b@x>\r\n"},
                   {"Message-ID: <c@x>\r\nReferences: <b@x>\r\nIn-Reply-To: <a@x>\r\n"},
                   {"Message-ID: <d@x>\r\nReferences: junk\r\nIn-Reply-To: <a@x> <b@x>\r\n"}}) == "(1 4)(2 3)");
}

TEST_CASE("THREAD=REFERENCES: duplicate and missing Message-IDs, dummies") {
    CHECK(threads({{"Message-Id: <a@b>\r\n"}, {"Message-Id: <a@b>\r\n"}}) == "(1)(2)");  // thread2
    // thread7, and after its message 2 is gone (the duplicate is no longer one)
    const std::vector<Mail> dup{{"Message-Id: <a@b>\r\n"},
                                {"Message-Id: <b@b>\r\nReferences: <a@b>\r\n"},
                                {"Message-Id: <c@b>\r\nReferences: <b@b>\r\n"},
                                {"Message-Id: <b@b>\r\nReferences: <a@b>\r\n"}};
    CHECK(threads(dup) == "(1 (2 3)(4))");
    CHECK(threads({dup[0], dup[2], dup[3]}) == "(1 3 2)");
    // thread6: no Message-ID, one missing parent: a dummy with two children stays at the root
    CHECK(threads({{"References: <a@b>\r\n", 1}, {"References: <a@b>\r\n", 2}}) == "((1)(2))");
    // thread5 after two messages were expunged, and after one more arrived
    CHECK(threads({{"Message-Id: <3@b>\r\nIn-Reply-To: <1@b>\r\n"}, {"Message-Id: <4@b>\r\nIn-Reply-To: <2@b>\r\n"}}) ==
          "(1)(2)");
    CHECK(threads({{"Message-Id: <3@b>\r\nIn-Reply-To: <1@b>\r\n"},
                   {"Message-Id: <4@b>\r\nIn-Reply-To: <2@b>\r\n"},
                   {"Message-Id: <5@b>\r\nIn-Reply-To: <2@b>\r\n"}}) == "(1)((2)(3))");
    // a dummy below a message is replaced by its children
    CHECK(threads({{"Message-ID: <a@x>\r\n"},
                   {"Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n"},
                   {"Message-ID: <d@x>\r\nReferences: <a@x> <b@x>\r\n"}}) == "(1 (2)(3))");
    // a dummy at the root holding one dummy holding two messages
    CHECK(threads({{"References: <a@x> <b@x>\r\n", 1}, {"References: <a@x> <b@x>\r\n", 2}}) == "((1)(2))");
}

TEST_CASE("THREAD=REFERENCES: threads gathered by base subject (step 5)") {
    // thread3 (duplicate id, reply subject) and thread4 (a missing parent promoted, then merged)
    CHECK(threads({{"Message-Id: <a@b>\r\nSubject: foo\r\n", 1}, {"Message-Id: <a@b>\r\nSubject: Re: foo\r\n", 2}}) ==
          "(1 2)");
    CHECK(threads({{"Message-Id: <a@b>\r\nSubject: foo\r\n", 1},
                   {"Message-Id: <b@b>\r\nReferences: <c@b>\r\nSubject: Re: foo\r\n", 2}}) == "(1 2)");
    // the non-reply holds the table even when it comes later
    CHECK(threads({{"Message-Id: <a@b>\r\nSubject: Re: foo\r\n", 1}, {"Message-Id: <b@b>\r\nSubject: FOO\r\n", 2}}) ==
          "(2 1)");
    // two non-replies: a new dummy above both
    CHECK(threads({{"Subject: foo\r\n", 1}, {"Subject: foo\r\n", 2}, {"Subject: re: foo\r\n", 3}}) == "((1)(2)(3))");
    // a dummy thread takes a message of its subject, and two dummies join
    CHECK(threads({{"Subject: x\r\nReferences: <d@x>\r\n", 1},
                   {"Subject: x\r\nReferences: <d@x>\r\n", 2},
                   {"Subject: Re: x\r\n", 3}}) == "((1)(2)(3))");
    CHECK(threads({{"Subject: x\r\nReferences: <d@x>\r\n", 1},
                   {"Subject: x\r\nReferences: <d@x>\r\n", 2},
                   {"Subject: x\r\nReferences: <e@x>\r\n", 3},
                   {"Subject: x\r\nReferences: <e@x>\r\n", 4}}) == "((1)(2)(3)(4))");
    // empty subjects are never gathered
    CHECK(threads({{"Subject: \r\n", 1}, {"Subject: Re:\r\n", 2}}) == "(1)(2)");
}

TEST_CASE("thread-list syntax") {
    const std::vector<ThreadNode> t{
        ThreadNode{1, {ThreadNode{2, {ThreadNode{3, {}}}}}},
        ThreadNode{0, {ThreadNode{4, {}}, ThreadNode{5, {ThreadNode{6, {}}, ThreadNode{7, {}}}}}}};
    CHECK(format_threads(t) == "(1 2 3)((4)(5 (6)(7)))");
    CHECK(format_threads({}).empty());
}

TEST_CASE("limits: messages, references and depth, at and past each bound") {
    SortThreadLimits limits;
    limits.max_messages = 2;
    const std::vector<Mail> two{{"Subject: a\r\n"}, {"Subject: b\r\n"}};
    std::vector<MessageFacts> facts = facts_of(two, limits);
    CHECK(thread_messages(facts, ThreadAlgorithm::references, limits).ok());
    facts.push_back(facts.front());
    auto past = thread_messages(facts, ThreadAlgorithm::references, limits);
    REQUIRE(!past.ok());
    CHECK(past.error().code == Errc::limit_exceeded);

    // References: the first and the last ids are kept
    limits = {};
    limits.max_references = 2;
    const Mail referring{"Message-ID: <m@x>\r\nReferences: <r1@x> <r2@x> <r3@x>\r\n"};
    CHECK(facts_of({referring}, limits).front().references == std::vector<std::string>{"<r1@x>", "<r3@x>"});
    limits.max_references = 3;
    CHECK(facts_of({referring}, limits).front().references.size() == 3);

    // depth: a chain of 6 under max_depth 5 splits; 5 deep stays one thread
    std::vector<Mail> chain{{"Message-ID: <0@x>\r\n", 0}};
    for (int i = 1; i < 6; ++i)
        chain.push_back(
            {"Message-ID: <" + std::to_string(i) + "@x>\r\nIn-Reply-To: <" + std::to_string(i - 1) + "@x>\r\n", i});
    limits = {};
    limits.max_depth = 5;
    CHECK(threads(std::vector<Mail>(chain.begin(), chain.begin() + 5), ThreadAlgorithm::references, limits) ==
          "(1 2 3 4 5)");
    CHECK(threads(chain, ThreadAlgorithm::references, limits) == "(1 2 3 4 5)(6)");
    // the same chain arriving backwards (links made above existing subtrees) is cut as deep
    std::vector<Mail> backwards(chain.rbegin(), chain.rend());
    for (std::size_t i = 0; i < backwards.size(); ++i) backwards[i].internal = static_cast<std::int64_t>(5 - i);
    CHECK(threads(backwards, ThreadAlgorithm::references, limits) == "(6 5 4 3 2)(1)");
    limits.max_depth = 6;
    CHECK(threads(backwards, ThreadAlgorithm::references, limits) == "(6 5 4 3 2 1)");
}
