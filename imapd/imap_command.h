// imap_command.h: the IMAP command grammar. One framed command (imapd/command_reader) in, a
// typed Command or a typed CommandError out. Pure: no I/O, no session state; every count
// bounded by GrammarLimits.
//
// RFC 9051 6 and 9 (IMAP4rev2: every command, the formal syntax), RFC 3501 6 and 9
// (IMAP4rev1: LSUB, CHECK, RECENT/NEW/OLD, RFC822*), RFC 4466 (extended APPEND, SELECT,
// FETCH, STORE, SEARCH syntax), RFC 2971 (ID), RFC 3502 (MULTIAPPEND), RFC 3516 (BINARY),
// RFC 4315 (UID EXPUNGE), RFC 4469 (CATENATE), RFC 4959 (SASL-IR), RFC 5032 (OLDER,
// YOUNGER), RFC 5161 (ENABLE), RFC 5182 ($), RFC 5258 (LIST-EXTENDED), RFC 5819
// (LIST-STATUS), RFC 6154 (SPECIAL-USE, CREATE USE), RFC 6851 (MOVE), RFC 7162 (CONDSTORE,
// QRESYNC: MODSEQ, CHANGEDSINCE, VANISHED, UNCHANGEDSINCE, SELECT parameters), RFC 7889
// (APPENDLIMIT status item), RFC 9051 6.4.4.1-2 (ESEARCH RETURN options, SAVE), RFC 9208
// 4.1-4.3 (GETQUOTA, GETQUOTAROOT, SETQUOTA), RFC 5267 4.3-4.4 and RFC 9394 3.1 (SEARCH and
// SORT RETURN (UPDATE PARTIAL), CANCELUPDATE), RFC 8474 (MAILBOXID status item, EMAILID and
// THREADID fetch items and search keys), RFC 8514 (SAVEDATE, SAVEDBEFORE/ON/SINCE,
// SAVEDATESUPPORTED), RFC 8970 (PREVIEW, PREVIEW (LAZY)), RFC 6855 4 (APPEND UTF8), RFC 5465 8 (NOTIFY;
// imap_command_notify.cpp).
//
// Mailbox names, LIST patterns, search strings, header names and keywords come back as the
// raw bytes of their astring (mailbox_name.h decodes names). Verbs, keywords like FLAGS and
// search keys are case-insensitive (RFC 9051 9: ABNF strings). Must never: accept a command
// with trailing garbage, a NUL (already refused by the framer), a literal8 anywhere but as
// APPEND message data, more search keys or deeper nesting than the limits (so evaluation and
// this recursive parser stay bounded), or a system flag other than the five of RFC 9051 2.3.2
// in a flag list (\Recent and unknown "\Foo" are refused, as Dovecot does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "imapd/imap_date.h"
#include "imapd/imap_lexer.h"
#include "imapd/sequence_set.h"
#include "storage/types.h"

