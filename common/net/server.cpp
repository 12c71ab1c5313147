// server.cpp: the dispatcher, the workers and the iterative loop (see server.h).
#include "common/net/server.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "common/log.h"

namespace hikyaku::net {

using asio::ip::tcp;

ServerOptions ServerOptions::from(const ServerConfig& config) {
    ServerOptions o;
    o.model = config.model;
    o.workers = config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency());
    o.max_connections = config.max_connections;
    o.max_connections_per_ip = config.max_connections_per_ip;
    o.blocking_threads = config.blocking_threads;
    o.shutdown_grace = config.shutdown_grace;
    o.user = config.user;
    return o;
}

namespace {

inline auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// The sessions running on one event loop; touched only from that loop's thread.
struct SessionRegistry {
    std::unordered_set<Connection*> connections;
};

struct Worker {
    explicit Worker(unsigned index) : index(index), guard(asio::make_work_guard(context)) {}
    unsigned index;
    asio::io_context context{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard;
    std::thread thread;
    std::atomic<unsigned> load{0};
    SessionRegistry registry;
};

struct Listener {
    ListenerSpec spec;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<ListenAddress> bound;
};

std::string endpoint_host(const tcp::endpoint& endpoint) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    return address.to_string();
}

}  // namespace

struct Server::Impl {
    Impl(ServerOptions o, std::shared_ptr<TlsContextHolder> t)
        : options(std::move(o)), tls(std::move(t)), pool(options.blocking_threads) {}

    ServerOptions options;
    std::shared_ptr<TlsContextHolder> tls;
    // Declared before the dispatcher: pending accepts on the dispatcher hold sockets of the
    // workers' contexts, so the dispatcher must be destroyed first.
    std::vector<std::unique_ptr<Worker>> workers;
    asio::io_context dispatcher{1};
    SessionRegistry iterative_registry;  // sessions on the dispatcher in iterative mode
    std::vector<Listener> listeners;
    BlockingPool pool;
    std::atomic<unsigned> active{0};
    std::mutex per_ip_mutex;
    std::map<std::string, unsigned> per_ip;
    std::atomic<bool> stopping{false};
    std::vector<std::function<void()>> reload_hooks;
    // Iterative model: the one "serving" token, passed from connection to connection.
    std::unique_ptr<asio::experimental::channel<void(error_code)>> serving_token;

    // --- admission -----------------------------------------------------------------------
    bool admit(const std::string& peer, std::string& why) {
        if (active.load() >= options.max_connections) {
            why = "max_connections";
            return false;
        }
        std::lock_guard lock(per_ip_mutex);
        unsigned& count = per_ip[peer];
        if (count >= options.max_connections_per_ip) {
            if (count == 0) per_ip.erase(peer);
            why = "max_connections_per_ip";
            return false;
        }
        ++count;
        ++active;
        return true;
    }
    void release(const std::string& peer) {
        {
            std::lock_guard lock(per_ip_mutex);
            auto it = per_ip.find(peer);
            if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
        }
        --active;
    }

    Worker& least_loaded() {
        Worker* best = workers.front().get();
        for (auto& w : workers)
            if (w->load.load() < best->load.load()) best = w.get();
        return *best;
    }

    // --- one session -----------------------------------------------------------------------
    asio::awaitable<void> serve(const ListenerSpec& spec, std::unique_ptr<Transport> transport, std::string peer,
                                uint16_t peer_port, uint16_t local_port, unsigned worker_index,
                                SessionRegistry& registry, bool counted) {
        auto executor = co_await asio::this_coro::executor;
        auto conn =
            std::make_shared<Connection>(executor, std::move(transport), peer, peer_port, local_port, worker_index);
        if (tls) conn->set_tls_context(tls->current());
        registry.connections.insert(conn.get());
        asio::co_spawn(executor, conn->watchdog(), asio::detached);
        auto started = std::chrono::steady_clock::now();
        spdlog::info("{} worker={} role={} opened", conn->log_prefix(), worker_index, spec.role);
        bool ready = true;
        if (spec.implicit_tls) {
            conn->set_timeout(std::chrono::seconds(30));
            ready = co_await conn->accept_tls();
            if (!ready) spdlog::info("{} TLS handshake failed", conn->log_prefix());
        }
        if (ready) {
            try {
                co_await spec.handler(conn);
            } catch (const std::exception& e) {
                // A bad client must never take the worker down (STYLE 15); this is a bug.
                spdlog::error("{} session ended by exception: {}", conn->log_prefix(), e.what());
            }
        }
        conn->close();
        registry.connections.erase(conn.get());
        if (counted) release(peer);
        std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        spdlog::info("{} closed duration={:.3f}s in={} out={}{}", conn->log_prefix(), took.count(), conn->bytes_in(),
                     conn->bytes_out(), conn->is_tls() ? " tls=" + conn->tls_version() : std::string());
    }

