// grind.h: feeds a vector of server bytes to one of common/client's incremental parsers the
// way a connection does (the unconsumed rest is kept and fed again with what arrives next):
// whole, split at every byte offset, and in fixed chunk sizes, so a test can require the
// same outcome every way (STYLE 14).
// Must never: feed a parser bytes it already consumed, or stop before the parser is done
// or the input is used up.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::test {

// Feeds `input` in the pieces that end at `cuts` (offsets, ascending) and then the rest.
// Returns the octets the parser took in all.
template <class Parser>
std::size_t feed_in_pieces(Parser& parser, std::string_view input, const std::vector<std::size_t>& cuts) {
    std::string buffer;  // arrived and not yet consumed
    std::size_t arrived = 0, taken = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(input.size());
    for (std::size_t end : ends) {
        if (parser.done()) break;
        end = std::min(end, input.size());
        if (end < arrived) continue;
        buffer.append(input.substr(arrived, end - arrived));
        arrived = end;
        const std::size_t n = parser.feed(buffer);
        buffer.erase(0, n);
        taken += n;
    }
    return taken;
}

inline std::vector<std::size_t> cut_at(std::size_t offset) { return {offset}; }

inline std::vector<std::size_t> cut_every(std::size_t chunk, std::size_t size) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = chunk; at < size; at += chunk) cuts.push_back(at);
    return cuts;
}

// Every way of cutting `size` octets that the tests try: none, at each offset (for a long
// input, the first and last 512 and every 97th between), and chunks of 1, 2, 3, 7, 64 and
// 4096 octets.
inline std::vector<std::vector<std::size_t>> all_cuts(std::size_t size) {
    std::vector<std::vector<std::size_t>> ways{{}};
    for (std::size_t at = 0; at <= size; ++at) {
        if (size <= 4096 || at < 512 || at + 512 > size || at % 97 == 0) ways.push_back(cut_at(at));
    }
    for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) ways.push_back(cut_every(chunk, size));
    return ways;
}

// Parses `size` octets every way of all_cuts (`parse(cuts)` returns an outcome with ==) and
// checks that each outcome equals the uncut one; returns that.
template <class Parse>
auto same_every_way(std::size_t size, Parse parse) {
    const auto whole = parse(std::vector<std::size_t>{});
    for (const auto& cuts : all_cuts(size)) {
        INFO("cut at ", cuts.empty() ? 0 : cuts.front(), " (", cuts.size(), " cuts)");
        CHECK(parse(cuts) == whole);
    }
    return whole;
}

}  // namespace hikyaku::test
