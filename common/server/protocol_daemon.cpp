// protocol_daemon.cpp: the shared main() of the protocol daemons (protocol_daemon.h).
#include "common/server/protocol_daemon.h"

#include "common/net/daemon.h"
#include "common/server/services.h"

namespace hikyaku::server {

int run_protocol_daemon(int argc, char** argv, ProtocolDaemon daemon) {
    // Lives as long as the process: every session refers to it.
    static std::unique_ptr<ProcessServices> services;
    net::DaemonDescription description;
    description.program = daemon.program;
    description.summary = daemon.summary;
    description.make_listeners = [&daemon](const Config& config,
                                           net::Server& server) -> Result<std::vector<net::ListenerSpec>> {
        auto opened = ProcessServices::open(config, server.blocking_pool());
        if (!opened) return opened.error();
        services = std::move(*opened);
        std::vector<net::ListenerSpec> specs;
        for (auto& listener : daemon.listeners(config)) {
            net::ListenerSpec spec;
            spec.role = std::move(listener.role);
            spec.addresses = std::move(listener.addresses);
            spec.implicit_tls = listener.implicit_tls;
            spec.refusal = std::move(listener.refusal);
            spec.handler = [session = std::move(listener.session)](std::shared_ptr<net::Connection> c) {
                return session(std::move(c), services->environment());
            };
            specs.push_back(std::move(spec));
        }
        return specs;
    };
    const int status = net::run_daemon(argc, argv, description);
    // Every session has ended: release the services now, not among the static destructors.
    // The auth pool's threads touched OpenSSL (the auth cache's HMAC); joined after OpenSSL's
    // own exit handler has run, their per-thread OpenSSL state would never be freed.
    services.reset();
    return status;
}

}  // namespace hikyaku::server
