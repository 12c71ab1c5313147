// imapd main: serves the two IMAP roles of [imapd] (DESIGN.md): listen (port 143 role,
// STARTTLS) and listen_tls (port 993 role, implicit TLS). `--inetd [--role R]` serves one
// connection on stdin/stdout. Never creates the store (mailctl init does).
#include "common/server/protocol_daemon.h"
#include "imapd/imap_session.h"
#include "imapd/mailbox_view_cache.h"

using namespace hikyaku;

int main(int argc, char** argv) {
    server::ProtocolDaemon daemon;
    daemon.program = "imapd";
    daemon.summary = "the hikyaku IMAP server (IMAP4rev2 and IMAP4rev1, STARTTLS, IMAPS)";
    daemon.listeners = [](const Config& config) {
        // One cache of SELECT's starting views for both roles' sessions.
        std::shared_ptr<imap::MailboxViewCache> views = imap::make_view_cache(config.imapd.view_cache_messages);
        // RFC 9051 7.1.5: a server that will not serve answers BYE instead of a greeting.
        return server::role_listeners<imap::SessionSettings>(
            config,
            {{imap::Role::imap, &config.imapd.listen, false}, {imap::Role::imaps, &config.imapd.listen_tls, true}},
            imap::role_name, "* BYE [UNAVAILABLE] Too many connections, try again later\r\n", imap::run_imap_session,
            [views](imap::SessionSettings& settings) { settings.view_cache = views; });
    };
    return server::run_protocol_daemon(argc, argv, std::move(daemon));
}
