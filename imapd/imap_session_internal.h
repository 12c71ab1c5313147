// imap_session_internal.h: the IMAP session class, shared by the files that implement its
// commands (imap_session.cpp: the state machine, login, selection, IDLE; imap_mailboxes.cpp:
// LIST, STATUS, CREATE, DELETE, RENAME, SUBSCRIBE, APPEND; imap_messages.cpp: FETCH, STORE,
// SEARCH, COPY, MOVE, EXPUNGE; imap_catenate.cpp: APPEND's CATENATE; imap_sort.cpp: SORT,
// THREAD; imap_condstore.cpp: CONDSTORE and QRESYNC; imap_quota.cpp: GETQUOTA, GETQUOTAROOT,
// SETQUOTA; imap_notify.cpp: NOTIFY; imap_contexts.cpp: the search contexts of RFC 5267,
// CANCELUPDATE). Not for other folders: the
// interface is imap_session.h.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "common/server/protocol_session.h"
#include "imapd/command_reader.h"
#include "imapd/imap_command.h"
#include "imapd/imap_policy.h"
#include "imapd/imap_session.h"
#include "imapd/imap_url.h"
#include "imapd/mailbox_name.h"
#include "imapd/response_writer.h"
#include "imapd/result_contexts.h"
#include "imapd/selected_mailbox.h"
#include "storage/change_feed.h"

namespace hikyaku::imap {

namespace asio = boost::asio;

// RFC 9051 3: the states, as bits for the dispatch table.
enum class State : unsigned { not_authenticated = 1, authenticated = 2, selected = 4 };
constexpr unsigned not_authenticated = unsigned(State::not_authenticated);
constexpr unsigned authenticated = unsigned(State::authenticated);
constexpr unsigned selected = unsigned(State::selected);
constexpr unsigned any_state = not_authenticated | authenticated | selected;
constexpr unsigned logged_in = authenticated | selected;

// What a handler answers: the tagged status response, written by the loop after the updates
// of the selected mailbox (STYLE 6: one place writes it).
struct Tagged {
    ResponseStatus status = ResponseStatus::ok;
    std::optional<ResponseCode> code;
    std::string text;
    bool already_sent = false;  // the handler wrote it (LOGOUT, STARTTLS) or the session ends
    static Tagged sent() { return {ResponseStatus::ok, std::nullopt, {}, true}; }
    static Tagged ok(std::string text, std::optional<ResponseCode> code = std::nullopt) {
        return {ResponseStatus::ok, std::move(code), std::move(text)};
    }
    static Tagged no(std::string text, std::optional<ResponseCode> code = std::nullopt) {
        return {ResponseStatus::no, std::move(code), std::move(text)};
    }
    static Tagged bad(std::string text, std::optional<ResponseCode> code = std::nullopt) {
        return {ResponseStatus::bad, std::move(code), std::move(text)};
    }
};

class Session;
class SearchedMessage;  // searched_message.h

// SORT's facts of one message (its cached structure, else what the entry knows), numbered
// `number` (imap_sort.cpp).
MessageFacts sort_facts_of(SearchedMessage& message, const storage::Entry& entry, std::uint32_t number,
                           const SortThreadLimits& limits);
using Handler = asio::awaitable<Tagged> (Session::*)(const Command&);
struct DispatchEntry {
    Verb verb;
    unsigned states;
    Handler handler;
};

class Session final : public server::ProtocolSession {
public:
    Session(std::shared_ptr<net::Connection> conn, server::SessionEnvironment environment,
            const SessionSettings& settings);
    ~Session() override;

