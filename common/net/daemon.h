// daemon.h: the main() every daemon shares: command line, config, logging, TLS, listeners.
//
// `smtpd -c CONF` serves the listeners of its section until SIGTERM; `smtpd -c CONF --inetd
// [--role ROLE]` serves one connection on stdin/stdout (super-server mode) with the listener
// of that role (default: the first; an unknown role is refused with the list of valid ones).
// --help and --version as every binary has.
// Started as root, it drops to [server] user after binding (or before serving, with
// --inetd), then checks that this user can read and write the store, its lock and
// notification folders, and refuses to start with what is missing (storage/store_files.h).
// Files it creates (the log) get umask 027: nothing for others; a log file it creates as root
// goes to that user, so SIGHUP can reopen it after the drop.
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
