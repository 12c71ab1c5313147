// imap_command_search.cpp: the SEARCH grammar (see imap_command.h): return options, CHARSET
// and the search keys, recursively, bounded in count and depth.
// RFC 9051 6.4.4, 9 (search, search-program, search-key, search-return-opts); RFC 3501 6.4.4
// (NEW, OLD, RECENT); RFC 4731 / RFC 9051 6.4.4.1 (MIN MAX ALL COUNT); RFC 5182 (SAVE, "$");
// RFC 7162 3.1.5 (MODSEQ [entry-name entry-type-req] mod-sequence-valzer); RFC 5032 (OLDER,
// YOUNGER); RFC 8474 6 (EMAILID, THREADID); RFC 8514 4 (SAVEDBEFORE, SAVEDON, SAVEDSINCE,
// SAVEDATESUPPORTED); RFC 5267 4.3-4.4 and RFC 9394 3.1 (RETURN (UPDATE), RETURN (PARTIAL
// range) with negative ranges; CANCELUPDATE 1*(SP quoted)).
#include <algorithm>
#include <array>

#include "imapd/imap_command_parser.h"

namespace hikyaku::imap::detail {
namespace {

bool is_word_char(char c) { return is_atom_char(c); }
bool is_sequence_start(int c) { return (c >= '0' && c <= '9') || c == '*' || c == '$'; }
bool is_objectid_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

enum class KeyArgs : std::uint8_t {
    none,
    string,
    date,
    keyword,
    header,
    number,
    not_,
    or_,
    uid,
    modseq,
    interval,
    objectid
};

struct KeyName {
    std::string_view name;
    SearchKeyKind kind;
    KeyArgs args;
};

constexpr std::array<KeyName, 45> kKeys{{
    {"ALL", SearchKeyKind::all, KeyArgs::none},
    {"ANSWERED", SearchKeyKind::answered, KeyArgs::none},
    {"BCC", SearchKeyKind::bcc, KeyArgs::string},
    {"BEFORE", SearchKeyKind::before, KeyArgs::date},
    {"BODY", SearchKeyKind::body, KeyArgs::string},
    {"CC", SearchKeyKind::cc, KeyArgs::string},
    {"DELETED", SearchKeyKind::deleted, KeyArgs::none},
    {"DRAFT", SearchKeyKind::draft, KeyArgs::none},
    {"FLAGGED", SearchKeyKind::flagged, KeyArgs::none},
    {"FROM", SearchKeyKind::from, KeyArgs::string},
    {"HEADER", SearchKeyKind::header, KeyArgs::header},
    {"KEYWORD", SearchKeyKind::keyword, KeyArgs::keyword},
    {"LARGER", SearchKeyKind::larger, KeyArgs::number},
    {"NEW", SearchKeyKind::new_, KeyArgs::none},
    {"NOT", SearchKeyKind::not_, KeyArgs::not_},
    {"OLD", SearchKeyKind::old, KeyArgs::none},
    {"ON", SearchKeyKind::on, KeyArgs::date},
    {"OR", SearchKeyKind::or_, KeyArgs::or_},
    {"RECENT", SearchKeyKind::recent, KeyArgs::none},
    {"SEEN", SearchKeyKind::seen, KeyArgs::none},
    {"SENTBEFORE", SearchKeyKind::sent_before, KeyArgs::date},
    {"SENTON", SearchKeyKind::sent_on, KeyArgs::date},
    {"SENTSINCE", SearchKeyKind::sent_since, KeyArgs::date},
    {"SINCE", SearchKeyKind::since, KeyArgs::date},
    {"SMALLER", SearchKeyKind::smaller, KeyArgs::number},
    {"SUBJECT", SearchKeyKind::subject, KeyArgs::string},
    {"TEXT", SearchKeyKind::text, KeyArgs::string},
    {"TO", SearchKeyKind::to, KeyArgs::string},
    {"UID", SearchKeyKind::uid, KeyArgs::uid},
    {"UNANSWERED", SearchKeyKind::unanswered, KeyArgs::none},
    {"UNDELETED", SearchKeyKind::undeleted, KeyArgs::none},
    {"UNDRAFT", SearchKeyKind::undraft, KeyArgs::none},
    {"UNFLAGGED", SearchKeyKind::unflagged, KeyArgs::none},
    {"UNKEYWORD", SearchKeyKind::unkeyword, KeyArgs::keyword},
    {"UNSEEN", SearchKeyKind::unseen, KeyArgs::none},
    {"MODSEQ", SearchKeyKind::modseq, KeyArgs::modseq},
    {"OLDER", SearchKeyKind::older, KeyArgs::interval},
    {"YOUNGER", SearchKeyKind::younger, KeyArgs::interval},
    {"EMAILID", SearchKeyKind::emailid, KeyArgs::objectid},
    {"THREADID", SearchKeyKind::threadid, KeyArgs::objectid},
    {"SAVEDBEFORE", SearchKeyKind::saved_before, KeyArgs::date},
    {"SAVEDON", SearchKeyKind::saved_on, KeyArgs::date},
    {"SAVEDSINCE", SearchKeyKind::saved_since, KeyArgs::date},
    {"SAVEDATESUPPORTED", SearchKeyKind::savedate_supported, KeyArgs::none},
    {"", SearchKeyKind::sequence_set, KeyArgs::none},  // not a word: a sequence set
}};

}  // namespace

bool Parser::search_string(std::string& out, std::string_view key) {
    return sp() && astring(out, "a string after " + std::string(key));
}

bool Parser::search_key(SearchKey& out, std::size_t depth) {
    if (++search_keys_ > limits.max_search_keys) return fail_limit("too many search keys");
    if (depth > limits.max_search_depth) return fail_limit("search keys nested too deeply");
    if (lex.take('(')) {
        out.kind = SearchKeyKind::and_;
        while (true) {
            SearchKey child;
            if (!search_key(child, depth + 1)) return false;
            out.children.push_back(std::move(child));
            if (lex.take(')')) return true;
            if (!sp()) return false;
        }
    }
    if (is_sequence_start(lex.peek())) {
        out.kind = SearchKeyKind::sequence_set;
        return sequence_set(out.set);
    }
    const std::string_view word = lex.atom();
    const KeyName* key = nullptr;
    for (const KeyName& k : kKeys)
        if (!k.name.empty() && iequals(k.name, word)) key = &k;
    if (key == nullptr) {
        if (word.empty() && lex.at_end()) return fail("missing search key");
        return fail("unknown search key " + quote_for_error(word));
    }
    out.kind = key->kind;
    switch (key->args) {
        case KeyArgs::none: return true;
        case KeyArgs::string: return search_string(out.text, key->name);
        case KeyArgs::date: return sp() && date(out.date);
        case KeyArgs::keyword: {
            if (!sp()) return false;
            const std::string_view keyword = lex.atom();
            if (keyword.empty()) return fail("expected a keyword");
            out.text = std::string(keyword);
            return true;
        }
        case KeyArgs::header:
            return sp() && astring(out.field, "a header field name") && search_string(out.text, key->name);
        case KeyArgs::number: {
            if (!sp()) return false;
            auto n = lex.number64();
            if (!n) return fail_lex("expected a size");
            out.number = *n;
            return true;
        }
        case KeyArgs::interval: {
            if (!sp()) return false;
            auto n = lex.nz_number();
            if (!n) return fail_lex("expected an interval in seconds");
            out.number = *n;
            return true;
        }
        case KeyArgs::objectid: {
            if (!sp()) return false;
            const std::string_view id = lex.take_while(is_objectid_char);
            if (id.empty()) return fail("expected an object id");
            if (id.size() > kMaxObjectIdLength) return fail_limit("object id too long");
            out.text = std::string(id);
            return true;
        }
        case KeyArgs::not_: {
            SearchKey child;
            if (!sp() || !search_key(child, depth + 1)) return false;
            out.children.push_back(std::move(child));
            return true;
        }
        case KeyArgs::or_: {
            SearchKey a, b;
            if (!sp() || !search_key(a, depth + 1) || !sp() || !search_key(b, depth + 1)) return false;
            out.children.push_back(std::move(a));
            out.children.push_back(std::move(b));
            return true;
        }
        case KeyArgs::uid: return sp() && sequence_set(out.set);
        case KeyArgs::modseq: {
            if (!sp()) return false;
            // [entry-name SP entry-type-req SP]: the flag's own modseq is not kept apart, so the
            // entry is checked and then ignored (RFC 7162 3.1.5 allows the mailbox-wide value).
            if (lex.peek() == '"') {
                auto entry = lex.quoted();
                if (!entry) return fail_lex("invalid MODSEQ entry name");
                if (entry->rfind("/flags/", 0) != 0) return fail("MODSEQ entry name must start with /flags/");
                if (!sp()) return false;
                const std::string type = ascii_upper(lex.atom());
                if (type != "PRIV" && type != "SHARED" && type != "ALL")
                    return fail("MODSEQ entry type must be priv, shared or all");
                if (!sp()) return false;
            }
            return mod_sequence(out.number, true);
        }
    }
    return fail("unknown search key");
}

bool Parser::search_return(SearchArgs& out, std::string_view command, bool allow_save) {
    if (!lex.take_word("RETURN", is_word_char)) return true;
    SearchReturn options;
    if (!sp() || !lex.take('(')) return fail("expected \"(\" after RETURN");
    bool any = false;
    while (!lex.take(')')) {
        if (any && !sp()) return false;
        any = true;
        const std::string word = ascii_upper(lex.atom());
        if (word == "MIN") options.min = true;
        else if (word == "MAX") options.max = true;
        else if (word == "ALL") options.all = true;
        else if (word == "COUNT") options.count = true;
        else if (word == "SAVE" && allow_save) options.save = true;
        else if (word == "UPDATE") options.update = true;
        else if (word == "PARTIAL") {
            if (options.partial) return fail("PARTIAL given twice");
            if (!sp() || !partial_range(options.partial.emplace())) return false;
        } else return fail("unknown " + std::string(command) + " return option " + quote_for_error(word));
    }
    if (!any) options.all = true;  // RFC 4731 3.1: RETURN () means RETURN (ALL)
    out.return_options = options;
    return sp();
}

bool Parser::partial_range(PartialRange& out) {
    // partial-range-first = nz-number ":" nz-number; partial-range-last = "-" nz-number ":"
    // "-" nz-number (RFC 9394 3.1): both ends of one sign, no "*".
    const bool negative = lex.take('-');
    auto a = lex.nz_number();
    if (!a) return fail_lex("expected a PARTIAL range");
    if (!lex.take(':')) return fail("expected \":\" in the PARTIAL range");
    if (lex.take('-') != negative) return fail("PARTIAL range mixes positive and negative positions");
    auto b = lex.nz_number();
    if (!b) return fail_lex("expected a PARTIAL range");
    const std::int64_t low = std::min(*a, *b), high = std::max(*a, *b);
    out = negative ? PartialRange{-low, -high} : PartialRange{low, high};
    return true;
}

bool Parser::cancel_update(CancelUpdateArgs& out) {
    do {
        if (out.tags.size() == limits.max_cancelupdate_tags) return fail_limit("too many CANCELUPDATE tags");
        if (!sp()) return false;
        auto tag = lex.quoted();
        if (!tag) return fail_lex("expected a quoted tag");
        out.tags.push_back(std::move(*tag));
    } while (!lex.at_end());
    return true;
}

bool Parser::charset(SearchArgs& out) {
    std::string name;
    if (lex.peek() == '"') {
        auto q = lex.quoted();
        if (!q) return fail_lex("invalid charset");
        name = std::move(*q);
    } else {
        name = std::string(lex.atom());
    }
    if (name.empty()) return fail("expected a charset name");
    out.charset = std::move(name);
    return sp();
}

bool Parser::search(SearchArgs& out) {
    if (!sp() || !search_return(out, "SEARCH", true)) return false;
    if (lex.take_word("CHARSET", is_word_char) && (!sp() || !charset(out))) return false;
    return search_keys(out);
}

bool Parser::search_keys(SearchArgs& out) {
    out.program.kind = SearchKeyKind::and_;
    while (true) {
        SearchKey key;
        if (!search_key(key, 1)) return false;
        out.program.children.push_back(std::move(key));
        if (lex.at_end()) return true;
        if (!sp()) return false;
    }
}

}  // namespace hikyaku::imap::detail

namespace hikyaku::imap {

const char* search_key_name(SearchKeyKind kind) {
    if (kind == SearchKeyKind::sequence_set) return "sequence-set";
    if (kind == SearchKeyKind::and_) return "(...)";
    for (const auto& k : detail::kKeys)
        if (k.kind == kind) return k.name.data();
    return "?";
}

}  // namespace hikyaku::imap
