// imap_session.h: one IMAP conversation, the server side of RFC 9051 (IMAP4rev2) and RFC 3501
// (IMAP4rev1) as a state machine: not authenticated, authenticated, selected, logout (RFC 9051
// 3, the state diagram of 3.5).
//
// The session frames each command with imapd/command_reader (lines and literals; it answers a
// synchronizing literal with "+" only after deciding it may be sent: APPENDLIMIT, quota),
// parses it (imap_command.h), checks the dispatch table for the states the RFC allows it in,
// runs its handler, announces what changed in the selected mailbox (selected_mailbox.h: EXISTS,
// EXPUNGE where RFC 9051 7.5.1 allows it, FETCH FLAGS), and writes the tagged response. The
// loop, STARTTLS, SASL, logins and timeouts are the shared protocol-server layer's
// (common/server/protocol_session.h); the store is reached through its asynchronous facade,
// and the store's change feed wakes the session (IDLE: "* n EXISTS" within milliseconds).
// Must never: send EXPUNGE during FETCH, STORE or SEARCH; renumber messages unannounced;
// run a command pipelined behind STARTTLS; accept LOGIN or AUTHENTICATE in plaintext from a
// non-loopback client; change the store except as a command means; hold a large message whole
// in memory to send it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net/connection.h"
#include "common/server/protocol_session.h"
#include "imapd/result_contexts.h"

namespace hikyaku::imap {

class MailboxViewCache;

enum class Role { imap, imaps };   // port 143 role (STARTTLS), port 993 role (implicit TLS)
const char* role_name(Role role);  // "imap", "imaps"

struct SessionSettings {
    Role role = Role::imap;
    // RFC 9051 5.4: the autologout timer is at least 30 minutes ([imapd] autologout); it also
    // bounds one IDLE (clients re-issue IDLE every 29 minutes).
    std::chrono::seconds autologout{1800};
    unsigned max_errors = 20;        // bad commands, then BYE (an abuse limit)
    std::uint64_t append_limit = 0;  // APPENDLIMIT: the store's client message limit
    // The host names an absolute IMAP URL in CATENATE may give for this server (RFC 5092;
    // imap_catenate.cpp), lower case; "localhost" and the loopback literals are always taken.
    std::vector<std::string> server_names;
    std::size_t fetch_chunk_size = 256 * 1024;  // large bodies are sent in pieces this big
    unsigned max_sessions_per_user = 50;        // logins of one user held at once, this process
    // RFC 5465 5.8: mailboxes with NOTIFY events waiting to be sent; one more and the session
    // sends "* OK [NOTIFICATIONOVERFLOW]" and behaves as after NOTIFY NONE.
    std::size_t notify_max_pending = 1000;
    // RFC 5267 4.3: SEARCH/SORT RETURN (UPDATE) results one session keeps; one more gets
    // [NOUPDATE] ([imapd] max_search_contexts).
    std::size_t max_search_contexts = kMaxUpdateContexts;
    // "Now" for SEARCH OLDER/YOUNGER (RFC 5032) and the dates APPEND, COPY and MOVE record;
    // empty: the system clock. Tests set a fixed one.
    std::function<std::chrono::sys_seconds()> clock;
    // SELECT's starting views, shared by the process's sessions (mailbox_view_cache.h); null:
    // every SELECT reads every entry.
    std::shared_ptr<MailboxViewCache> view_cache;

    static SessionSettings from(const Config& config, Role role);
};

boost::asio::awaitable<void> run_imap_session(std::shared_ptr<net::Connection> connection,
                                              const SessionSettings& settings, server::SessionEnvironment environment);

}  // namespace hikyaku::imap