    // ---- any state (RFC 9051 6.1) ----
    asio::awaitable<Tagged> on_capability(const Command& c);
    asio::awaitable<Tagged> on_noop(const Command& c);
    asio::awaitable<Tagged> on_logout(const Command& c);
    asio::awaitable<Tagged> on_id(const Command& c);
    asio::awaitable<Tagged> on_enable(const Command& c);
    // ---- not authenticated (6.2) ----
    asio::awaitable<Tagged> on_starttls(const Command& c);
    asio::awaitable<Tagged> on_compress(const Command& c);
    asio::awaitable<Tagged> on_authenticate(const Command& c);
    asio::awaitable<Tagged> on_login(const Command& c);
    // ---- authenticated (6.3) ----
    asio::awaitable<Tagged> on_select(const Command& c);
    asio::awaitable<Tagged> on_create(const Command& c);
    asio::awaitable<Tagged> on_delete(const Command& c);
    asio::awaitable<Tagged> on_rename(const Command& c);
    asio::awaitable<Tagged> on_subscribe(const Command& c);
    asio::awaitable<Tagged> on_list(const Command& c);
    asio::awaitable<Tagged> on_namespace(const Command& c);
    asio::awaitable<Tagged> on_status(const Command& c);
    asio::awaitable<Tagged> on_append(const Command& c);
    asio::awaitable<Tagged> on_idle(const Command& c);
    // ---- selected (6.4) ----
    asio::awaitable<Tagged> on_close(const Command& c);
    asio::awaitable<Tagged> on_unselect(const Command& c);
    asio::awaitable<Tagged> on_expunge(const Command& c);
    asio::awaitable<Tagged> on_search(const Command& c);
    asio::awaitable<Tagged> on_fetch(const Command& c);
    asio::awaitable<Tagged> on_store(const Command& c);
    asio::awaitable<Tagged> on_copy(const Command& c);
    asio::awaitable<Tagged> on_sort(const Command& c);
    asio::awaitable<Tagged> on_thread(const Command& c);
    // ---- QUOTA (RFC 9208; imap_quota.cpp) ----
    asio::awaitable<Tagged> on_getquotaroot(const Command& c);
    asio::awaitable<Tagged> on_getquota(const Command& c);
    asio::awaitable<Tagged> on_setquota(const Command& c);
    // ---- NOTIFY (RFC 5465; imap_notify.cpp) ----
    asio::awaitable<Tagged> on_notify(const Command& c);

    // ---- CONTEXT=SEARCH, CONTEXT=SORT (RFC 5267; imap_contexts.cpp) ----
    asio::awaitable<Tagged> on_cancelupdate(const Command& c);

private:
    // ---- the protocol-server layer's hooks -------------------------------------------
    void greet() override;
    asio::awaitable<void> serve_command() override;
    void input_ended(net::ReadStatus why) override;
    void too_many_errors() override {
        send(untagged_status(ResponseStatus::bye, std::nullopt, "Too many invalid commands"));
    }
    void tls_started() override {}
    void send_sasl_challenge(std::string_view base64) override { send(continuation(base64)); }
    std::chrono::milliseconds command_timeout() const override { return s_.autologout; }
    unsigned max_errors() const override { return s_.max_errors; }
    asio::awaitable<void> finish() override;

    // ---- framing and dispatch ----------------------------------------------------------
    asio::awaitable<void> on_literal(const LiteralAnnouncement& announcement);
    asio::awaitable<void> dispatch(Command command);
    void reply_tagged(std::string_view tag, const Tagged& t);

