// imap_client.h: the client side of IMAP (RFC 9051, RFC 3501) for mailcli: greeting,
// CAPABILITY, STARTTLS (RFC 9051 6.2.1), LOGIN or AUTHENTICATE PLAIN (RFC 4616, with SASL-IR
// RFC 4959 when announced), ENABLE (RFC 5161) of CONDSTORE/QRESYNC (RFC 7162), and the
// commands mailcli runs: LIST (with RETURN (SPECIAL-USE STATUS), RFC 6154, RFC 5819),
// STATUS, SELECT/EXAMINE (with QRESYNC), UID SEARCH (ESEARCH, RFC 4731), UID FETCH (with
// CHANGEDSINCE), UID STORE, UID COPY, UID MOVE (RFC 6851) or COPY + STORE + UID EXPUNGE
// (UIDPLUS, RFC 4315), CREATE, DELETE, RENAME, APPEND (literals synchronizing or LITERAL+,
// RFC 7888), IDLE (RFC 2177), LOGOUT. Responses are read by common/client/imap_response.h.
//
// One ImapClient is one connection and belongs to one thread; parallel downloads use one
// ImapClient per thread.
// Must never: send a password before TLS when STARTTLS was asked for, put a password in
// the trace, send a literal before the server asked for it (unless LITERAL+), take a
// response past its bounds, or treat a NO or BAD as success.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/client/imap_response.h"
#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

using client::ImapFetch;
using client::ImapResponse;

// mailcli's bounds on a response (common/client/imap_response.h documents them).
inline constexpr client::ImapLimits kImapLimits{};
// UIDs one SEARCH answer may name (an ESEARCH ALL set is expanded up to this).
inline constexpr std::size_t kMaxSearchResults = 10'000'000;

// One IMAP command as parts: text as it is, and strings that become a quoted string or a
// literal. Mailbox names are encoded by the caller (ImapClient::mailbox_arg).
class ImapCommand {
public:
    explicit ImapCommand(std::string_view text = {}) { raw(text); }
    // `text` as it is, no space before it.
    ImapCommand& raw(std::string_view text);
    // A space, then `value` as an atom when it is one, a quoted string when it can be, a
    // literal otherwise (RFC 9051 4.3).
    ImapCommand& astring(std::string_view value);
    // A space, then `value` always as a literal (a message for APPEND).
    ImapCommand& literal(std::string_view value);
    // A space and `text` as it is.
    ImapCommand& word(std::string_view text) {
        raw(" ");
        return raw(text);
    }
    ImapCommand& append(const ImapCommand& other);

    struct Part {
        std::string text;
        bool is_literal = false;
    };
    const std::vector<Part>& parts() const { return parts_; }
    bool has_literal() const;
    bool needs_utf8() const;  // a string with 8-bit octets (SEARCH needs CHARSET UTF-8)
    // The command as a person reads it ({N} for a literal, its text when short and printable).
    std::string shown() const;

private:
    std::vector<Part> parts_;
};

// Whether `text` can be sent as an atom (RFC 9051 9: ATOM-CHARs only, at least one).
bool is_imap_atom(std::string_view text);

// A quoted string "..." with '"' and '\' escaped, or nullopt when `value` holds CR, LF, NUL
// or 8-bit octets (those need a literal).
std::optional<std::string> imap_quoted(std::string_view value);

struct SelectedMailbox {
    std::string name;
    std::uint32_t exists = 0;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 0;
    std::uint64_t highestmodseq = 0;  // 0: the mailbox has no mod-sequences
    bool read_only = false;
    std::string vanished;            // QRESYNC: UIDs expunged since the given mod-sequence
    std::vector<ImapFetch> changed;  // QRESYNC: FETCH responses of changed messages
};

struct MailboxListing {
    std::string name;  // UTF-8
    std::string wire_name;
    std::vector<std::string> attributes;
    std::string delimiter;
    std::optional<client::ImapStatusEntry> status;
    bool selectable() const;
    std::string special_use() const;  // "\Sent", ... or empty
};

class ImapClient {
public:
    // Connects, upgrades with STARTTLS when asked, logs in, enables CONDSTORE/QRESYNC when
    // `enable_qresync` and announced. Throws CliError.
    explicit ImapClient(const ServerSettings& settings, bool enable_qresync = false);
    ~ImapClient();