    void refuse(tcp::socket& socket, const std::string& refusal) {
        // A short line into an empty socket buffer: never blocks the dispatcher.
        error_code ec;
        socket.non_blocking(true, ec);
        if (!refusal.empty()) socket.send(asio::buffer(refusal), 0, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    }

    // --- accept loops ------------------------------------------------------------------------
    asio::awaitable<void> accept_concurrent(Listener& listener, tcp::acceptor& acceptor) {
        while (!stopping) {
            Worker& worker = least_loaded();
            error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(worker.context, use_ec(ec));
            if (stopping) break;
            if (ec) {
                if (ec == asio::error::operation_aborted) break;
                spdlog::warn("accept on {}: {}", listener.spec.role, ec.message());
                // Out of descriptors: back off instead of spinning.
                asio::steady_timer pause(dispatcher, std::chrono::milliseconds(100));
                co_await pause.async_wait(use_ec(ec));
                continue;
            }
            auto remote = socket.remote_endpoint(ec);
            if (ec) continue;  // already gone
            std::string peer = endpoint_host(remote);
            std::string why;
            if (!admit(peer, why)) {
                spdlog::warn("refused peer={} role={}: {} reached", peer, listener.spec.role, why);
                refuse(socket, listener.spec.refusal);
                continue;
            }
            uint16_t local_port = socket.local_endpoint(ec).port();
            ++worker.load;
            asio::co_spawn(
                worker.context,
                [this, &listener, &worker, s = std::move(socket), peer, port = remote.port(),
                 local_port]() mutable -> asio::awaitable<void> {
                    co_await serve(listener.spec, std::make_unique<PlainTransport>(std::move(s)), peer, port,
                                   local_port, worker.index, worker.registry, true);
                    --worker.load;
                },
                asio::detached);
        }
    }

    asio::awaitable<void> accept_iterative(Listener& listener, tcp::acceptor& acceptor) {
        while (!stopping) {
            error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(dispatcher, use_ec(ec));
            if (ec == asio::error::operation_aborted || stopping) break;
            if (ec) continue;
            // Take the token: while one connection is served, every other one waits (each
            // listener holds at most one accepted socket; the rest wait in the backlog).
            co_await serving_token->async_send(error_code{}, use_ec(ec));
            if (ec || stopping) break;
            auto remote = socket.remote_endpoint(ec);
            if (!ec) {
                std::string peer = endpoint_host(remote);
                uint16_t local_port = socket.local_endpoint(ec).port();
                ++active;
                co_await serve(listener.spec, std::make_unique<PlainTransport>(std::move(socket)), peer, remote.port(),
                               local_port, 0, iterative_registry, false);
                --active;
            }
            serving_token->try_receive([](error_code) {});
        }
    }

    // --- stopping ------------------------------------------------------------------------------
    void for_each_session(const std::function<void(Connection&)>& action) {
        auto apply = [action](SessionRegistry& registry) {
            // Copy first: an action may end a session, which edits the registry.
            std::vector<Connection*> snapshot(registry.connections.begin(), registry.connections.end());
            for (auto* c : snapshot)
                if (registry.connections.count(c)) action(*c);
        };
        if (workers.empty()) apply(iterative_registry);
        for (auto& w : workers) asio::post(w->context, [&w, apply] { apply(w->registry); });
    }

    asio::awaitable<void> graceful_stop() {
        stopping = true;
        for (auto& l : listeners)
            for (auto& a : l.acceptors) {
                error_code ec;
                a->close(ec);
            }
        if (serving_token) serving_token->close();
        spdlog::info("stopping: no new connections; {} session(s) in flight, grace {}s", active.load(),
                     options.shutdown_grace.count());
        asio::steady_timer tick(dispatcher);
        auto wait_until = [&](std::chrono::steady_clock::time_point deadline) -> asio::awaitable<void> {
            while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
                tick.expires_after(std::chrono::milliseconds(20));
                error_code ec;
                co_await tick.async_wait(use_ec(ec));
            }
        };
        co_await wait_until(std::chrono::steady_clock::now() + options.shutdown_grace);
        if (active.load() > 0) {
            spdlog::info("stopping: grace period over, asking {} session(s) to end", active.load());
            for_each_session([](Connection& c) { c.request_shutdown(); });
            co_await wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(2));
        }
        if (active.load() > 0) {
            spdlog::warn("stopping: closing {} session(s) that did not end", active.load());
            for_each_session([](Connection& c) { c.close(); });
            co_await wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(1));
        }
        for (auto& w : workers) w->guard.reset();
        dispatcher.stop();
    }

    asio::awaitable<void> handle_signals(asio::signal_set& signals) {
        for (;;) {
            error_code ec;
            int signal = co_await signals.async_wait(use_ec(ec));
            if (ec) co_return;
            if (signal == SIGHUP) {
                spdlog::info("SIGHUP: reloading TLS certificate and reopening logs");
                reopen_logs();
                if (tls) {
                    auto status = tls->reload();
                    if (!status)
                        spdlog::error("TLS reload failed, keeping the old certificate: {}", status.error().message);
                }
                for (auto& hook : reload_hooks) hook();
                continue;
            }
            if (stopping) {
                // A second SIGTERM/SIGINT cuts the grace period short.
                spdlog::info("signal {}: already stopping, asking sessions to end now", signal);
                for_each_session([](Connection& c) { c.request_shutdown(); });
                continue;
            }
            spdlog::info("signal {}: stopping", signal);
            asio::co_spawn(dispatcher, graceful_stop(), asio::detached);
        }
    }
};

