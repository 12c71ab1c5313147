// smtp_session.h: one SMTP conversation, the server side of RFC 5321 as a state machine.
//
// The session reads a command line, parses it (smtp_command.h), checks the dispatch table
// for the states in which the command is allowed, runs the command's handler and writes its
// typed Reply. The loop, STARTTLS, SASL, logins and timeouts are the shared protocol-server
// layer's (common/server/protocol_session.h); the store is reached through its asynchronous
// facade, and messages arrive into the process's spool (bounded memory). Who may do what
// (relay, AUTH, sender ownership) is decided in smtp_policy.h, not here.
//
// Roles (DESIGN.md): inbound (port 25: local recipients only, no AUTH), submission (587:
// STARTTLS, then AUTH before MAIL), submissions (465: the same over implicit TLS).
// Never: answers 250 to DATA/BDAT before the store's commit is durable; stores anything
// for a message that failed a check; ends DATA anywhere but CRLF.CRLF; executes commands
// pipelined behind STARTTLS; offers or accepts plaintext AUTH outside TLS and loopback.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/net/connection.h"
#include "common/server/protocol_session.h"
#include "smtpd/smtp_policy.h"

namespace hikyaku::smtp {

struct SessionSettings {
    Role role = Role::inbound;
    std::string hostname;
    unsigned max_recipients = 100;
    unsigned max_errors = 10;
    std::size_t max_line_length = 512;  // including CRLF
    BareLinefeedPolicy bare_linefeed = BareLinefeedPolicy::reject;
    std::chrono::seconds command_timeout{300};
    std::chrono::seconds data_timeout{180};
    std::uint64_t max_message_size = 0;

    static SessionSettings from(const Config& config, Role role);
};

boost::asio::awaitable<void> run_smtp_session(std::shared_ptr<net::Connection> connection,
                                              const SessionSettings& settings, server::SessionEnvironment environment);

}  // namespace hikyaku::smtp
