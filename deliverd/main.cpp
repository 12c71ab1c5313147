// deliverd main: the outbound delivery agent (delivery_agent.h). `deliverd -c CONF` runs in
// the foreground, logs to stderr (or [log] file), and sends what the queue holds until
// SIGTERM/SIGINT (then connections get [server] shutdown_grace to finish their message);
// SIGHUP reopens the log file. Started as root it drops to [server] user at once: it binds
// no port. One deliverd per store: a lock on "<store>.locks/deliverd.lock".
// Must never: open the store as root when a user is configured (the notification socket
// would be root's); run twice on one store.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstring>
#include <iostream>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "common/net/server.h"
#include "deliverd/delivery_agent.h"
#include "hikyaku_version.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

// Held for the life of the process; the kernel drops it when the process dies.
Result<int> lock_store(const std::string& store_path) {
    const std::string dir = store_path + ".locks";
    ::mkdir(dir.c_str(), 0770);
    const std::string path = dir + "/deliverd.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0) return make_error(Errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return make_error(Errc::already_exists, "another deliverd is running on " + store_path + " (" + path + ")");
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"deliverd: the hikyaku delivery agent (sends queued mail to other domains)"};
    std::string config_path = "/etc/hikyaku/hikyaku.toml";
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.set_version_flag("--version", std::string("deliverd (hikyaku) ") + HIKYAKU_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {  // exit 2, as the other daemons (deliverd(8))
        std::cerr << "deliverd: " << e.what() << " (see deliverd --help)\n";
        return 2;
    }
    auto config = load_config(config_path);
    if (!config) {
        std::cerr << "deliverd: " << config.error().message << "\n";
        return 2;
    }
    if (auto status = setup_logging("deliverd", config->log); !status) {
        std::cerr << "deliverd: " << status.error().message << "\n";
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    auto settings = deliverd::AgentSettings::from(*config);  // reads the relay password first, as root
    if (!settings) {
        spdlog::critical("{}", settings.error().message);
        return 1;
    }
    if (auto dropped = net::drop_privileges_to(config->server.user); !dropped) {
        spdlog::critical("{}", dropped.error().message);
        return 1;
    }
    auto lock = lock_store(config->storage.path);
    if (!lock) {
        spdlog::critical("{}", lock.error().message);
        return 1;
    }
    auto store = storage::open_store(storage::store_options(*config));
    if (!store) {
        spdlog::critical("{}: {}", config->storage.path, store.error().message);
        return 1;
    }

    asio::io_context io(1);
    int exit_code = 0;
    {
        net::BlockingPool pool(config->server.blocking_threads);
        server::AsyncStore async_store(**store, pool, config->server.message_reads);
        auto resolver =
            deliverd::Resolver::create(io.get_executor(), config->delivery.resolver, config->delivery.connect_timeout);
        if (!resolver) {
            spdlog::critical("{}", resolver.error().message);
            return 1;
        }
        deliverd::DeliveryAgent agent(io.get_executor(), async_store, **resolver, std::move(*settings));
        // New queue entries wake the agent (the notification thread only posts).
        auto subscription = (*store)->subscribe(0, [&io, &agent](const storage::MailboxChange& change) {
            if (change.kind == storage::ChangeKind::queued || change.kind == storage::ChangeKind::unknown)
                asio::post(io, [&agent] { agent.wake(); });
        });
        if (!subscription) {
            spdlog::critical("cannot follow the store's changes: {}", subscription.error().message);
            return 1;
        }
        asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
        std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                                   int signal) {
            if (ec) return;
            if (signal == SIGHUP) {
                spdlog::info("SIGHUP: reopening logs");
                reopen_logs();
                signals.async_wait(on_signal);
                return;
            }
            spdlog::info("signal {}: finishing the messages in progress, then stopping", signal);
            agent.stop();
        };
        signals.async_wait(on_signal);
        asio::co_spawn(io, agent.run(config->server.shutdown_grace), [&](std::exception_ptr failure) {
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    spdlog::critical("the delivery agent failed: {}", e.what());
                    exit_code = 1;
                }
            }
            signals.cancel();
            io.stop();
        });
        spdlog::info("deliverd (hikyaku) {} started, pid {}, {}", HIKYAKU_VERSION, ::getpid(),
                     config->relay.host.empty()
                         ? std::string("routing by DNS (MX)")
                         : "relay " + config->relay.host + ":" + std::to_string(config->relay.port));
        io.run();
        subscription->reset();
        pool.join();
    }
    spdlog::info("deliverd stopped");
    return exit_code;
}
