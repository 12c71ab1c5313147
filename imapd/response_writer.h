// response_writer.h: the text of IMAP server responses (STYLE 6): status responses with their
// response codes, continuation requests, and the pieces the session assembles into data
// responses (strings, flag lists, sequence sets, FETCH item names, LIST, STATUS and ESEARCH
// lines).
//
// RFC 9051 4.3 (strings: atom, quoted, literal), 7.1 (status responses and response codes),
// 7.2-7.5 (data and continuation responses), 9 (astring, nstring, flag-list, resp-text,
// resp-text-code, mailbox-list, status-att-list, esearch-response, uid-set, literal8);
// RFC 3516 4.3 (literal8 in BINARY); RFC 4315 3 (APPENDUID, COPYUID, UIDNOTSTICKY);
// RFC 4731 / RFC 9051 7.3.4 (ESEARCH); RFC 5530 (ALREADYEXISTS, NONEXISTENT, CANNOT, LIMIT,
// INUSE, SERVERBUG, UNAVAILABLE, AUTHENTICATIONFAILED, PRIVACYREQUIRED, EXPUNGEISSUED, ...);
// RFC 7162 (HIGHESTMODSEQ, NOMODSEQ, MODIFIED, CLOSED); RFC 7888 / RFC 9051 (TOOBIG);
// RFC 9208 (OVERQUOTA); RFC 5267 4.3-4.4 (ESEARCH ADDTO, REMOVEFROM, PARTIAL; NOUPDATE).
//
// Must never: write a quoted string containing CR, LF, NUL or an 8-bit octet (such strings
// become literals), put CR, LF or NUL into the human-readable text of a response (they are
// replaced by spaces), or write a NUL outside a literal8.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imapd/imap_command.h"
#include "imapd/sequence_set.h"
#include "storage/types.h"

namespace hikyaku::imap {

// ---- strings ------------------------------------------------------------------------------

// atom when every octet is an ASTRING-CHAR (and the text is not "NIL"), else quoted or literal.
void append_astring(std::string& out, std::string_view s);
// quoted when safe (printable ASCII, few escapes), else literal (RFC 9051 4.3).
void append_string(std::string& out, std::string_view s);
void append_nstring(std::string& out, const std::optional<std::string>& s);
// "{N}" CRLF data, or "~{N}" CRLF data when `data` holds a NUL (RFC 3516 4.3).
void append_literal(std::string& out, std::string_view data);
// The literal's header alone, for data the session streams: "{N}\r\n" or "~{N}\r\n".
void append_literal_header(std::string& out, std::uint64_t size, bool binary);
// A mailbox name already in its wire form (mailbox_to_wire): "INBOX" as an atom.
void append_mailbox(std::string& out, std::string_view wire_name);

// ---- flags, sets --------------------------------------------------------------------------

// "(\Seen \Answered $Forwarded)" in the order \Answered \Flagged \Deleted \Seen \Draft
// (Dovecot's), then \Recent when `recent`, then the keywords as given.
std::string format_flag_list(storage::Flags flags, std::span<const std::string> keywords, bool recent = false);
// The same, appended to `out` (FETCH FLAGS of many messages, without a string each).
void append_flag_list(std::string& out, storage::Flags flags, std::span<const std::string> keywords,
                      bool recent = false);
// A number in decimal, appended.
void append_number(std::string& out, std::uint64_t n);
// RFC 4315 uid-set / sequence-set: runs of consecutive increasing numbers as "a:b", the order
// of `numbers` kept (COPYUID pairs source and destination by position). "" for none.
std::string format_number_set(std::span<const std::uint32_t> numbers);
std::string format_intervals(std::span<const Interval> intervals);

// ---- response codes -----------------------------------------------------------------------

enum class ResponseCodeKind : std::uint8_t {
    alert,
    alreadyexists,
    appenduid,
    authenticationfailed,
    authorizationfailed,
    badcharset,
    cannot,
    capability,
    clientbug,
    closed,
    compressionactive,
    contactadmin,
    copyuid,
    corruption,
    expired,
    expungeissued,
    haschildren,
    highestmodseq,
    inuse,
    limit,
    modified,
    nomodseq,
    nonexistent,
    noperm,
    overquota,
    parse,
    permanentflags,
    privacyrequired,
    readonly,
    readwrite,
    serverbug,
    toobig,
    trycreate,
    uidnext,
    uidnotsticky,
    uidvalidity,
    unavailable,
    unknown_cte,
    unseen,
    useattr,               // RFC 6154 3
    mailboxid,             // RFC 8474 4: the objectid in `set`
    badevent,              // RFC 5465 3.1: the supported events in `atoms`
    notificationoverflow,  // RFC 5465 5.8
    badurl,                // RFC 4469 5: the URL (url-resp-text, imap_url.h badurl_text) in `set`
    noupdate,              // RFC 5267 4.3: the search's tag, quoted, in `set`
};

struct ResponseCode {
    ResponseCodeKind kind = ResponseCodeKind::alert;
    std::uint64_t number = 0;        // UIDNEXT, UIDVALIDITY, UNSEEN, HIGHESTMODSEQ; APPENDUID and
                                     // COPYUID: the UIDVALIDITY
    std::string set;                 // APPENDUID: the UID(s); COPYUID: the source set; MODIFIED
    std::string set2;                // COPYUID: the destination set
    std::vector<std::string> atoms;  // CAPABILITY, BADCHARSET, BADEVENT: the names; PERMANENTFLAGS: the flags

