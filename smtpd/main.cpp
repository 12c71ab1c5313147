// smtpd main: serves the three SMTP roles of [smtpd] (DESIGN.md): listen (port 25 role),
// submission (587) and submissions (465, implicit TLS). `--inetd [--role R]` serves one
// connection on stdin/stdout. Never creates the store (mailctl init does).
#include "common/server/protocol_daemon.h"
#include "smtpd/smtp_session.h"

using namespace hikyaku;

int main(int argc, char** argv) {
    server::ProtocolDaemon daemon;
    daemon.program = "smtpd";
    daemon.summary = "the hikyaku SMTP server (inbound mail and authenticated submission)";
    daemon.listeners = [](const Config& config) {
        // RFC 5321 3.1: a server that cannot serve says 421 instead of its greeting.
        return server::role_listeners<smtp::SessionSettings>(
            config,
            {{smtp::Role::inbound, &config.smtpd.listen, false},
             {smtp::Role::submission, &config.smtpd.submission, false},
             {smtp::Role::submissions, &config.smtpd.submissions, true}},
            smtp::role_name, "421 4.7.0 " + config.smtpd.hostname + " Error: too many connections\r\n",
            smtp::run_smtp_session);
    };
    return server::run_protocol_daemon(argc, argv, std::move(daemon));
}