namespace hikyaku::imap {

// Search keys in one SEARCH (every key and sub-key counts).
inline constexpr std::size_t kMaxSearchKeys = 1000;
// Nesting of search keys: parentheses, NOT and OR each add a level.
inline constexpr std::size_t kMaxSearchDepth = 64;
// FETCH data items (after ALL/FAST/FULL are expanded).
inline constexpr std::size_t kMaxFetchItems = 128;
// Field names in one HEADER.FIELDS list.
inline constexpr std::size_t kMaxHeaderFieldNames = 256;
// Part numbers in one section ("1.2.3" is 3); the MIME parser's nesting limit.
inline constexpr std::size_t kMaxSectionParts = 100;
// Flags in one flag list (STORE, APPEND).
inline constexpr std::size_t kMaxFlags = 256;
// Patterns in one LIST (RFC 5258 3).
inline constexpr std::size_t kMaxListPatterns = 32;
// Items in a STATUS list, capabilities in an ENABLE.
inline constexpr std::size_t kMaxStatusItems = 32;
inline constexpr std::size_t kMaxEnableCapabilities = 32;
// RFC 2971 3.3: at most 30 pairs, fields of at most 30 octets, values of at most 1024.
inline constexpr std::size_t kMaxIdPairs = 30;
inline constexpr std::size_t kMaxIdFieldLength = 30;
inline constexpr std::size_t kMaxIdValueLength = 1024;
// Messages in one APPEND (RFC 3502 MULTIAPPEND), parts in one CATENATE (RFC 4469), and URL
// parts in one whole APPEND (each costs the session a store read), octets of one URL (RFC
// 5092 sets no limit; imap_url.h parses them).
inline constexpr std::size_t kMaxAppendMessages = 64;
inline constexpr std::size_t kMaxCatenateParts = 64;
inline constexpr std::size_t kMaxCatenateUrls = 64;
inline constexpr std::size_t kMaxCatenateUrlLength = 2048;
// Criteria in one SORT (RFC 5256 3: REVERSE counts with its key).
inline constexpr std::size_t kMaxSortCriteria = 32;
// Tags in one CANCELUPDATE (RFC 5267 4.3); a session keeps fewer contexts than this.
inline constexpr std::size_t kMaxCancelUpdateTags = 32;
// Resources in one SETQUOTA list (RFC 9208 defines 4; room for others to be refused).
inline constexpr std::size_t kMaxQuotaResources = 16;
// NOTIFY SET (RFC 5465 3.1): event groups in one command, mailbox names in all its SUBTREE
// and MAILBOXES filters together, and events in one group (the 8 of RFC 5465 plus room for
// unknown ones, which are answered NO [BADEVENT]).
inline constexpr std::size_t kMaxNotifyGroups = 32;
inline constexpr std::size_t kMaxNotifyMailboxes = 256;
inline constexpr std::size_t kMaxNotifyEvents = 16;
// RFC 8474 4: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
inline constexpr std::size_t kMaxObjectIdLength = 255;

struct GrammarLimits {
    std::size_t max_sequence_ranges = kMaxSequenceRanges;
    std::size_t max_search_keys = kMaxSearchKeys;
    std::size_t max_search_depth = kMaxSearchDepth;
    std::size_t max_fetch_items = kMaxFetchItems;
    std::size_t max_header_field_names = kMaxHeaderFieldNames;
    std::size_t max_section_parts = kMaxSectionParts;
    std::size_t max_flags = kMaxFlags;
    std::size_t max_list_patterns = kMaxListPatterns;
    std::size_t max_status_items = kMaxStatusItems;
    std::size_t max_enable_capabilities = kMaxEnableCapabilities;
    std::size_t max_id_pairs = kMaxIdPairs;
    std::size_t max_id_field_length = kMaxIdFieldLength;
    std::size_t max_id_value_length = kMaxIdValueLength;
    std::size_t max_append_messages = kMaxAppendMessages;
    std::size_t max_catenate_parts = kMaxCatenateParts;
    std::size_t max_catenate_urls = kMaxCatenateUrls;
    std::size_t max_catenate_url_length = kMaxCatenateUrlLength;
    std::size_t max_sort_criteria = kMaxSortCriteria;
    std::size_t max_quota_resources = kMaxQuotaResources;
    std::size_t max_notify_groups = kMaxNotifyGroups;
    std::size_t max_notify_mailboxes = kMaxNotifyMailboxes;
    std::size_t max_notify_events = kMaxNotifyEvents;
    std::size_t max_cancelupdate_tags = kMaxCancelUpdateTags;
};

enum class Verb : std::uint8_t {
    capability,
    noop,
    logout,
    starttls,
    authenticate,
    login,
    enable,
    select,
    examine,
    create,
    delete_mailbox,
    rename,
    subscribe,
    unsubscribe,
    list,
    lsub,
    namespace_,
    status,
    append,
    idle,
    check,
    close,
    unselect,
    expunge,
    search,
    fetch,
    store,
    copy,
    move,
    id,
    sort,
    thread,
    compress,
    getquota,
    getquotaroot,
    setquota,
    notify,
    cancelupdate,
};
const char* verb_name(Verb verb);  // upper case, as on the wire ("DELETE", "NAMESPACE")

// ---- arguments ----------------------------------------------------------------------------

// A flag list: the five system flags as storage::Flag bits, keywords as written.
struct FlagList {
    storage::Flags system = 0;
    std::vector<std::string> keywords;
    bool operator==(const FlagList&) const = default;
};

struct AuthenticateArgs {
    std::string mechanism;                        // upper case ("PLAIN")
    std::optional<std::string> initial_response;  // RFC 4959: base64 as sent; "=" is empty
    bool operator==(const AuthenticateArgs&) const = default;
};

struct LoginArgs {
    std::string user;
    std::string password;
    bool operator==(const LoginArgs&) const = default;
};

struct EnableArgs {
    std::vector<std::string> capabilities;  // upper case
    bool operator==(const EnableArgs&) const = default;
};

// RFC 7162 3.2.5: QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)]).
struct QresyncParams {
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known_uids;
    std::optional<SequenceSet> known_sequence_set;  // seq-match-data, both or neither
    std::optional<SequenceSet> known_uid_set;
    bool operator==(const QresyncParams&) const = default;
};

struct SelectArgs {  // SELECT, EXAMINE
    std::string mailbox;
    bool condstore = false;
    std::optional<QresyncParams> qresync;
    bool operator==(const SelectArgs&) const = default;
};

struct MailboxArgs {  // CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE
    std::string mailbox;
    std::vector<std::string> special_use;  // CREATE ... (USE (\Sent)): attributes as written
    bool operator==(const MailboxArgs&) const = default;
};

struct RenameArgs {
    std::string from;
    std::string to;
    bool operator==(const RenameArgs&) const = default;
};

enum class StatusItem : std::uint8_t {
    messages,
    uidnext,
    uidvalidity,
    unseen,
    deleted,
    size,
    recent,
    highestmodseq,
    appendlimit,
    mailboxid,  // RFC 8474 4.2: the value is the mailbox's UIDVALIDITY, written as its objectid
};
const char* status_item_name(StatusItem item);

struct ListArgs {  // LIST, LSUB
    // RFC 5258: a selection option, a return option or more than one pattern was given.
    bool extended = false;
    bool select_subscribed = false;       // SUBSCRIBED
    bool select_remote = false;           // REMOTE
    bool select_recursive_match = false;  // RECURSIVEMATCH (never alone)
    bool select_special_use = false;      // SPECIAL-USE (RFC 6154)
    std::string reference;
    std::vector<std::string> patterns;  // at least one; LSUB has exactly one
    bool return_subscribed = false;
    bool return_children = false;
    bool return_special_use = false;
    std::optional<std::vector<StatusItem>> return_status;  // RFC 5819
    bool operator==(const ListArgs&) const = default;
};

struct StatusArgs {
    std::string mailbox;
    std::vector<StatusItem> items;  // as asked, duplicates kept
    bool operator==(const StatusArgs&) const = default;
};

struct CatenatePart {     // RFC 4469
    bool url = false;     // URL astring, else TEXT literal
    std::string data;     // the URL or the text
    bool binary = false;  // TEXT sent as literal8 (RFC 4469 5 with RFC 3516 4.2)
    bool operator==(const CatenatePart&) const = default;
};

struct AppendMessage {
    std::optional<FlagList> flags;
    std::optional<DateTime> internal_date;
    std::string data;     // the message (empty with CATENATE)
    bool binary = false;  // sent as literal8 (RFC 3516)
    bool utf8 = false;    // "UTF8 (literal8)" (RFC 6855 4): kept as sent
    std::optional<std::vector<CatenatePart>> catenate;
    bool operator==(const AppendMessage&) const = default;
};

struct AppendArgs {
    std::string mailbox;
    std::vector<AppendMessage> messages;  // more than one: MULTIAPPEND
    bool operator==(const AppendArgs&) const = default;
};

// GETQUOTA root, SETQUOTA root (resource limit ...) (RFC 9208 4.1.1, 4.1.3); GETQUOTAROOT
// takes MailboxArgs.
struct QuotaArgs {
    std::string root;                                           // as written
    std::vector<std::pair<std::string, std::uint64_t>> limits;  // SETQUOTA: upper-case names
    bool operator==(const QuotaArgs&) const = default;
};

struct ExpungeArgs {  // UID EXPUNGE (RFC 4315)
    SequenceSet uids;
    bool operator==(const ExpungeArgs&) const = default;
};

struct CopyArgs {  // COPY, MOVE
    SequenceSet set;
    std::string mailbox;
    bool operator==(const CopyArgs&) const = default;
};

// ---- SEARCH -------------------------------------------------------------------------------

enum class SearchKeyKind : std::uint8_t {
    all,
    answered,
    bcc,
    before,
    body,
    cc,
    deleted,
    draft,
    flagged,
    from,
    header,
    keyword,
    larger,
    new_,
    not_,
    old,
    on,
    or_,
    recent,
    seen,
    sent_before,
    sent_on,
    sent_since,
    since,
    smaller,
    subject,
    text,
    to,
    uid,
    unanswered,
    undeleted,
    undraft,
    unflagged,
    unkeyword,
    unseen,
    sequence_set,
    and_,
    modseq,
    older,
    younger,
    emailid,
    threadid,  // RFC 8474 6: text is the objectid
    saved_before,
    saved_on,
    saved_since,
    savedate_supported,  // RFC 8514 4
};
const char* search_key_name(SearchKeyKind kind);

struct SearchKey {
    SearchKeyKind kind = SearchKeyKind::all;
    std::string text;                 // BCC CC FROM TO SUBJECT BODY TEXT: the string; HEADER: the value;
                                      // KEYWORD/UNKEYWORD: the keyword; EMAILID/THREADID: the objectid
    std::string field;                // HEADER: the field name
    Date date;                        // BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE SAVED*
    std::uint64_t number = 0;         // LARGER SMALLER: octets; OLDER YOUNGER: seconds; MODSEQ
    SequenceSet set;                  // sequence_set, UID
    std::vector<SearchKey> children;  // NOT: 1; OR: 2; and_ (a parenthesized list): 1 or more
    bool operator==(const SearchKey&) const = default;
};

// RFC 9051 6.4.4.1 (RFC 4731, RFC 5182): RETURN (MIN MAX ALL COUNT SAVE); RETURN () is ALL.
// RFC 5267 4.4 / RFC 9394 3.1: PARTIAL first:last, 1-based positions in the result; negative
// ones count from its end (-1 is the last message). Kept normalised, as it is echoed: positive
// with first <= last ("4:2" is 2:4), negative with the smaller distance from the end first
// ("-5:-1" is -1:-5).
struct PartialRange {
    std::int64_t first = 1;
    std::int64_t last = 1;
    bool operator==(const PartialRange&) const = default;
};

struct SearchReturn {
    bool min = false, max = false, all = false, count = false, save = false;
    bool update = false;                  // RFC 5267 4.3: keep the result up to date
    std::optional<PartialRange> partial;  // RFC 5267 4.4
    bool operator==(const SearchReturn&) const = default;
};

struct SearchArgs {
    std::optional<std::string> charset;          // as written
    std::optional<SearchReturn> return_options;  // present: ESEARCH reply
    SearchKey program;                           // kind and_, the keys in order
    bool operator==(const SearchArgs&) const = default;
};

// ---- SORT, THREAD (RFC 5256, RFC 5267, RFC 5957) ------------------------------------------

enum class SortKey : std::uint8_t { arrival, cc, date, from, size, subject, to, display_from, display_to };
const char* sort_key_name(SortKey key);  // upper case, as on the wire ("DISPLAYFROM")

struct SortCriterion {
    SortKey key = SortKey::arrival;
    bool reverse = false;
    bool operator==(const SortCriterion&) const = default;
};

struct SortArgs {
    std::vector<SortCriterion> criteria;  // at least one
    // The charset (mandatory in SORT) and the keys; return_options: ESORT (RFC 5267 3),
    // MIN MAX ALL COUNT, and UPDATE PARTIAL (CONTEXT=SORT, 4.3-4.4); SAVE is refused.
    SearchArgs search;
    bool operator==(const SortArgs&) const = default;
};

enum class ThreadAlgorithm : std::uint8_t { ordered_subject, references };

struct ThreadArgs {
    ThreadAlgorithm algorithm = ThreadAlgorithm::references;
    SearchArgs search;  // the charset (mandatory) and the keys; never return options
    bool operator==(const ThreadArgs&) const = default;
};

// ---- FETCH --------------------------------------------------------------------------------

enum class FetchAttribute : std::uint8_t {
    envelope,
    flags,
    internal_date,
    rfc822_size,
    body_structure,
    body,
    uid,
    modseq,
    body_section,  // BODY[...] / BODY.PEEK[...]
    binary,        // BINARY[...] / BINARY.PEEK[...] (RFC 3516)
    binary_size,   // BINARY.SIZE[...]
    rfc822,
    rfc822_header,
    rfc822_text,
    emailid,
    threadid,  // RFC 8474 5
    savedate,  // RFC 8514 3
    preview,   // RFC 8970 3 (peek is set for PREVIEW (LAZY))
};

enum class SectionText : std::uint8_t { none, header, header_fields, header_fields_not, text, mime };

struct Section {
    std::vector<std::uint32_t> part;  // "1.2" is {1, 2}; empty for the whole message
    SectionText text = SectionText::none;
    std::vector<std::string> fields;  // HEADER.FIELDS (.NOT): names as written
    bool operator==(const Section&) const = default;
};

struct Partial {  // <offset.length>
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // never 0
    bool operator==(const Partial&) const = default;
};

struct FetchItem {
    FetchAttribute attribute = FetchAttribute::flags;
    bool peek = false;               // BODY.PEEK / BINARY.PEEK
    Section section;                 // body_section, binary, binary_size
    std::optional<Partial> partial;  // body_section, binary
    bool operator==(const FetchItem&) const = default;
};

// ---- NOTIFY (RFC 5465) ---------------------------------------------------------------------

// filter-mailboxes (RFC 5465 6).
enum class NotifyFilter : std::uint8_t {
    selected,
    selected_delayed,
    inboxes,
    personal,
    subscribed,
    subtree,
    mailboxes
};
// event (RFC 5465 5): the four message-events, the mailbox-events and the user-event.
enum class NotifyEvent : std::uint8_t {
    message_new,
    message_expunge,
    flag_change,
    annotation_change,
    mailbox_name,
    subscription_change,
    mailbox_metadata_change,
    server_metadata_change,
};
bool is_message_event(NotifyEvent event);
const char* notify_event_name(NotifyEvent event);  // as RFC 5465 spells it ("MessageNew")

// event-group = "(" filter-mailboxes SP events ")"
struct NotifyGroup {
    NotifyFilter filter = NotifyFilter::selected;
    std::vector<std::string> mailboxes;        // SUBTREE, MAILBOXES: raw astring bytes
    std::vector<NotifyEvent> events;           // empty: "NONE"
    std::vector<FetchItem> message_new_items;  // MessageNew (fetch-att ...)
    std::vector<std::string> unknown_events;   // event-ext atoms, as written
    bool has(NotifyEvent event) const;
    bool operator==(const NotifyGroup&) const = default;
};

struct NotifyArgs {
    bool none = false;    // NOTIFY NONE
    bool status = false;  // NOTIFY SET STATUS
    std::vector<NotifyGroup> groups;
    bool operator==(const NotifyArgs&) const = default;
};

// True for the items after which the session sets \Seen (RFC 9051 6.4.5: BODY[...],
// BINARY[...], RFC822, RFC822.TEXT; never the .PEEK forms or RFC822.HEADER).
bool sets_seen(const FetchItem& item);

struct FetchArgs {
    SequenceSet set;
    std::vector<FetchItem> items;                // ALL, FAST and FULL expanded (RFC 9051 6.4.5); MODSEQ
                                                 // added when CHANGEDSINCE is given (RFC 7162 3.1.4.1)
    std::optional<std::uint64_t> changed_since;  // RFC 7162 3.1.4
    bool vanished = false;                       // RFC 7162 3.2.6: UID FETCH only, with CHANGEDSINCE
    bool operator==(const FetchArgs&) const = default;
};

// ---- STORE, ID ----------------------------------------------------------------------------

enum class StoreOperation : std::uint8_t { replace, add, remove };  // FLAGS, +FLAGS, -FLAGS

struct StoreArgs {
    SequenceSet set;
    std::optional<std::uint64_t> unchanged_since;  // RFC 7162 3.1.3
    StoreOperation operation = StoreOperation::replace;
    bool silent = false;
    FlagList flags;
    bool operator==(const StoreArgs&) const = default;
};

struct IdArgs {
    // nullopt for "ID NIL"; values nullopt for NIL.
    std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> parameters;
    bool operator==(const IdArgs&) const = default;
};

struct CancelUpdateArgs {  // RFC 5267 4.3: CANCELUPDATE 1*(SP quoted)
    std::vector<std::string> tags;
    bool operator==(const CancelUpdateArgs&) const = default;
};

struct CompressArgs {       // RFC 4978 3: COMPRESS SP algorithm
    std::string algorithm;  // upper case ("DEFLATE")
    bool operator==(const CompressArgs&) const = default;
};

// ---- the command --------------------------------------------------------------------------

using CommandArgs =
    std::variant<std::monostate, AuthenticateArgs, LoginArgs, EnableArgs, SelectArgs, MailboxArgs, RenameArgs, ListArgs,
                 StatusArgs, AppendArgs, ExpungeArgs, CopyArgs, SearchArgs, FetchArgs, StoreArgs, IdArgs, SortArgs,
                 ThreadArgs, CompressArgs, QuotaArgs, NotifyArgs, CancelUpdateArgs>;

struct Command {
    std::string tag;
    Verb verb = Verb::noop;
    bool uid = false;  // "UID COPY/MOVE/FETCH/SEARCH/STORE/EXPUNGE/SORT/THREAD"
    CommandArgs args;

