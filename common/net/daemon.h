// daemon.h: the main() every daemon shares: command line, config, logging, TLS, listeners.
//
// `smtpd -c CONF` serves the listeners of its section until SIGTERM; `smtpd -c CONF --inetd
// [ROLE]` serves one connection on stdin/stdout (super-server mode) with the listener of
// that role (default: the first). --help and --version as every binary has.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net/server.h"

namespace hikyaku::net {

struct DaemonDescription {
    std::string program;  // "smtpd"
    std::string summary;  // one line for --help
    // Builds the listeners from the config: opens the store, captures what sessions need.
    // Called once, after logging is set up; an error stops the daemon with that message.
    std::function<Result<std::vector<ListenerSpec>>(const Config&, Server&)> make_listeners;
};

int run_daemon(int argc, char** argv, const DaemonDescription& description);

}  // namespace hikyaku::net
