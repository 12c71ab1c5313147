// pop3_session.h: one POP3 conversation, the server side of RFC 1939 as a state machine
// (AUTHORIZATION, TRANSACTION, UPDATE).
//
// The session reads a command line, parses it (pop3_command.h), checks the dispatch table for
// the states in which the command is allowed, runs the command's handler and writes its typed
// Reply (pop3_reply.h). The loop, STLS, SASL, logins and timeouts are the shared
// protocol-server layer's (common/server/protocol_session.h); the store is reached through
// its asynchronous facade. Who may log in how is decided in pop3_policy.h.
//
// The maildrop is the user's INBOX as it stood at login: numbers, sizes and unique ids stay
// fixed for the session; the maildrop lock (store.lock_maildrop) is held until the session
// ends. Never: deletes anything except in the UPDATE state reached by QUIT (a disconnect,
// timeout, shutdown or kill deletes nothing); executes commands pipelined behind STLS; accepts
// plaintext credentials outside TLS and loopback; holds a whole large message in memory for
// RETR; tells an unknown user from a wrong password.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "common/config.h"
#include "common/net/connection.h"
#include "common/server/protocol_session.h"
#include "pop3d/pop3_policy.h"

namespace hikyaku::pop3 {

struct SessionSettings {
    Role role = Role::pop3;
    // RFC 1939 3: the autologout timer is at least 10 minutes; [pop3d] autologout.
    std::chrono::seconds autologout{600};
    // RFC 2449 4 says 255 octets; we take up to 512 (with CRLF) so that USER with a long
    // address (up to 254 octets) fits, as Dovecot does.
    std::size_t max_line_length = 512;
    std::size_t max_argument_length = 254;     // storage::kMaxAddressLength
    unsigned max_bad_commands = 20;            // then "-ERR" and close (an abuse limit)
    std::size_t retr_chunk_size = 256 * 1024;  // RETR/TOP read the message in pieces this big

    static SessionSettings from(const Config& config, Role role);
};

boost::asio::awaitable<void> run_pop3_session(std::shared_ptr<net::Connection> connection,
                                              const SessionSettings& settings, server::SessionEnvironment environment);

}  // namespace hikyaku::pop3
