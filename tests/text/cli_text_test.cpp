// cli_text_test.cpp: the text helpers of the command-line tools: JSON string literals
// (RFC 8259 7) and the "did you mean" suggestion for a mistyped command, at and past its bounds.
#include <doctest/doctest.h>

#include <string>

#include "common/text/json.h"
#include "common/text/suggest.h"

using namespace hikyaku::text;

TEST_CASE("json_string escapes quotes, backslashes and controls, and repairs bad UTF-8") {
    CHECK(json_string("") == "\"\"");
    CHECK(json_string("alice@example.org") == "\"alice@example.org\"");
    CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_string("\r\n\t") == "\"\\r\\n\\t\"");
    CHECK(json_string(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
    CHECK(json_string(std::string("nul\0", 4)) == "\"nul\\u0000\"");
    CHECK(json_string("\\Junk") == "\"\\\\Junk\"");
    CHECK(json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");    // UTF-8 as it is
    CHECK(json_string("bad \xff") == "\"bad \xef\xbf\xbd\"");  // U+FFFD
}

TEST_CASE("edit_distance counts insertions, deletions, substitutions and neighbour swaps") {
    CHECK(edit_distance("list", "list") == 0);
    CHECK(edit_distance("lst", "list") == 1);
    CHECK(edit_distance("lisst", "list") == 1);
    CHECK(edit_distance("lost", "list") == 1);
    CHECK(edit_distance("dle", "del") == 1);  // a swap is one edit
    CHECK(edit_distance("", "add") == 3);
    CHECK(edit_distance("remove", "del") == 5);
}

TEST_CASE("nearest_word suggests typos only") {
    const std::vector<std::string> commands{"add", "del", "list"};
    CHECK(nearest_word("lst", commands) == std::optional<std::string>("list"));
    CHECK(nearest_word("dle", commands) == std::optional<std::string>("del"));
    CHECK(nearest_word("ad", commands) == std::optional<std::string>("add"));
    CHECK(nearest_word("remove", commands) == std::nullopt);                         // too far: no guess
    CHECK(nearest_word("x", commands) == std::nullopt);                              // as far as the word is long
    CHECK(nearest_word("de", {"del", "dev"}) == std::optional<std::string>("del"));  // first of equals
    CHECK(nearest_word("list", {}) == std::nullopt);
}

TEST_CASE("suggestion bounds: distance 2 is suggested, 3 is not; 64 bytes compared, 65 not") {
    CHECK(nearest_word("liXY", {"list"}) == std::optional<std::string>("list"));  // at the bound
    CHECK(nearest_word("lXYZ", {"list"}) == std::nullopt);                        // past it
    std::string at_bound(kMaxSuggestionWordLength, 'a');
    std::string past_bound(kMaxSuggestionWordLength + 1, 'a');
    CHECK(edit_distance(at_bound, at_bound) == 0);
    CHECK(edit_distance(past_bound, past_bound) == kMaxSuggestionWordLength + 1);
    CHECK(nearest_word(at_bound + "b", {at_bound}) == std::nullopt);
    CHECK(nearest_word(at_bound.substr(1) + "b", {at_bound}) == std::optional<std::string>(at_bound));
}
