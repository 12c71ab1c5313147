// suggest.h: "did you mean ...?" for a mistyped command word.
//
// The nearest candidate by edit distance (optimal string alignment: insertions, deletions,
// substitutions and swaps of neighbours each cost 1), if it is near enough to be a typo.
// Must never: suggest a word farther than kMaxSuggestionDistance, or as far as the word is
// long (every word is that near to a short candidate).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::text {

inline constexpr std::size_t kMaxSuggestionDistance = 2;
inline constexpr std::size_t kMaxSuggestionWordLength = 64;  // longer words get no suggestion

// Edit distance between a and b (case-sensitive), or kMaxSuggestionWordLength + 1 when either
// is longer than kMaxSuggestionWordLength.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` (the first of equally near ones), if within the bounds above.
std::optional<std::string> nearest_word(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace hikyaku::text
