// imap_response.h: the client side's reading of IMAP server responses (RFC 9051 2.2.2, 7,
// 9 response, RFC 3501 7): one response (untagged "* ...", tagged "TAG OK ...", or a
// continuation "+ ...") with its literals, the values of its data (atoms, numbers, quoted
// strings, literals, NIL, parenthesized lists), and the pure readings of what the data
// holds: status responses and their response codes (RFC 9051 7.1), CAPABILITY (7.2.2), LIST
// (7.3.1), STATUS (7.3.4, RFC 9051 SIZE), SEARCH (7.3.5) and ESEARCH (RFC 4731), FETCH
// (7.5.2: UID, FLAGS, RFC822.SIZE, INTERNALDATE, MODSEQ (RFC 7162), BODY[...] sections),
// VANISHED (RFC 7162 3.2.10), APPENDUID/COPYUID (RFC 4315), and UID sets. Used by mailcli and
// any later tool of the suite that speaks IMAP.
//
// ImapResponseParser is incremental and holds no partial line: feed() gets everything that
// has arrived and not yet been consumed and takes whole lines, plus as much of a literal's
// octets as have arrived (a literal's length is known, so taking it in pieces changes
// nothing); it says how many octets it took. So the result does not depend on how the bytes
// were split into reads.
// Must never: look past its input, take a line over limits.max_line, accept a literal
// announced over limits.max_literal (refused at its "{N}", before any of it is read), let one
// response grow past limits.max_response octets, more than limits.max_literals literals,
// limits.max_values values or limits.max_depth nested lists, or read past the end of its
// response (what follows belongs to the next one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hikyaku::client {

struct ImapLimits {
    std::size_t max_line = 1024 * 1024;            // octets of one line (or the part between literals)
    std::size_t max_literal = 256 * 1024 * 1024;   // one literal (a message)
    std::size_t max_response = 512 * 1024 * 1024;  // lines and literals of one response together
    std::size_t max_literals = 65536;              // literals in one response
    std::size_t max_values = 1000000;              // atoms, strings and lists in one response
    std::size_t max_depth = 32;                    // nested parenthesized lists
};

enum class ImapParseStatus {
    incomplete,          // feed more
    complete,            // response() holds it
    malformed,           // not IMAP syntax (bad_line() shows the start of the line)
    line_too_long,       // a line over limits.max_line
    literal_too_large,   // a literal announced over limits.max_literal
    response_too_large,  // over limits.max_response octets, max_literals, max_values or max_depth
};
const char* to_string(ImapParseStatus status);

// One value of response data (RFC 9051 9: atom, number, string, nil, parenthesized list).
// FETCH section names such as BODY[HEADER.FIELDS (FROM)]<0> are one atom, brackets and all.
struct ImapValue {
    enum class Kind { atom, string, nil, list };
    Kind kind = Kind::atom;
    std::string text;              // atom or string contents (a literal's octets as they came)
    bool literal = false;          // a string sent as a literal
    std::vector<ImapValue> items;  // a list's members

    bool is_atom() const { return kind == Kind::atom; }
    bool is_string() const { return kind == Kind::string; }
    bool is_list() const { return kind == Kind::list; }
    bool is_nil() const { return kind == Kind::nil; }
    // An atom or string (astring); NIL and lists are not text.
    bool is_text() const { return kind == Kind::atom || kind == Kind::string; }
    // An atom of digits only that fits: number (32 bits) / number64 (63 bits).
    std::optional<std::uint32_t> number() const;
    std::optional<std::uint64_t> number64() const;
    bool operator==(const ImapValue&) const = default;
};

struct ImapResponse {
    enum class Kind { untagged, tagged, continuation };
    Kind kind = Kind::untagged;
    std::string tag;  // tagged only

    // Status responses: tagged, and untagged OK, NO, BAD, PREAUTH, BYE (RFC 9051 7.1).
    std::string status;     // upper case; empty for data
    std::string code;       // the response code's name, upper case ("UIDVALIDITY"); may be empty
    std::string code_args;  // the rest of the bracket, as sent ("3857529045")
    std::string text;       // the human-readable text; a continuation's text

    // Data responses: "* 23 EXISTS" (number and keyword), "* LIST (...) "/" INBOX" (keyword
    // and values).
    std::optional<std::uint32_t> number;
    std::string keyword;  // upper case
    std::vector<ImapValue> values;

    bool is_status() const { return !status.empty(); }
    bool operator==(const ImapResponse&) const = default;
};

class ImapResponseParser {
public:
    explicit ImapResponseParser(ImapLimits limits = {}) : limits_(limits) {}

