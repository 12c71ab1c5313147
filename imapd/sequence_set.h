// sequence_set.h: IMAP sequence sets ("1:3,5,7:*", "$") as the client wrote them, and what
// they name once the session says what "*" stands for.
//
// RFC 9051 9 (sequence-set, seq-range, seq-number: "*" is the largest number in use, a range
// is the same whichever end is written first), RFC 9051 6.4.9 / RFC 3501 6.4.8 (UID sets:
// "n:*" names the last message even when n is above it), RFC 5182 2.1 ("$", the saved search
// result, only on its own).
//
// "*" stays symbolic (kStar) until resolve() is given the largest number in use, so a parsed
// set never depends on the mailbox. Must never: materialise the members of a range (resolving
// "1:4294967295" on an empty mailbox gives no interval and costs one range), accept 0 or a
// number above 4294967295, or hold more than max_ranges ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hikyaku::imap {

// The "*" end of a range (0 is never a valid seq-number or UID: RFC 9051 9 nz-number).
inline constexpr std::uint32_t kStar = 0;
// Ranges one set may hold. A 64 KiB command line holds at most ~32768 ("1,1,...").
inline constexpr std::size_t kMaxSequenceRanges = 16384;

// One range as written: first may be above last, either may be kStar; "5" is {5, 5}.
struct SequenceRange {
    std::uint32_t first = 1;
    std::uint32_t last = 1;
    bool operator==(const SequenceRange&) const = default;
};

// A resolved, inclusive run of numbers, first <= last.
struct Interval {
    std::uint32_t first = 1;
    std::uint32_t last = 1;
    bool operator==(const Interval&) const = default;
};

class SequenceSet {
public:
    SequenceSet() = default;

    // Parses sequence-set / "$". Errc::invalid_argument with a reason for bad syntax (0, a
    // sign, an empty element, a number above 4294967295), Errc::limit_exceeded past max_ranges.
    static Result<SequenceSet> parse(std::string_view text, std::size_t max_ranges = kMaxSequenceRanges);
    // "$": the saved search result (RFC 5182); the session substitutes it.
    static SequenceSet saved_result();
    static SequenceSet from_ranges(std::vector<SequenceRange> ranges);

    bool is_saved_result() const { return saved_; }
    const std::vector<SequenceRange>& ranges() const { return ranges_; }
    bool uses_star() const;
    // The largest number written explicitly (0 if the set is only "*" or "$").
    std::uint32_t highest_explicit() const;

    // The members once "*" stands for `largest` (the message count, or the highest UID; 0 for
    // an empty mailbox): sorted, merged, clipped to 1..largest. Empty for "$" or largest == 0.
    std::vector<Interval> resolve(std::uint32_t largest) const;
    bool contains(std::uint32_t number, std::uint32_t largest) const;
    // True when every number written (and "*") names an existing message, for sets of message
    // sequence numbers (RFC 9051 9 seq-number: a tagged BAD for a number above the message
    // count, "*" in an empty mailbox included; a UID above the highest is no error).
    bool within(std::uint32_t largest) const;

    // The canonical wire form of the set as written ("1:3,5,*", "$").
    std::string to_string() const;

    bool operator==(const SequenceSet&) const = default;

private:
    std::vector<SequenceRange> ranges_;
    bool saved_ = false;
};

// Members of resolved intervals, in order, without materialising them: f(number) returns
// false to stop. Never overflows at 4294967295.
template <class F>
void for_each_member(std::span<const Interval> intervals, F&& f) {
    for (const Interval& iv : intervals)
        for (std::uint64_t n = iv.first; n <= iv.last; ++n)
            if (!f(static_cast<std::uint32_t>(n))) return;
}

// Number of members of resolved intervals.
std::uint64_t member_count(std::span<const Interval> intervals);

// Sorted, merged intervals covering `numbers` (any order, duplicates allowed).
std::vector<Interval> intervals_of(std::span<const std::uint32_t> numbers);

}  // namespace hikyaku::imap
