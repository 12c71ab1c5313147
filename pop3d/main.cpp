// pop3d main: serves the two POP3 roles of [pop3d] (DESIGN.md): listen (port 110 role, STLS)
// and listen_tls (port 995 role, implicit TLS). `--inetd [--role R]` serves one connection on
// stdin/stdout. Never creates the store (mailctl init does).
#include "common/server/protocol_daemon.h"
#include "pop3d/pop3_session.h"

using namespace hikyaku;

int main(int argc, char** argv) {
    server::ProtocolDaemon daemon;
    daemon.program = "pop3d";
    daemon.summary = "the hikyaku POP3 server (RFC 1939, STLS, POP3S)";
    daemon.listeners = [](const Config& config) {
        return server::role_listeners<pop3::SessionSettings>(
            config,
            {{pop3::Role::pop3, &config.pop3d.listen, false}, {pop3::Role::pop3s, &config.pop3d.listen_tls, true}},
            pop3::role_name, "-ERR [SYS/TEMP] Too many connections, try again later\r\n", pop3::run_pop3_session);
    };
    return server::run_protocol_daemon(argc, argv, std::move(daemon));
}
