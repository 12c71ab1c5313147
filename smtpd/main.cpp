// smtpd main: opens the store and serves the three SMTP roles of [smtpd] (DESIGN.md):
// listen (port 25 role), submission (587) and submissions (465, implicit TLS).
#include <memory>

#include "common/net/daemon.h"
#include "smtpd/smtp_session.h"
#include "storage/store.h"

using namespace hikyaku;

namespace {

// The trace headers smtpd prepends (Return-Path, Received, Date, Message-ID) come on top of
// the client's max_message_size octets; the store must take them.
constexpr std::uint64_t kTraceHeaderAllowance = 16 * 1024;

struct Smtpd {
    std::unique_ptr<storage::Store> store;
    std::vector<std::unique_ptr<smtp::SessionSettings>> settings;
};

}  // namespace

int main(int argc, char** argv) {
    static Smtpd smtpd;  // lives as long as the process: sessions refer to it
    net::DaemonDescription description;
    description.program = "smtpd";
    description.summary = "the hikyaku SMTP server (inbound mail and authenticated submission)";
    description.make_listeners = [](const Config& config,
                                    net::Server& server) -> Result<std::vector<net::ListenerSpec>> {
        storage::StoreOptions options;
        options.path = config.storage.path;
        options.max_message_size = config.storage.max_message_size + kTraceHeaderAllowance;
        options.default_quota = config.storage.default_quota;
        auto store = storage::open_store(options);
        if (!store) return make_error(store.error().code, config.storage.path + ": " + store.error().message);
        smtpd.store = std::move(*store);

        std::vector<net::ListenerSpec> listeners;
        auto add = [&](smtp::Role role, const std::vector<ListenAddress>& addresses, bool implicit_tls) {
            auto settings = std::make_unique<smtp::SessionSettings>(smtp::SessionSettings::from(config, role));
            const smtp::SessionSettings* s = settings.get();
            smtpd.settings.push_back(std::move(settings));
            auto* pool = &server.blocking_pool();
            net::ListenerSpec spec;
            spec.role = smtp::role_name(role);
            spec.addresses = addresses;
            spec.implicit_tls = implicit_tls;
            // RFC 5321 3.1: a server that cannot serve says 421 instead of its greeting.
            spec.refusal = "421 4.7.0 " + config.smtpd.hostname + " Error: too many connections\r\n";
            spec.handler = [s, pool](std::shared_ptr<net::Connection> c) {
                return smtp::run_smtp_session(std::move(c), *s, *smtpd.store, *pool);
            };
            listeners.push_back(std::move(spec));
        };
        add(smtp::Role::inbound, config.smtpd.listen, false);
        add(smtp::Role::submission, config.smtpd.submission, false);
        add(smtp::Role::submissions, config.smtpd.submissions, true);
        // Roles without addresses serve only in --inetd mode; drop them otherwise.
        return listeners;
    };
    return net::run_daemon(argc, argv, description);
}