    // ---- helpers ---------------------------------------------------------------------------
    ImapClientFacts facts() const;
    std::chrono::sys_seconds now() const;  // SessionSettings::clock, else the system clock
    // RFC 6855 3: UTF-8 names, as in IMAP4rev2, once UTF8=ACCEPT is enabled.
    NameEncoding name_encoding() const {
        return rev2_ || utf8_accept_ ? NameEncoding::utf8 : NameEncoding::modified_utf7;
    }
    // A mailbox name from the client, in the store's form (INBOX normalised); nullopt and
    // `error` set when it cannot be a name.
    std::optional<std::string> mailbox_name(std::string_view wire, Tagged& error) const;
    std::string wire_name(std::string_view name) const { return mailbox_to_wire(name, name_encoding()); }
    // The tagged reply for a store error (one table: STYLE 19).
    Tagged store_failure(const Error& error, std::string_view what) const;
    asio::awaitable<Tagged> complete_login(const storage::User& user, std::string_view mechanism);
    // Announces what changed in the selected mailbox since the last look.
    asio::awaitable<void> announce_updates(bool expunges_allowed, bool with_uid);
    void watch_changes();
    void deselect();
    // FETCH helpers (imap_messages.cpp).
    // FETCH of UID and FLAGS only, answered from the view without reading the store.
    asio::awaitable<Tagged> fetch_from_view(const std::vector<FetchItem>& items,
                                            const std::vector<std::uint32_t>& sequences, bool ghosts, bool uid_command);
    asio::awaitable<bool> send_range(storage::Uid uid, std::uint64_t offset, std::uint64_t length);
    // Appends a body as a literal to `out`, or sends `out`, the literal's header and the body
    // in chunks when it is large (then `out` is left empty). `vanished`: a small body's message
    // was expunged by another session since the entries were read (nothing was sent);
    // `closed`: the connection was ended.
    enum class BodyOutcome { appended, vanished, closed };
    asio::awaitable<BodyOutcome> append_body(std::string& out, storage::Uid uid, std::uint64_t offset,
                                             std::uint64_t size);
    // CATENATE (imap_catenate.cpp, RFC 4469): appends the parts to `message`, which may hold
    // at most `budget` octets; nullopt when whole, else the tagged NO ([BADURL], [TOOBIG]).
    asio::awaitable<std::optional<Tagged>> assemble_catenate(const std::vector<CatenatePart>& parts,
                                                             std::string& message, std::uint64_t budget);
    asio::awaitable<std::optional<Tagged>> append_url_part(const std::string& url, std::string& message,
                                                           std::uint64_t budget);
    // An absolute URL's user, host and port name this user on this server (relative: true).
    bool names_this_server(const ImapUrl& url) const;
    // SORT and THREAD helpers (imap_sort.cpp): the facts of the messages the keys select, in
    // mailbox order, numbered by UID or sequence number; and the reply for its failure.
    asio::awaitable<Result<std::vector<MessageFacts>>> collect_facts(const SearchArgs& search, bool uid);
    Tagged collect_failure(const Error& error, std::string_view what) const;

    // ---- search contexts (imap_contexts.cpp, RFC 5267 4.3) ----------------------------------
    // SEARCH / SORT RETURN (UPDATE): keeps the result (`members` by UID; SORT: in sort order,
    // with `facts` by UID) under the command's tag, or gives [NOUPDATE "tag"] when the session
    // keeps too many or the result is too large.
    std::optional<ResponseCode> keep_context(const Command& c, const SearchArgs& search,
                                             std::vector<SortCriterion> criteria, std::vector<storage::Uid> members,
                                             std::vector<MessageFacts> facts);
    // The REMOVEFROM responses for messages about to be announced as expunged ("" if none).
    std::string context_removals(std::span<const storage::Uid> gone);
    // Looks again at the messages that changed or arrived since the last look and sends the
    // ADDTO and REMOVEFROM of every context they move in or out of.
    asio::awaitable<void> update_contexts();

    // ---- CONDSTORE and QRESYNC (imap_condstore.cpp, RFC 7162) --------------------------------
    // A CONDSTORE-enabling command was seen (3.1): MODSEQ (and UID) in every later untagged
    // FETCH; with a mailbox selected, "* OK [HIGHESTMODSEQ n]" the first time.
    void enable_condstore();
    // SELECT ... (QRESYNC (...)) with the right UIDVALIDITY (3.2.5.1): "* VANISHED (EARLIER)"
    // for the known UIDs expunged since the client's modseq, then a FETCH (UID FLAGS MODSEQ) of
    // each message changed since. `changes` was read with the mailbox's snapshot.
    void send_qresync(const QresyncParams& params, const storage::Changes& changes);
    // UID FETCH ... (CHANGEDSINCE n VANISHED) (3.2.6): "* VANISHED (EARLIER)" for the UIDs of
    // `set` expunged since n. False when the store could not be read.
    asio::awaitable<bool> send_vanished_earlier(const SequenceSet& set, storage::ModSeq since);

