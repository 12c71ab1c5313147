// daemon.cpp: shared daemon main (see daemon.h).
#include "common/net/daemon.h"

#include <pwd.h>
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
#include "storage/store_files.h"
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
        spdlog::warn("cannot raise the open files limit from {} to {}: {}", soft, limit.rlim_max, std::strerror(errno));
        return;
    }
    spdlog::debug("open files limit raised from {} to {} (the hard limit)", soft, limit.rlim_max);
}

// A log file root creates at start would stay root's: after the privilege drop, SIGHUP could
// not reopen it, nor could a connection of a socket unit, which runs as the service user, open
// it at all. Like the folders beside the store, it goes to the user the daemon will run as
// (the group stays, e.g. adm). Files owned by anyone but root are left alone.
void hand_log_to_service_user(const std::string& file, const std::string& user) {
    struct stat st {};
    if (file.empty() || user.empty() || ::geteuid() != 0 || ::stat(file.c_str(), &st) != 0 || st.st_uid != 0) return;
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw || pw->pw_uid == 0) return;  // an unknown user stops the daemon at the drop, with that message
    if (::chown(file.c_str(), pw->pw_uid, static_cast<gid_t>(-1)) != 0)
        spdlog::error("cannot give the log file {} to user {}: {}; SIGHUP will not reopen it", file, user,
                      std::strerror(errno));
}

// Switches to [server] user when root, then makes sure that user can use the store, which was
// opened before the drop, as root: a refusal now, naming what is missing, rather than a failure
// at the first POP3 login or delivery. Not started as root, the check ran before the opening.
Status drop_privileges_and_check_store(Server& server, const std::string& store, bool started_as_root) {
    if (auto status = server.drop_privileges(); !status) return status;
    if (!started_as_root) return {};
    return storage::check_store_access(store);
}

}  // namespace

int run_daemon(int argc, char** argv, const DaemonDescription& description) {
    CLI::App app{description.program + ": " + description.summary};
    std::string config_path = "/etc/hikyaku/hikyaku.toml";
    std::string inetd_role;
    bool inetd = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)")->capture_default_str();
    auto* inetd_flag =
        app.add_flag("--inetd", inetd, "serve one connection on stdin/stdout, then exit (super-server mode)");
    app.add_option("--role", inetd_role, "with --inetd: which listener's role to serve (default: the first)")
        ->needs(inetd_flag);
    app.set_version_flag("--version", description.program + " (hikyaku) " HIKYAKU_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << description.program << ": " << e.what() << " (see " << description.program << " --help)\n";
        return 2;
    }

    // Files a daemon creates (the log, notification sockets) are never for others; the store's
    // own modes are explicit (storage/store_files.h).
    ::umask(027);

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
    hand_log_to_service_user(log_config.file, config->server.user);
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

    // Not root: this is the user it serves as, so check before SQLite opens the store and says
    // less (root checks after dropping privileges: drop_privileges_and_check_store).
    const bool started_as_root = ::geteuid() == 0;
    if (!started_as_root) {
        if (auto status = storage::check_store_access(config->storage.path); !status) {
            spdlog::critical("{}", status.error().message);
            return 1;
        }
    }
    Server server(ServerOptions::from(config->server), tls);
    auto listeners = description.make_listeners(*config, server);
    if (!listeners) {
        spdlog::critical("{}", listeners.error().message);
        return 1;
    }
    if (inetd) {
        const ListenerSpec* chosen = nullptr;
        std::string roles;
        for (const auto& spec : *listeners) {
            roles += (roles.empty() ? "" : ", ") + spec.role;
            if (!chosen && (inetd_role.empty() || spec.role == inetd_role)) chosen = &spec;
        }
        if (!chosen) {
            // Also on stderr: with xinetd the log may be off (stderr is the client's socket).
            std::string message =
                "--role " + inetd_role + ": no such role; " + description.program + " serves " + roles;
            spdlog::critical("{}", message);
            std::cerr << description.program << ": " << message << "\n";
            return 2;
        }
        // As a service started as root would: never serve a connection as root.
        if (auto status = drop_privileges_and_check_store(server, config->storage.path, started_as_root); !status) {
            spdlog::critical("{}", status.error().message);
            return 1;
        }
        return server.run_inetd(*chosen);
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
    if (auto status = drop_privileges_and_check_store(server, config->storage.path, started_as_root); !status) {
        spdlog::critical("{}", status.error().message);
        return 1;
    }
    // Logged by run() once the signal handlers are in place: a SIGTERM sent on seeing this
    // line stops the daemon gracefully instead of killing it.
    return server.run(fmt::format("{} (hikyaku) {} started, pid {}", description.program, HIKYAKU_VERSION, getpid()));
}

}  // namespace hikyaku::net