    // Takes whole lines and literal octets from the front of `input` until the response is
    // complete or wrong; returns the octets taken. Once done(), takes nothing more.
    std::size_t feed(std::string_view input);
    bool done() const { return status_ != ImapParseStatus::incomplete; }
    ImapParseStatus status() const { return status_; }
    const ImapResponse& response() const { return response_; }
    ImapResponse take_response() { return std::move(response_); }
    // Octets of literals taken so far in this response (for progress).
    std::size_t literal_octets() const { return literal_octets_; }
    // The start (at most 512 octets) of the response's first line as sent, for a trace.
    const std::string& first_line() const { return first_line_; }
    // The start (at most 80 octets) of a line that is not IMAP.
    const std::string& bad_line() const { return bad_line_; }
    // One line for the user; empty unless a failure.
    std::string error_message() const;
    // Ready for the next response.
    void reset();

private:
    bool take_line(std::string_view line);  // false once done (or wrong)
    void finish();                          // the whole frame is in: build the response
    void fail(ImapParseStatus status, std::string_view line = {});

    ImapLimits limits_;
    ImapParseStatus status_ = ImapParseStatus::incomplete;
    // The frame: lines[i] is the text before literal i (its "{N}" removed), lines.back() the
    // text after the last literal.
    std::vector<std::string> lines_{std::string()};
    std::vector<std::string> literals_;
    std::size_t literal_left_ = 0;  // octets of the current literal still to come
    bool in_literal_ = false;
    std::size_t octets_ = 0;  // of this response so far
    std::size_t literal_octets_ = 0;
    ImapResponse response_;
    std::string bad_line_;
    std::string first_line_;     // the start of the response's first line, as sent
    std::size_t announced_ = 0;  // the literal size refused, for the message
};

// ---- readings of complete responses ---------------------------------------------------------

// Capability names, upper case, from "* CAPABILITY ..." or a [CAPABILITY ...] code.
std::vector<std::string> parse_capabilities(const ImapResponse& response);
bool has_capability(const std::vector<std::string>& capabilities, std::string_view name);

// The first number of a response code's arguments ("[UIDVALIDITY 3]", "[UIDNEXT 9]",
// "[HIGHESTMODSEQ 715]"); nullopt when absent or not a number.
std::optional<std::uint64_t> code_number(const ImapResponse& response);

struct ImapListEntry {
    std::vector<std::string> attributes;                   // as sent ("\HasNoChildren", "\Sent")
    std::string delimiter;                                 // empty for NIL
    std::string name;                                      // on the wire (modified UTF-7 or UTF-8): decode apart
    bool has_attribute(std::string_view attribute) const;  // any case
};
std::optional<ImapListEntry> parse_list(const ImapResponse& response);

struct ImapStatusEntry {
    std::string name;  // on the wire
    std::optional<std::uint64_t> messages, unseen, uidnext, uidvalidity, size, highestmodseq, recent;
};
std::optional<ImapStatusEntry> parse_status(const ImapResponse& response);

// "* SEARCH 2 84 882" (optionally "(MODSEQ n)" at the end, RFC 7162 3.1.5): the numbers.
std::optional<std::vector<std::uint32_t>> parse_search(const ImapResponse& response);

struct ImapEsearch {
    std::string tag;  // the correlator, when sent
    bool uid = false;
    std::optional<std::uint32_t> min, max;
    std::optional<std::uint64_t> count;
    std::string all;  // a sequence set, "" when absent
};
std::optional<ImapEsearch> parse_esearch(const ImapResponse& response);

// The ranges of a sequence set without "*" ("1:3,7,9:8" is {1,3} {7,7} {8,9}), each range
// ascending; nullopt when malformed or past `max_ranges` ranges. Costs one entry a range.
inline constexpr std::size_t kMaxUidRanges = 65536;
std::optional<std::vector<std::pair<std::uint32_t, std::uint32_t>>> parse_uid_ranges(std::string_view set,
                                                                                     std::size_t max_ranges);
// The members of a sequence set without "*" ("1:3,7,9:8"), in order of appearance and each
// range ascending; nullopt when malformed or when more than `max_members` members.
std::optional<std::vector<std::uint32_t>> expand_uid_set(std::string_view set, std::size_t max_members);

struct ImapFetch {
    std::uint32_t sequence = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::vector<std::string>> flags;
    std::optional<std::uint64_t> size;  // RFC822.SIZE
    std::string internal_date;          // as sent, without quotes; empty when absent
    std::optional<std::uint64_t> modseq;
    // BODY[...] / BINARY[...] sections: the name upper-cased with "BODY.PEEK" read as "BODY"
    // and any "<origin>" kept ("BODY[]", "BODY[HEADER.FIELDS (FROM SUBJECT)]"), and the
    // octets (NIL gives an empty string).
    std::vector<std::pair<std::string, std::string>> sections;
    const std::string* section(std::string_view name) const;
};
// Moves the section octets out of `response`. nullopt when the data is malformed.
std::optional<ImapFetch> parse_fetch(ImapResponse& response);

// "* VANISHED (EARLIER) 1:3,7": the UID set, and whether EARLIER was given.
struct ImapVanished {
    bool earlier = false;
    std::string uids;
};
std::optional<ImapVanished> parse_vanished(const ImapResponse& response);

// [APPENDUID uidvalidity uid] (RFC 4315 3).
struct ImapAppendUid {
    std::uint32_t uidvalidity = 0;
    std::string uids;
};
std::optional<ImapAppendUid> parse_appenduid(const ImapResponse& response);

}  // namespace hikyaku::client
