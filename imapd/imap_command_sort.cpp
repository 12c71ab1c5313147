// imap_command_sort.cpp: the SORT and THREAD grammar (see imap_command.h): return options,
// sort criteria, the threading algorithm, the mandatory charset and the search keys (parsed
// by the SEARCH grammar, with its bounds).
// RFC 5256 5 (sort, sort-criteria, sort-criterion, sort-key, thread, thread-alg,
// search-criteria = charset 1*(SP search-key)); RFC 5267 3 and RFC 4466 2.6 (sort-return-opts:
// RETURN (MIN MAX ALL COUNT), and UPDATE and PARTIAL of CONTEXT=SORT, 4.3-4.4); RFC 5957
// (DISPLAYFROM, DISPLAYTO).
// Must never: accept an empty criteria list, REVERSE without a key, more criteria than
// GrammarLimits::max_sort_criteria, or a missing charset.
#include <array>

#include "imapd/imap_command_parser.h"

namespace hikyaku::imap::detail {
namespace {

struct SortKeyName {
    std::string_view name;
    SortKey key;
};

constexpr std::array<SortKeyName, 9> kSortKeys{{
    {"ARRIVAL", SortKey::arrival},
    {"CC", SortKey::cc},
    {"DATE", SortKey::date},
    {"FROM", SortKey::from},
    {"SIZE", SortKey::size},
    {"SUBJECT", SortKey::subject},
    {"TO", SortKey::to},
    {"DISPLAYFROM", SortKey::display_from},
    {"DISPLAYTO", SortKey::display_to},
}};

}  // namespace

bool Parser::sort(SortArgs& out) {
    if (!sp()) return false;
    // RFC 5267 3, 4.3-4.4: MIN MAX ALL COUNT UPDATE PARTIAL (SAVE belongs to SEARCH, RFC 5182).
    if (!search_return(out.search, "SORT", false)) return false;
    if (!lex.take('(')) return fail("expected \"(\" and sort criteria");
    while (true) {
        if (out.criteria.size() == limits.max_sort_criteria) return fail_limit("too many sort criteria");
        SortCriterion criterion;
        std::string word = ascii_upper(lex.atom());
        if (word == "REVERSE") {
            criterion.reverse = true;
            if (!sp()) return false;
            word = ascii_upper(lex.atom());
        }
        const SortKeyName* found = nullptr;
        for (const SortKeyName& k : kSortKeys)
            if (k.name == word) found = &k;
        if (found == nullptr)
            return fail(word.empty() ? "expected a sort key" : "unknown sort key " + quote_for_error(word));
        criterion.key = found->key;
        out.criteria.push_back(criterion);
        if (lex.take(')')) break;
        if (!sp()) return false;
    }
    return sp() && charset(out.search) && search_keys(out.search);
}

bool Parser::thread(ThreadArgs& out) {
    if (!sp()) return false;
    const std::string algorithm = ascii_upper(lex.atom());
    if (algorithm == "ORDEREDSUBJECT") out.algorithm = ThreadAlgorithm::ordered_subject;
    else if (algorithm == "REFERENCES") out.algorithm = ThreadAlgorithm::references;
    else
        return fail(algorithm.empty() ? "expected a threading algorithm"
                                      : "unknown threading algorithm " + quote_for_error(algorithm));
    // search-criteria = charset 1*(SP search-key) (RFC 5256 5)
    return sp() && charset(out.search) && search_keys(out.search);
}

}  // namespace hikyaku::imap::detail

namespace hikyaku::imap {

const char* sort_key_name(SortKey key) {
    for (const auto& k : detail::kSortKeys)
        if (k.key == key) return k.name.data();
    return "?";
}

}  // namespace hikyaku::imap