    // ---- NOTIFY (imap_notify.cpp, RFC 5465) ------------------------------------------------
    // What NOTIFY SET asked for, with SUBTREE and MAILBOXES names in the store's form.
    struct NotifyState {
        std::vector<NotifyGroup> groups;
        const NotifyGroup* selected_group() const;  // the SELECTED or SELECTED-DELAYED group
    };
    // One mailbox as the last look at the list saw it (for MailboxName and SubscriptionChange).
    struct KnownMailbox {
        std::string name;
        bool has_children = false;
        storage::SpecialUse special_use = storage::SpecialUse::none;
    };
    // Pending message events of a mailbox other than the selected one, as bits.
    enum PendingEvent : unsigned { pending_new = 1, pending_expunge = 2, pending_flags = 4 };
    // The store's change feed callback, on this session's executor: notes what changed and
    // wakes a wakeable read (IDLE, or the wait for the next command while NOTIFY is active).
    void note_change(const storage::MailboxChange& change);
    // Whether `event` in the (non-selected-view) mailbox `name` is to be announced.
    bool notify_wants(std::string_view name, NotifyEvent event) const;
    // Reads the mailbox list and subscriptions into known_mailboxes_ / known_subscriptions_;
    // with `announce`, first sends the LIST responses for what changed since (RFC 5465 5.4, 5.5).
    asio::awaitable<bool> refresh_mailbox_list(bool announce);
    // The STATUS response NOTIFY sends for one mailbox (RFC 5465 5.1-5.3), items per `events`.
    asio::awaitable<void> send_notify_status(storage::MailboxId id, const std::string& name, unsigned events,
                                             bool initial);
    // When NOTIFY's events go out: at the end of a command (the selected mailbox's updates
    // were announced already), between commands, or in IDLE (RFC 5465 3, 4).
    enum class NotifyMoment { command_end, between_commands, idle };
    // Sends what NOTIFY asked for and is pending: overflow, LIST, STATUS, and the selected
    // mailbox's updates when its SELECTED filter asks for them.
    asio::awaitable<void> deliver_notifications(NotifyMoment moment);

    std::optional<NotifyState> notify_;                      // set by NOTIFY SET and NOTIFY NONE
    std::map<storage::MailboxId, unsigned> notify_pending_;  // mailbox -> PendingEvent bits
    bool notify_list_pending_ = false;                       // the mailbox list or subscriptions changed
    bool notify_overflow_ = false;                           // more pending than the session holds
    std::map<storage::MailboxId, KnownMailbox> known_mailboxes_;
    std::set<std::string> known_subscriptions_;

    const SessionSettings& s_;
    State state_ = State::not_authenticated;
    CommandReader reader_;
    GrammarLimits grammar_;
    std::optional<storage::User> user_;
    bool rev2_ = false;         // ENABLE IMAP4rev2 (RFC 9051)
    bool condstore_ = false;    // RFC 7162 3.1: CONDSTORE enabled
    bool qresync_ = false;      // RFC 7162 3.2: ENABLE QRESYNC (implies CONDSTORE)
    bool utf8_accept_ = false;  // ENABLE UTF8=ACCEPT (RFC 6855)
    std::optional<SelectedMailbox> selected_;
    std::vector<storage::Uid> saved_search_;  // "$" (RFC 5182 SEARCHRES)
    ResultContexts contexts_;                 // RFC 5267 4.3: results kept up to date
    bool search_saved_ = false;
    std::unique_ptr<storage::ChangeSubscription> subscription_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for callbacks posted late
    bool changes_pending_ = true;                                 // the store may hold changes not yet looked at
    bool holds_user_slot_ = false;                                // counted in the per-user session limit
};

}  // namespace hikyaku::imap