Server::Server(ServerOptions options, std::shared_ptr<TlsContextHolder> tls)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(tls))) {}

Server::~Server() {
    for (auto& w : impl_->workers) {
        w->guard.reset();
        w->context.stop();
        if (w->thread.joinable()) w->thread.join();
    }
    impl_->pool.join();
}

void Server::add_listener(ListenerSpec spec) { impl_->listeners.push_back(Listener{std::move(spec), {}, {}}); }

Status Server::bind() {
    for (auto& listener : impl_->listeners) {
        if (listener.spec.addresses.empty()) continue;
        if (listener.spec.implicit_tls && !impl_->tls)
            return make_error(Errc::invalid_argument,
                              "listener " + listener.spec.role + " needs TLS but [tls] cert/key are not set");
        for (auto& address : listener.spec.addresses) {
            error_code ec;
            std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
            auto ip = asio::ip::make_address(host, ec);
            if (ec) return make_error(Errc::invalid_argument, "listen address " + address.text() + ": " + ec.message());
            tcp::endpoint endpoint(ip, address.port);
            auto acceptor = std::make_unique<tcp::acceptor>(impl_->dispatcher);
            acceptor->open(endpoint.protocol(), ec);
            if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
            if (!ec) acceptor->bind(endpoint, ec);
            if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
            if (ec)
                return make_error(Errc::io_error, "cannot listen on " + address.text() + " (" + listener.spec.role +
                                                      "): " + ec.message());
            ListenAddress bound{host, acceptor->local_endpoint().port()};
            spdlog::info("listening role={} address={}{}", listener.spec.role, bound.text(),
                         listener.spec.implicit_tls ? " tls=implicit" : "");
            listener.bound.push_back(bound);
            listener.acceptors.push_back(std::move(acceptor));
        }
    }
    return {};
}

Status Server::drop_privileges() { return drop_privileges_to(impl_->options.user); }