    template <class T>
    const T* get() const {
        return std::get_if<T>(&args);
    }
    template <class T>
    T* get() {
        return std::get_if<T>(&args);
    }
    bool operator==(const Command&) const = default;
};

enum class CommandErrorKind : std::uint8_t {
    tag_missing,      // no valid tag: answer "* BAD"
    unknown_command,  // "tag BAD", unknown verb (or UID with a verb it does not take)
    syntax,           // "tag BAD" with the reason in text
    limit_exceeded,   // "tag BAD": a GrammarLimits bound (search keys, nesting, ranges, ...)
};
const char* to_string(CommandErrorKind kind);

struct CommandError {
    std::optional<std::string> tag;  // nullopt: the reply is untagged
    CommandErrorKind kind = CommandErrorKind::syntax;
    std::optional<Verb> verb;  // when the verb was recognised
    std::string text;          // one line for the reply and the log
    bool operator==(const CommandError&) const = default;
};

using ParseResult = std::variant<Command, CommandError>;

// A section-spec (RFC 9051 6.4.5: "1.2", "HEADER", "1.MIME", "HEADER.FIELDS (A B)", "" for
// the whole message) as it stands between FETCH's brackets; nullopt and `error` set when it is
// not one. For IMAP URLs' ;SECTION= (imap_url.h).
std::optional<Section> parse_section_spec(std::string_view spec, const GrammarLimits& limits = {},
                                          std::string* error = nullptr);

// Parses one framed command. Literal data is moved out of `command` (APPEND messages are not
// copied).
ParseResult parse_command(FramedCommand command, const GrammarLimits& limits = {});

// IDLE's end (RFC 9051 6.3.13): the line "DONE", any case.
bool is_idle_done(std::string_view line);

// A client line during AUTHENTICATE (RFC 9051 6.2.2): "*" cancels; else base64 as sent.
struct AuthenticateResponse {
    bool cancelled = false;
    std::string data;
};
AuthenticateResponse parse_authenticate_response(std::string_view line);

}  // namespace hikyaku::imap
