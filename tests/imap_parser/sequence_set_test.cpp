// sequence_set_test.cpp: IMAP sequence sets: parsing (0, signs, empty elements, 32-bit
// bounds, the range-count bound at the limit and one past it), "*" kept symbolic and resolved
// against the largest number in use, "1:4294967295" on an empty mailbox and on a full range
// without materialising members, membership, "$", and the compact forms.
#include <doctest/doctest.h>

#include "imapd/sequence_set.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {
SequenceSet parse(std::string_view s, std::size_t max = kMaxSequenceRanges) {
    auto r = SequenceSet::parse(s, max);
    REQUIRE_MESSAGE(r.ok(), s);
    return *r;
}
Error parse_error(std::string_view s, std::size_t max = kMaxSequenceRanges) {
    auto r = SequenceSet::parse(s, max);
    REQUIRE_MESSAGE(!r.ok(), s);
    return r.error();
}
using Intervals = std::vector<Interval>;
}  // namespace

TEST_CASE("parse: ranges as written, '*' symbolic") {
    auto s = parse("1:3,5,7:*,*:9,*");
    CHECK(s.ranges() == std::vector<SequenceRange>{{1, 3}, {5, 5}, {7, kStar}, {kStar, 9}, {kStar, kStar}});
    CHECK(s.uses_star());
    CHECK(s.highest_explicit() == 9);
    CHECK(s.to_string() == "1:3,5,7:*,*:9,*");
    CHECK(parse("4294967295").ranges().front().first == 4294967295u);
    CHECK(parse("9:1").to_string() == "9:1");
    CHECK_FALSE(parse("1").uses_star());
    auto saved = parse("$");
    CHECK(saved.is_saved_result());
    CHECK(saved.to_string() == "$");
    CHECK(saved.resolve(10).empty());
}

TEST_CASE("parse: refused forms") {
    for (std::string_view bad : {"",
                                 "0",
                                 "0:5",
                                 "5:0",
                                 "01",
                                 "1,",
                                 ",1",
                                 "1,,2",
                                 "1:",
                                 ":1",
                                 "1:2:3",
                                 "-1",
                                 "+1",
                                 "a",
                                 "1 ",
                                 "4294967296",
                                 "99999999999999999999",
                                 "$,1",
                                 "1,$",
                                 "$$",
                                 "**",
                                 "1:**"}) {
        CAPTURE(bad);
        CHECK(parse_error(bad).code == Errc::invalid_argument);
    }
}

TEST_CASE("parse: the range-count bound at the limit and one past it") {
    CHECK(parse("1,2,3", 3).ranges().size() == 3);
    auto e = parse_error("1,2,3,4", 3);
    CHECK(e.code == Errc::limit_exceeded);
    std::string many;
    for (std::size_t i = 0; i < kMaxSequenceRanges; ++i) many += (i ? "," : "") + std::to_string(i + 1);
    CHECK(parse(many).ranges().size() == kMaxSequenceRanges);
    CHECK(parse_error(many + ",1").code == Errc::limit_exceeded);
}

TEST_CASE("resolve: '*' is the largest number, ranges either way round, merged and clipped") {
    CHECK(parse("1:3,5,7:*").resolve(10) == Intervals{{1, 3}, {5, 5}, {7, 10}});
    CHECK(parse("7:*").resolve(5) == Intervals{{5, 5}});  // UID n:* names the last message (RFC 9051 6.4.9)
    CHECK(parse("*:7").resolve(5) == Intervals{{5, 5}});
    CHECK(parse("3:1,2:6,8,7,10:20").resolve(12) == Intervals{{1, 8}, {10, 12}});
    CHECK(parse("20:30").resolve(12).empty());
    CHECK(parse("4294967295,1:4294967295").resolve(4294967295u) == Intervals{{1, 4294967295u}});
}

TEST_CASE("1:4294967295 on an empty mailbox and on a huge one: no members materialised") {
    auto all = parse("1:4294967295");
    CHECK(all.resolve(0).empty());
    CHECK_FALSE(all.within(0));
    CHECK_FALSE(parse("*").within(0));
    CHECK_FALSE(all.contains(1, 0));
    auto huge = all.resolve(4294967295u);
    CHECK(huge == Intervals{{1, 4294967295u}});
    CHECK(member_count(huge) == 4294967295ull);
    // Iteration stops when asked and never wraps at the top.
    std::uint64_t seen = 0;
    for_each_member(huge, [&](std::uint32_t) { return ++seen < 1000; });
    CHECK(seen == 1000);
    std::vector<std::uint32_t> top;
    for_each_member(Intervals{{4294967294u, 4294967295u}}, [&](std::uint32_t n) {
        top.push_back(n);
        return true;
    });
    CHECK(top == std::vector<std::uint32_t>{4294967294u, 4294967295u});
}

TEST_CASE("contains and within") {
    auto s = parse("2:4,*");
    CHECK_FALSE(s.contains(1, 10));
    CHECK(s.contains(3, 10));
    CHECK(s.contains(10, 10));
    CHECK_FALSE(s.contains(9, 10));
    CHECK_FALSE(s.contains(11, 10));
    CHECK_FALSE(s.contains(0, 10));
    CHECK(s.within(4));
    CHECK_FALSE(s.within(3));
    CHECK(parse("$").within(0));
}

TEST_CASE("intervals_of: sorted, merged, duplicates") {
    const std::vector<std::uint32_t> numbers{9, 1, 2, 3, 3, 5, 8, 4294967295u};
    CHECK(intervals_of(numbers) == Intervals{{1, 3}, {5, 5}, {8, 9}, {4294967295u, 4294967295u}});
    CHECK(intervals_of({}).empty());
    auto all = SequenceSet::from_ranges({{1, 2}});
    CHECK(all.to_string() == "1:2");
}
