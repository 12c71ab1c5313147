// echo_service.cpp: the echo protocol as a process, for tests of signals, --inetd, models
// and memory per idle connection. Not shipped as a daemon.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "tests/core/echo_session.h"

using namespace hikyaku;

int main(int argc, char** argv) {
    CLI::App app{"echo-service: line echo over the hikyaku connection core (tests only)"};
    std::vector<std::string> listen, listen_tls;
    std::string model = "concurrent", cert, key, level = "info";
    unsigned workers = 2, max_connections = 10000, max_per_ip = 10000, grace = 5;
    unsigned timeout_ms = 30000;
    std::size_t max_line = 1000;
    bool strict = false, inetd = false;
    std::string user;
    app.add_option("--listen", listen);
    app.add_option("--listen-tls", listen_tls);
    app.add_option("--model", model);
    app.add_option("--workers", workers);
    app.add_option("--max-connections", max_connections);
    app.add_option("--max-per-ip", max_per_ip);
    app.add_option("--grace", grace);
    app.add_option("--timeout-ms", timeout_ms);
    app.add_option("--max-line", max_line);
    app.add_option("--cert", cert);
    app.add_option("--key", key);
    app.add_option("--log-level", level);
    app.add_flag("--strict-crlf", strict);
    app.add_flag("--inetd", inetd);
    app.add_option("--user", user, "drop to this user after binding (when root)");
    CLI11_PARSE(app, argc, argv);

    LogConfig log;
    log.level = level;
    (void)setup_logging("echo", log);
    std::signal(SIGPIPE, SIG_IGN);

    std::shared_ptr<net::TlsContextHolder> tls;
    if (!cert.empty()) {
        auto loaded = net::TlsContextHolder::load(cert, key);
        if (!loaded) {
            std::cerr << loaded.error().message << "\n";
            return 1;
        }
        tls = *loaded;
    }
    net::ServerOptions options;
    options.model = model == "iterative" ? ServerModel::iterative : ServerModel::concurrent;
    options.workers = workers;
    options.max_connections = max_connections;
    options.max_connections_per_ip = max_per_ip;
    options.shutdown_grace = std::chrono::seconds(grace);
    options.user = user;
    net::Server server(options, tls);

    test::EchoOptions echo{max_line, strict, std::chrono::milliseconds(timeout_ms)};
    auto* pool = &server.blocking_pool();
    auto handler = [echo, pool](std::shared_ptr<net::Connection> c) { return test::echo_session(c, echo, pool); };
    auto to_addresses = [](const std::vector<std::string>& texts) {
        std::vector<ListenAddress> out;
        for (auto& t : texts) out.push_back(*parse_listen_address(t));
        return out;
    };
    net::ListenerSpec plain{"echo", to_addresses(listen), false, "-ERR too many connections\r\n", handler};
    if (inetd) return server.run_inetd(plain);
    server.add_listener(plain);
    if (!listen_tls.empty())
        server.add_listener({"echo-tls", to_addresses(listen_tls), true, "-ERR too many connections\r\n", handler});
    if (auto status = server.bind(); !status) {
        std::cerr << status.error().message << "\n";
        return 1;
    }
    if (auto status = server.drop_privileges(); !status) {
        std::cerr << status.error().message << "\n";
        return 1;
    }
    // Tests read the bound ports from this line.
    for (auto& [role, address] : server.bound_addresses())
        std::cout << "READY " << role << " " << address.text() << std::endl;
    return server.run();
}
