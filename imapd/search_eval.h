// search_eval.h: evaluating a parsed SEARCH program (imap_command.h) against one message at a
// time, through a small interface the session implements over its selected mailbox.
//
// RFC 9051 6.4.4 (every key: flags, sizes, sequence and UID sets, dates, header and text
// search; strings match as case-insensitive substrings, "an empty string matches"); RFC 3501
// 6.4.4 (NEW = RECENT UNSEEN, OLD = NOT RECENT, RECENT); RFC 5182 ("$"); RFC 7162 3.1.5
// (MODSEQ); RFC 5032 (OLDER, YOUNGER, relative to the SEARCH's "now"); RFC 8474 6 (EMAILID;
// THREADID matches nothing, no message has one); RFC 8514 4 (SAVEDBEFORE, SAVEDON, SAVEDSINCE
// on the save date's UTC day; SAVEDATESUPPORTED: every mailbox); RFC 2047 (encoded
// words in headers are decoded before matching); RFC 2045 6 and 2046 4.1.2 (body text is
// matched after its transfer encoding and charset are undone).
//
// Semantics chosen where the RFC leaves room (as Dovecot): BEFORE/ON/SINCE compare the
// internal date's calendar day in the zone it carries; SENTBEFORE/SENTON/SENTSINCE the Date
// header's day in its own zone, and a message without a readable Date header matches none of
// them. Case-insensitivity folds ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
// (a subset of i;unicode-casemap, RFC 5051). HEADER/FROM/TO/CC/BCC/SUBJECT with an empty
// string match messages that have the field; BODY and TEXT with an empty string match all.
// BODY searches the text parts (text/*, and the headers and text of attached messages);
// TEXT adds the top-level header.
//
// Must never: read the header or the body unless a key needs them (the interface is asked
// lazily, once per message), do more than EvalLimits::max_work octets of text scanning for one
// message (a linear-time substring search, KMP, so the bound is real), or recurse deeper than
// the grammar allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/header.h"
#include "common/mime/message.h"
#include "common/mime/search_text.h"
#include "common/result.h"
#include "imapd/imap_command.h"
#include "imapd/imap_date.h"

namespace hikyaku::imap {

// Octets of text scanned for one message, all keys together (256 MiB).
inline constexpr std::uint64_t kMaxSearchWork = 256ull << 20;
using mime::kMaxSearchableText;

struct EvalLimits {
    std::uint64_t max_work = kMaxSearchWork;
};

// One message of the selected mailbox, as the session sees it. header_fields() and
// body_text() are called only when a key needs them, at most once per evaluation.
class SearchMessage {
public:
    virtual ~SearchMessage() = default;
    virtual std::uint32_t sequence_number() const = 0;
    virtual std::uint32_t uid() const = 0;
    virtual storage::Flags flags() const = 0;
    virtual bool recent() const = 0;                               // \Recent (IMAP4rev1 sessions)
    virtual bool has_keyword(std::string_view keyword) const = 0;  // case-insensitive
    virtual DateTime internal_date() const = 0;
    virtual std::uint64_t size() const = 0;
    virtual std::uint64_t modseq() const = 0;
    // RFC 8474 EMAILID (imapd/object_id.h); "" when the message has none (EMAILID then
    // matches nothing).
    virtual std::string email_id() const { return {}; }
    // RFC 8514: when the message was saved in this mailbox; the internal date when unknown.
    virtual DateTime save_date() const { return internal_date(); }
    // The top-level header fields (the cached structure's ParsedMessage::headers).
    virtual const std::vector<mime::HeaderField>& header_fields() = 0;
    // The searchable body text: searchable_body_text() of the message, UTF-8.
    virtual const std::string& body_text() = 0;
};

// What the session knows about the mailbox for the whole SEARCH.
struct SearchContext {
    std::uint32_t message_count = 0;  // "*" in sequence sets
    std::uint32_t highest_uid = 0;    // "*" in UID sets
    std::chrono::sys_seconds now{};   // OLDER, YOUNGER
    // "$": the UIDs of the saved result (RFC 5182), sorted; empty when none was saved.
    std::span<const std::uint32_t> saved_uids;
};

enum class SearchOutcome : std::uint8_t { match, no_match, too_costly };

// A program ready to run: its strings converted from the CHARSET to UTF-8 and case-folded.
class SearchProgram {
public:
    // Errc::unsupported for a charset that cannot be converted (the session answers
    // NO [BADCHARSET (UTF-8 US-ASCII)], RFC 9051 6.4.4).
    static Result<SearchProgram> prepare(const SearchArgs& args);

    SearchOutcome evaluate(SearchMessage& message, const SearchContext& context, const EvalLimits& limits = {}) const;

    bool uses_saved_result() const { return uses_saved_; }  // "$" appears
    bool needs_header() const { return needs_header_; }     // header fields are read
    bool needs_body() const { return needs_body_; }         // body text is read

    // A BODY or TEXT key that every matching message satisfies: one the root requires,
    // alone or inside nested ANDs (not under OR or NOT). The session asks the store's
    // full-text index (storage/mailboxes.h) which messages may contain these needles and
    // evaluates only those: the index narrows, evaluate() still decides.
    struct RequiredText {
        std::string needle;        // folded (search_fold)
        bool with_header = false;  // TEXT: the top-level header counts too
    };
    std::vector<RequiredText> required_texts() const;

private:
    struct Node {
        SearchKeyKind kind = SearchKeyKind::all;
        std::string needle;        // folded UTF-8
        std::vector<int> failure;  // KMP failure function of needle
        std::string field;         // HEADER: the field name
        Date date;
        std::uint64_t number = 0;
        SequenceSet set;
        std::vector<Node> children;
    };
    struct Evaluation;
    static bool compile(const SearchKey& key, const std::string& charset, Node& out, SearchProgram& program);
    bool match(const Node& node, Evaluation& eval) const;

    Node root_;
    bool uses_saved_ = false;
    bool needs_header_ = false;
    bool needs_body_ = false;
};

// The text BODY and TEXT search in, and the folding (common/mime/search_text.h, shared with the
// store's full-text index).
using mime::search_fold;
using mime::searchable_body_text;

}  // namespace hikyaku::imap
