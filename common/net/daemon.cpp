// daemon.cpp: shared daemon main (see daemon.h).
#include "common/net/daemon.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "hikyaku_version.h"

namespace hikyaku::net {

namespace {

// Every session costs one descriptor (its socket), so the open-files limit bounds the
// sessions a daemon can hold. The soft limit is often 1,024 while the hard limit is far
// higher; like Dovecot and Postfix, raise the soft limit to the hard one at start (any
// process may; raising the hard limit itself is the service manager's job, e.g. systemd
// LimitNOFILE=). Nothing here uses select(), so descriptors above 1,023 are fine.
void raise_open_files_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        spdlog::warn("cannot read the open files limit: {}", std::strerror(errno));
        return;
    }
    if (limit.rlim_cur >= limit.rlim_max) {
        spdlog::debug("open files limit {} (the hard limit)", limit.rlim_cur);
        return;
    }
    rlim_t soft = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        spdlog::warn("cannot raise the open files limit from {} to {}: {}", soft, limit.rlim_max,
                     std::strerror(errno));
        return;
    }
    spdlog::debug("open files limit raised from {} to {} (the hard limit)", soft, limit.rlim_max);
}

}  // namespace

int run_daemon(int argc, char** argv, const DaemonDescription& description) {
    CLI::App app{description.program + ": " + description.summary};
    std::string config_path = "/etc/hikyaku/hikyaku.toml";
    std::string inetd_role;
    bool inetd = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.add_flag("--inetd", inetd, "serve one connection on stdin/stdout, then exit (super-server mode)");
    app.add_option("--role", inetd_role, "with --inetd: which listener's role to serve (default: the first)");
    app.set_version_flag("--version", description.program + " (hikyaku) " HIKYAKU_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    auto config = load_config(config_path);
    if (!config) {
        std::cerr << description.program << ": " << config.error().message << "\n";
        return 2;
    }
    LogConfig log_config = config->log;
    struct stat st {};
    if (inetd && log_config.file.empty() && fstat(2, &st) == 0 && S_ISSOCK(st.st_mode))
        log_config.level = "off";  // stderr is the client's socket (xinetd): never write logs to it
    if (auto status = setup_logging(description.program, log_config); !status) {
        std::cerr << description.program << ": " << status.error().message << "\n";
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    raise_open_files_limit();

    std::shared_ptr<TlsContextHolder> tls;
    if (!config->tls.cert.empty()) {
        auto loaded = TlsContextHolder::load(config->tls.cert, config->tls.key);
        if (!loaded) {
            spdlog::critical("{}", loaded.error().message);
            return 1;
        }
        tls = *loaded;
    }

    Server server(ServerOptions::from(config->server), tls);
    auto listeners = description.make_listeners(*config, server);
    if (!listeners) {
        spdlog::critical("{}", listeners.error().message);
        return 1;
    }
    if (inetd) {
        for (auto& spec : *listeners)
            if (inetd_role.empty() || spec.role == inetd_role) return server.run_inetd(spec);
        spdlog::critical("--inetd: no listener with role '{}'", inetd_role);
        return 2;
    }
    std::size_t count = 0;
    for (auto& spec : *listeners) {
        count += spec.addresses.size();
        server.add_listener(std::move(spec));
    }
    if (count == 0) {
        spdlog::critical("no listen addresses configured in [{}]", description.program);
        return 2;
    }
    if (auto status = server.bind(); !status) {
        spdlog::critical("{}", status.error().message);
        return 1;
    }
    if (auto status = server.drop_privileges(); !status) {
        spdlog::critical("{}", status.error().message);
        return 1;
    }
    spdlog::info("{} (hikyaku) {} started, pid {}", description.program, HIKYAKU_VERSION, getpid());
    return server.run();
}

}  // namespace hikyaku::net
