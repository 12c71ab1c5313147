// sequence_set.cpp: see sequence_set.h. RFC 9051 9 (sequence-set), 6.4.9; RFC 5182 2.1.
#include "imapd/sequence_set.h"

#include <algorithm>

namespace hikyaku::imap {
namespace {

constexpr std::uint64_t kMaxNumber = 0xFFFFFFFFu;

Error invalid(std::string reason) { return make_error(Errc::invalid_argument, std::move(reason)); }

// seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT (no leading zero, RFC 9051 9).
Result<std::uint32_t> parse_seq_number(std::string_view s) {
    if (s == "*") return kStar;
    if (s.empty()) return invalid("empty element in sequence set");
    if (s[0] == '0') return invalid("sequence number must not be 0 or start with 0");
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return invalid("invalid character in sequence set");
        v = v * 10 + static_cast<unsigned>(c - '0');
        if (v > kMaxNumber) return invalid("sequence number above 4294967295");
    }
    return static_cast<std::uint32_t>(v);
}

std::uint32_t resolve_end(std::uint32_t n, std::uint32_t largest) { return n == kStar ? largest : n; }

void append_number(std::string& out, std::uint32_t n) {
    if (n == kStar) out += '*';
    else out += std::to_string(n);
}

}  // namespace

Result<SequenceSet> SequenceSet::parse(std::string_view text, std::size_t max_ranges) {
    if (text == "$") return saved_result();
    if (text.empty()) return invalid("empty sequence set");
    SequenceSet set;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string_view element =
            text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (set.ranges_.size() >= max_ranges)
            return make_error(Errc::limit_exceeded,
                              "sequence set has more than " + std::to_string(max_ranges) + " ranges");
        const std::size_t colon = element.find(':');
        SequenceRange range;
        if (colon == std::string_view::npos) {
            auto n = parse_seq_number(element);
            if (!n) return n.error();
            range = {*n, *n};
        } else {
            auto a = parse_seq_number(element.substr(0, colon));
            if (!a) return a.error();
            auto b = parse_seq_number(element.substr(colon + 1));
            if (!b) return b.error();
            range = {*a, *b};
        }
        set.ranges_.push_back(range);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return set;
}

SequenceSet SequenceSet::saved_result() {
    SequenceSet set;
    set.saved_ = true;
    return set;
}

SequenceSet SequenceSet::from_ranges(std::vector<SequenceRange> ranges) {
    SequenceSet set;
    set.ranges_ = std::move(ranges);
    return set;
}

bool SequenceSet::uses_star() const {
    return std::any_of(ranges_.begin(), ranges_.end(),
                       [](const SequenceRange& r) { return r.first == kStar || r.last == kStar; });
}

std::uint32_t SequenceSet::highest_explicit() const {
    std::uint32_t best = 0;
    for (const SequenceRange& r : ranges_) best = std::max({best, r.first, r.last});
    return best;
}

std::vector<Interval> SequenceSet::resolve(std::uint32_t largest) const {
    std::vector<Interval> out;
    if (saved_ || largest == 0) return out;
    out.reserve(ranges_.size());
    for (const SequenceRange& r : ranges_) {
        std::uint32_t a = resolve_end(r.first, largest), b = resolve_end(r.last, largest);
        if (a > b) std::swap(a, b);
        if (a > largest) continue;  // wholly above the largest number in use
        out.push_back({a, std::min(b, largest)});
    }
    std::sort(out.begin(), out.end(), [](const Interval& x, const Interval& y) { return x.first < y.first; });
    std::vector<Interval> merged;
    for (const Interval& iv : out) {
        if (!merged.empty() && static_cast<std::uint64_t>(merged.back().last) + 1 >= iv.first)
            merged.back().last = std::max(merged.back().last, iv.last);
        else merged.push_back(iv);
    }
    return merged;
}

bool SequenceSet::contains(std::uint32_t number, std::uint32_t largest) const {
    if (saved_ || number == 0 || number > largest) return false;
    for (const SequenceRange& r : ranges_) {
        std::uint32_t a = resolve_end(r.first, largest), b = resolve_end(r.last, largest);
        if (a > b) std::swap(a, b);
        if (number >= a && number <= b) return true;
    }
    return false;
}

bool SequenceSet::within(std::uint32_t largest) const {
    if (saved_) return true;
    if (largest == 0) return false;  // even "*" names nothing in an empty mailbox
    return highest_explicit() <= largest;
}

std::string SequenceSet::to_string() const {
    if (saved_) return "$";
    std::string out;
    for (const SequenceRange& r : ranges_) {
        if (!out.empty()) out += ',';
        append_number(out, r.first);
        if (r.first != r.last) {
            out += ':';
            append_number(out, r.last);
        }
    }
    return out;
}

std::uint64_t member_count(std::span<const Interval> intervals) {
    std::uint64_t n = 0;
    for (const Interval& iv : intervals) n += static_cast<std::uint64_t>(iv.last) - iv.first + 1;
    return n;
}

std::vector<Interval> intervals_of(std::span<const std::uint32_t> numbers) {
    std::vector<std::uint32_t> sorted(numbers.begin(), numbers.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<Interval> out;
    for (std::uint32_t n : sorted) {
        if (!out.empty() && (out.back().last == n || static_cast<std::uint64_t>(out.back().last) + 1 == n))
            out.back().last = n;
        else out.push_back({n, n});
    }
    return out;
}

}  // namespace hikyaku::imap
