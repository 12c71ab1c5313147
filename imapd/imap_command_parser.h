// imap_command_parser.h: internal to the grammar (imap_command*.cpp): the recursive-descent
// parser state shared by the files of the grammar, one per large command family. Not for the
// session: it calls parse_command() (imap_command.h).
// Must never: recurse deeper than GrammarLimits::max_search_depth (the only recursion).
#pragma once

#include <string>
#include <string_view>

#include "imapd/imap_command.h"

namespace hikyaku::imap::detail {

class Parser {
public:
    Parser(FramedCommand& command, const GrammarLimits& limits) : lex(command), limits(limits) {}

    // Record the first error and return false, so callers write `return fail("...")`.
    bool fail(std::string reason);
    bool fail_limit(std::string reason);
    // The lexer's error if it has one, else `reason`.
    bool fail_lex(std::string reason);

    bool sp();   // exactly one SP
    bool end();  // nothing may follow
    bool astring(std::string& out, std::string_view what);
    bool mailbox(std::string& out);  // mailbox = "INBOX" / astring (raw bytes)
    bool sequence_set(SequenceSet& out, bool allow_star = true);
    bool flag(FlagList& out);                                // one flag into a list
    bool flag_list(FlagList& out);                           // "(" [flag *(SP flag)] ")"
    bool date(Date& out);                                    // date-text / DQUOTE date-text DQUOTE
    bool date_time(DateTime& out);                           // DQUOTE date-time DQUOTE
    bool mod_sequence(std::uint64_t& out, bool allow_zero);  // RFC 7162 mod-sequence-value(zer)
    bool status_items(std::vector<StatusItem>& out);         // "(" status-att *(SP status-att) ")"

    // imap_command_fetch.cpp
    bool fetch(FetchArgs& out, bool uid);
    // imap_command_search.cpp
    bool search(SearchArgs& out);
    // [RETURN (options) SP] into out.return_options (SAVE only where allowed).
    bool search_return(SearchArgs& out, std::string_view command, bool allow_save);
    // PARTIAL's range (RFC 9394 3.1), normalised.
    bool partial_range(PartialRange& out);
    // CANCELUPDATE's 1*(SP quoted), at most GrammarLimits::max_cancelupdate_tags.
    bool cancel_update(CancelUpdateArgs& out);
    // charset SP (atom / quoted) into out.charset.
    bool charset(SearchArgs& out);
    // One or more search keys up to the end, as an and_ list into out.program.
    bool search_keys(SearchArgs& out);
    // section = "[" [section-spec] "]"; section-binary = "[" [section-part] "]"
    bool section(Section& out, bool binary);
    // imap_command_sort.cpp
    bool sort(SortArgs& out);
    bool thread(ThreadArgs& out);
    // imap_command_notify.cpp
    bool notify(NotifyArgs& out);

    Lexer lex;
    const GrammarLimits& limits;
    std::string error;
    bool limit_exceeded = false;

private:
    bool search_key(SearchKey& out, std::size_t depth);
    bool search_string(std::string& out, std::string_view key);
    bool fetch_item(std::vector<FetchItem>& out);
    bool notify_group(NotifyGroup& out, std::size_t& mailboxes);
    std::size_t search_keys_ = 0;
};

// An atom for an error message: printable, at most 40 octets.
std::string quote_for_error(std::string_view token);

}  // namespace hikyaku::imap::detail
