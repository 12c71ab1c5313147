// protocol_daemon.h: the main() of every protocol daemon, written once. A daemon names
// itself and lists its listeners (role, addresses, implicit TLS or not, the refusal line
// for a connection over the limits, and the session to run); the rest is the same for all:
// the command line, the configuration, logging, the process's services (store, auth,
// spool: services.h), the server core, privileges, signals and --inetd.
// Must never: start a session before the services exist.
#pragma once

#include <functional>
#include <initializer_list>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net/connection.h"
#include "common/server/protocol_session.h"

namespace hikyaku::server {

using SessionFunction = std::function<asio::awaitable<void>(std::shared_ptr<net::Connection>, SessionEnvironment)>;

struct ProtocolListener {
    std::string role;                      // "smtp", "submission", "pop3s": for logs and --role
    std::vector<ListenAddress> addresses;  // empty: served only with --inetd
    bool implicit_tls = false;
    std::string refusal;  // the protocol's "too many connections" line, CRLF
    SessionFunction session;
};

struct ProtocolDaemon {
    std::string program;  // "smtpd"
    std::string summary;  // one line for --help
    std::function<std::vector<ProtocolListener>(const Config&)> listeners;
};

int run_protocol_daemon(int argc, char** argv, ProtocolDaemon daemon);

// One listener per role, each running `run(connection, settings, environment)` with the
// settings Settings::from(config, role) builds once: what every daemon's listener list is.
// `share`, if given, completes each role's settings with what the roles share (imapd: its
// SELECT view cache).
template <class Settings, class Role, class RunSession>
std::vector<ProtocolListener> role_listeners(
    const Config& config, std::initializer_list<std::tuple<Role, const std::vector<ListenAddress>*, bool>> roles,
    const char* (*name)(Role), const std::string& refusal, RunSession run, std::function<void(Settings&)> share = {}) {
    std::vector<ProtocolListener> out;
    for (const auto& [role, addresses, implicit_tls] : roles) {
        Settings role_settings = Settings::from(config, role);
        if (share) share(role_settings);
        auto settings = std::make_shared<const Settings>(std::move(role_settings));
        out.push_back({name(role), *addresses, implicit_tls, refusal,
                       [settings, run](std::shared_ptr<net::Connection> c, SessionEnvironment environment) {
                           return run(std::move(c), *settings, environment);
                       }});
    }
    return out;
}

}  // namespace hikyaku::server