    const std::vector<std::string>& capabilities() const { return capabilities_; }
    bool has(std::string_view capability) const { return client::has_capability(capabilities_, capability); }
    bool qresync_enabled() const { return qresync_; }
    bool condstore_enabled() const { return condstore_; }

    // Sends `command` with a new tag and reads until its tagged response; each untagged
    // response goes to `on_untagged` first. A NO or BAD throws CliError(protocol) naming
    // the command, unless `accept_no` (then the tagged response is returned).
    using UntaggedHandler = std::function<void(ImapResponse&)>;
    ImapResponse run(const ImapCommand& command, const UntaggedHandler& on_untagged = {}, bool accept_no = false);

    // The wire form of a UTF-8 mailbox name (modified UTF-7) and back; CliError(protocol)
    // for a name from the server that is not valid modified UTF-7.
    std::string mailbox_to_wire(std::string_view name) const;
    std::string mailbox_from_wire(std::string_view wire) const;

    std::vector<MailboxListing> list(bool with_status);
    client::ImapStatusEntry status(std::string_view mailbox);
    // The mailbox with the given special use ("\Sent", "\Trash"), else one named `fallback`
    // (any case), else empty.
    std::string find_special(std::string_view use, std::string_view fallback);

    // SELECT (or EXAMINE when read_only). With QRESYNC enabled and `known_uidvalidity` and
    // `known_modseq` given, the server reports vanished UIDs and changed flags.
    SelectedMailbox select(std::string_view mailbox, bool read_only, std::uint32_t known_uidvalidity = 0,
                           std::uint64_t known_modseq = 0);
    const SelectedMailbox& selected() const { return selected_; }

    // UID SEARCH `keys` (with CHARSET UTF-8 when they need it): the UIDs, ascending.
    std::vector<std::uint32_t> uid_search(const ImapCommand& keys);
    // UID FETCH `set` `items` [(CHANGEDSINCE m)]: each FETCH response with a UID to `on_fetch`.
    void uid_fetch(std::string_view set, std::string_view items, const std::function<void(ImapFetch&)>& on_fetch,
                   std::uint64_t changed_since = 0);
    // UID STORE set +FLAGS.SILENT/-FLAGS.SILENT (flags).
    void uid_store(std::string_view set, bool add, const std::vector<std::string>& flags);
    void uid_copy(std::string_view set, std::string_view mailbox);
    // UID MOVE when announced, else UID COPY, STORE \Deleted and UID EXPUNGE (UIDPLUS) or
    // EXPUNGE.
    void uid_move(std::string_view set, std::string_view mailbox);
    // UID EXPUNGE set (UIDPLUS) or EXPUNGE.
    void uid_expunge(std::string_view set);
    void create(std::string_view mailbox);
    void delete_mailbox(std::string_view mailbox);
    void rename(std::string_view from, std::string_view to);
    // APPEND; returns the new UID when the server says (APPENDUID).
    std::optional<std::uint32_t> append(std::string_view mailbox, const std::vector<std::string>& flags,
                                        std::string_view internal_date, std::string_view message);

    // IDLE: start (waits for the continuation), wait for untagged responses until
    // `deadline` (false on timeout), stop with DONE (reads the tagged OK).
    void idle_start();
    bool idle_wait(net::ClientClock::time_point deadline, const UntaggedHandler& on_untagged);
    void idle_done(const UntaggedHandler& on_untagged);

    void logout();  // LOGOUT; a connection the server then drops is fine
    ServerConnection& connection() { return *connection_; }

private:
    ImapResponse read_response();
    void send(const std::string& tag, const ImapCommand& command, const UntaggedHandler& on_untagged);
    void refresh_capabilities();
    void login();
    void note_untagged(const ImapResponse& response);

    ServerSettings settings_;
    std::unique_ptr<ServerConnection> connection_;
    client::ImapResponseParser parser_{kImapLimits};
    std::vector<std::string> capabilities_;
    SelectedMailbox selected_;
    unsigned next_tag_ = 1;
    bool qresync_ = false, condstore_ = false;
    bool logged_out_ = false;
    std::string idle_tag_;
    std::string bye_;  // the text of an untagged BYE, for the error when the server then closes
};

// Maildir's info flags (DFPRST) from IMAP system flags and back (RFC 9051 2.3.2).
std::string maildir_flags_of(const std::vector<std::string>& imap_flags);
std::vector<std::string> imap_flags_of(std::string_view maildir_flags);

}  // namespace hikyaku::mailcli