    static ResponseCode simple(ResponseCodeKind kind);
    static ResponseCode with_number(ResponseCodeKind kind, std::uint64_t number);
    static ResponseCode appenduid(std::uint32_t uidvalidity, std::span<const std::uint32_t> uids);
    static ResponseCode copyuid(std::uint32_t uidvalidity, std::span<const std::uint32_t> source,
                                std::span<const std::uint32_t> destination);
    static ResponseCode modified(std::span<const std::uint32_t> numbers);
    // PERMANENTFLAGS: the system flags allowed, the keywords, "\*" when keywords may be created.
    static ResponseCode permanentflags(storage::Flags flags, std::span<const std::string> keywords, bool new_keywords);
    static ResponseCode capability(std::vector<std::string> capabilities);
    static ResponseCode badcharset(std::vector<std::string> charsets);
    static ResponseCode mailboxid(std::string object_id);           // [MAILBOXID (id)]
    static ResponseCode badevent(std::vector<std::string> events);  // [BADEVENT (MessageNew ...)]
    static ResponseCode badurl(std::string url_text);               // [BADURL url], already url-resp-text
    static ResponseCode noupdate(std::string_view tag);             // [NOUPDATE "tag"]
};

// "[CODE args]" without surrounding spaces.
std::string format_response_code(const ResponseCode& code);

// ---- status and continuation responses ------------------------------------------------------

enum class ResponseStatus : std::uint8_t { ok, no, bad, preauth, bye };

// "tag OK [code] text\r\n"; an empty tag gives an untagged "* ...". An empty text is
// replaced by a short default (RFC 3501 9: text = 1*TEXT-CHAR).
std::string status_response(std::string_view tag, ResponseStatus status, const std::optional<ResponseCode>& code,
                            std::string_view text);
std::string untagged_status(ResponseStatus status, const std::optional<ResponseCode>& code, std::string_view text);
// "+ text\r\n" (RFC 9051 7.5); the text may be empty (an empty SASL challenge is "+ ").
std::string continuation(std::string_view text);

// ---- data responses -----------------------------------------------------------------------

// The name of a FETCH data item in a response: "BODY[1.HEADER.FIELDS (FROM TO)]<0>",
// "BINARY[2]", "BINARY.SIZE[2]", "RFC822.HEADER" (RFC 9051 7.5.2: the origin octet only, no
// ".PEEK"; header field names upper-cased as Dovecot does).
std::string fetch_item_name(const FetchItem& item);

// "* LIST (\HasNoChildren) "/" INBOX\r\n" (or LSUB); extended data ("CHILDINFO" ...) appended
// raw, for RFC 5258 callers. `wire_name` is already in the client's encoding.
std::string list_response(bool lsub, std::span<const std::string> attributes, char delimiter,
                          std::string_view wire_name, std::string_view extended = {});

// "* STATUS name (MESSAGES 2 UIDNEXT 3)\r\n"; MAILBOXID's number is the UIDVALIDITY, written
// as its objectid ("MAILBOXID (M7)", object_id.h).
std::string status_data_response(std::string_view wire_name,
                                 std::span<const std::pair<StatusItem, std::uint64_t>> items);

// One ADDTO or REMOVEFROM of an ESEARCH update (RFC 5267 4.3): the context position (0 for
// a SEARCH context) and the messages, a sequence set text in the context's order.
struct ContextChange {
    bool add = true;  // ADDTO, else REMOVEFROM
    std::uint32_t position = 0;
    std::string set;
    bool operator==(const ContextChange&) const = default;
};

// ESEARCH result (RFC 9051 7.3.4): which parts are present follows what was asked.
struct EsearchResult {
    std::optional<std::uint32_t> min, max;
    std::optional<std::uint64_t> count;
    std::optional<std::string> all;  // a sequence set text (format_number_set)
    // RFC 5267 4.4 / RFC 9394: "PARTIAL (range set)"; an empty set is written NIL.
    std::optional<std::string> partial_range;
    std::string partial_set;
    std::optional<std::uint64_t> highest_modseq;  // RFC 7162 3.1.5: MODSEQ in the result
    std::vector<ContextChange> changes;           // RFC 5267 4.3: in the order given
};
// "* ESEARCH (TAG "A1") UID MIN 1 MAX 9 COUNT 3 ALL 1,5,9\r\n"; an update is
// "* ESEARCH (TAG "A1") ADDTO (0 3:4) REMOVEFROM (0 1)\r\n".
std::string esearch_response(std::string_view tag, bool uid, const EsearchResult& result);
// "* SEARCH 1 5 9[ (MODSEQ n)]\r\n" (RFC 3501 7.2.5, RFC 7162 3.1.5).
std::string search_response(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> highest_modseq = {});

}  // namespace hikyaku::imap
