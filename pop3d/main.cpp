// pop3d main: opens the store and serves the two POP3 roles of [pop3d] (DESIGN.md): listen
// (port 110 role, STLS) and listen_tls (port 995 role, implicit TLS). `--inetd [--role R]`
// serves one connection on stdin/stdout. Never opens the store for writing schema changes
// (the store must exist: mailctl init creates it).
#include <memory>

#include "common/net/daemon.h"
#include "pop3d/pop3_session.h"
#include "storage/store.h"

using namespace hikyaku;

namespace {

struct Pop3d {
    std::unique_ptr<storage::Store> store;
    std::vector<std::unique_ptr<pop3::SessionSettings>> settings;
    pop3::LoginThrottle throttle;  // one per process, shared by every worker
};

}  // namespace

int main(int argc, char** argv) {
    static Pop3d pop3d;  // lives as long as the process: sessions refer to it
    net::DaemonDescription description;
    description.program = "pop3d";
    description.summary = "the hikyaku POP3 server (RFC 1939, STLS, POP3S)";
    description.make_listeners = [](const Config& config,
                                    net::Server& server) -> Result<std::vector<net::ListenerSpec>> {
        storage::StoreOptions options;
        options.path = config.storage.path;
        options.max_message_size = config.storage.max_message_size;
        options.default_quota = config.storage.default_quota;
        auto store = storage::open_store(options);
        if (!store) return make_error(store.error().code, config.storage.path + ": " + store.error().message);
        pop3d.store = std::move(*store);

        std::vector<net::ListenerSpec> listeners;
        auto add = [&](pop3::Role role, const std::vector<ListenAddress>& addresses, bool implicit_tls) {
            auto settings = std::make_unique<pop3::SessionSettings>(pop3::SessionSettings::from(config, role));
            const pop3::SessionSettings* s = settings.get();
            pop3d.settings.push_back(std::move(settings));
            auto* pool = &server.blocking_pool();
            net::ListenerSpec spec;
            spec.role = pop3::role_name(role);
            spec.addresses = addresses;
            spec.implicit_tls = implicit_tls;
            spec.refusal = "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
            spec.handler = [s, pool](std::shared_ptr<net::Connection> c) {
                return pop3::run_pop3_session(std::move(c), *s, *pop3d.store, *pool, pop3d.throttle);
            };
            listeners.push_back(std::move(spec));
        };
        add(pop3::Role::pop3, config.pop3d.listen, false);
        add(pop3::Role::pop3s, config.pop3d.listen_tls, true);
        return listeners;
    };
    return net::run_daemon(argc, argv, description);
}