Status drop_privileges_to(const std::string& user) {
    if (user.empty() || geteuid() != 0) return {};
    struct passwd* pw = getpwnam(user.c_str());
    if (!pw) return make_error(Errc::not_found, "[server] user '" + user + "' does not exist");
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return make_error(Errc::io_error, "cannot switch to user '" + user + "': " + std::strerror(errno));
    if (setuid(0) == 0) return make_error(Errc::internal, "privileges could be regained after dropping them");
    spdlog::info("dropped privileges to user={} uid={}", pw->pw_name, pw->pw_uid);
    return {};
}

int Server::run(const std::string& started) {
    auto& d = *impl_;
    // Registered before anything is logged as running, so no early signal is lost.
    asio::signal_set signals(d.dispatcher, SIGTERM, SIGINT, SIGHUP);
    asio::co_spawn(d.dispatcher, d.handle_signals(signals), asio::detached);
    if (!started.empty()) spdlog::info("{}", started);
    if (d.options.model == ServerModel::iterative) {
        spdlog::info("model=iterative: one connection at a time on one thread");
        d.serving_token = std::make_unique<asio::experimental::channel<void(error_code)>>(d.dispatcher, 1);
        for (auto& l : d.listeners)
            for (auto& a : l.acceptors) asio::co_spawn(d.dispatcher, d.accept_iterative(l, *a), asio::detached);
    } else {
        spdlog::info("model=concurrent: dispatcher + {} worker thread(s), {} blocking thread(s)", d.options.workers,
                     d.options.blocking_threads);
        for (unsigned i = 0; i < d.options.workers; ++i) {
            auto worker = std::make_unique<Worker>(i);
            auto* w = worker.get();
            w->thread = std::thread([w] { w->context.run(); });
            d.workers.push_back(std::move(worker));
        }
        for (auto& l : d.listeners)
            for (auto& a : l.acceptors) asio::co_spawn(d.dispatcher, d.accept_concurrent(l, *a), asio::detached);
    }
    d.dispatcher.run();
    for (auto& w : d.workers)
        if (w->thread.joinable()) w->thread.join();
    d.pool.join();
    spdlog::info("stopped");
    return 0;
}

int Server::run_inetd(const ListenerSpec& spec) {
    auto& d = *impl_;
    asio::io_context context{1};
    std::unique_ptr<Transport> transport;
    std::string peer = "local";
    uint16_t peer_port = 0, local_port = 0;
    struct stat st {};
    if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode)) {
        // inetd/systemd hand us the accepted socket itself: STARTTLS works as usual.
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        getsockname(0, reinterpret_cast<sockaddr*>(&ss), &len);
        tcp::socket socket(context);
        error_code ec;
        socket.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), ::dup(0), ec);
        if (!ec) {
            auto remote = socket.remote_endpoint(ec);
            if (!ec) {
                peer = endpoint_host(remote);
                peer_port = remote.port();
            }
            local_port = socket.local_endpoint(ec).port();
            transport = std::make_unique<PlainTransport>(std::move(socket));
        }
    }
    if (!transport) {
        if (spec.implicit_tls) {
            spdlog::error("--inetd with implicit TLS needs a socket on stdin");
            return 1;
        }
        transport = std::make_unique<PipeTransport>(context.get_executor(), 0, 1);
    }
    asio::co_spawn(context,
                   d.serve(spec, std::move(transport), peer, peer_port, local_port, 0, d.iterative_registry, false),
                   asio::detached);
    context.run();
    d.pool.join();
    return 0;
}

void Server::stop() {
    asio::post(impl_->dispatcher, [this] {
        if (!impl_->stopping) asio::co_spawn(impl_->dispatcher, impl_->graceful_stop(), asio::detached);
    });
}

void Server::on_reload(std::function<void()> hook) { impl_->reload_hooks.push_back(std::move(hook)); }

std::vector<std::pair<std::string, ListenAddress>> Server::bound_addresses() const {
    std::vector<std::pair<std::string, ListenAddress>> out;
    for (auto& l : impl_->listeners)
        for (auto& b : l.bound) out.emplace_back(l.spec.role, b);
    return out;
}

BlockingPool& Server::blocking_pool() { return impl_->pool; }

std::shared_ptr<asio::ssl::context> Server::tls_context() const { return impl_->tls ? impl_->tls->current() : nullptr; }

}  // namespace hikyaku::net
