// server.h: listeners, the dispatcher and its workers, limits, signals (the connection core).
//
// The textbook shapes of a server, chosen by [server] model:
//  - concurrent: one dispatcher thread accepts on every listening socket and hands each
//    connection to one of N worker threads (the least loaded), each running its own
//    io_context; a worker serves thousands of sessions as coroutines.
//  - iterative: one thread accepts one connection and serves it to completion before it
//    accepts the next; everyone else waits in the kernel's backlog.
// The listener only accepts and hands off; it never parses (STYLE 8). Over max_connections
// (overall or per client address) the protocol's refusal line is sent and the socket closed.
// SIGTERM/SIGINT: stop accepting, let sessions finish for shutdown_grace, then ask the rest
// to end (their reads return ReadStatus::shutdown so each says its protocol's goodbye).
// SIGHUP: reload the TLS certificate and reopen the log file.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net/blocking_pool.h"
#include "common/net/connection.h"
#include "common/net/tls.h"

namespace hikyaku::net {

using SessionHandler = std::function<asio::awaitable<void>(std::shared_ptr<Connection>)>;

struct ListenerSpec {
    std::string role;  // "smtp", "submission", "pop3s", ... for logs
    std::vector<ListenAddress> addresses;
    bool implicit_tls = false;  // handshake before the session starts
    std::string refusal;        // sent when over a connection limit (with CRLF)
    SessionHandler handler;
};

struct ServerOptions {
    ServerModel model = ServerModel::concurrent;
    unsigned workers = 1;
    unsigned max_connections = 10000;
    unsigned max_connections_per_ip = 100;
    unsigned blocking_threads = 4;
    std::chrono::seconds shutdown_grace{10};
    std::string user;
    static ServerOptions from(const ServerConfig& config);
};

// When root and `user` is not empty: switch to that user for good (a daemon that binds no
// port, deliverd, calls it before it opens the store; Server::drop_privileges after bind()).
Status drop_privileges_to(const std::string& user);

class Server {
public:
    Server(ServerOptions options, std::shared_ptr<TlsContextHolder> tls);
    ~Server();

    void add_listener(ListenerSpec spec);
    // Binds every listener (port 0 picks a free port; see bound_addresses()).
    Status bind();
    // When root and [server] user is set: switch to that user (after bind()).
    Status drop_privileges();
    // Serves until SIGTERM/SIGINT or stop(); returns the process exit code. `started` is logged
    // once the signal handlers are installed (a daemon's "started" line).
    int run(const std::string& started = {});
    // Super-server mode: one session of `spec` on stdin/stdout, then return.
    int run_inetd(const ListenerSpec& spec);
    // Asks run() to stop as a signal would (thread-safe).
    void stop();
    // Extra work on SIGHUP besides the TLS reload and log reopening.
    void on_reload(std::function<void()> hook);

    std::vector<std::pair<std::string, ListenAddress>> bound_addresses() const;  // role, address
    BlockingPool& blocking_pool();
    std::shared_ptr<asio::ssl::context> tls_context() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hikyaku::net
