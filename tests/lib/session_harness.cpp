// session_harness.cpp: sessions in process over the memory transport (session_harness.h).
#include "tests/lib/session_harness.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "common/net/memory_transport.h"
#include "storage/memory_store.h"

namespace hikyaku::test {

InProcess::InProcess(const std::string& config_text, std::vector<std::pair<std::string, std::string>> users,
                     std::vector<std::string> domains) {
    std::string pattern = (std::filesystem::temp_directory_path() / "hikyaku-inproc-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    auto parsed = parse_config("[storage]\npath = \"" + dir_ + "/store.db\"\n" + config_text, "in-process.toml");
    if (!parsed) throw std::runtime_error(parsed.error().message);
    config_ = std::move(*parsed);
    config_.server.auth_threads = 1;
    storage::StoreOptions options = storage::store_options(config_);
    options.create = true;
    options.argon2_memory_kib = 256;  // tests log in often; production uses 19 MiB
    options.argon2_iterations = 1;
    options.change_poll_interval = std::chrono::milliseconds(50);
    // The in-memory backend: a real implementation of every role, in microseconds.
    std::unique_ptr<storage::Store> store = storage::open_memory_store(options);
    for (const auto& d : domains)
        if (auto s = store->add_domain(d); !s) throw std::runtime_error(s.error().message);
    for (const auto& [address, password] : users)
        if (auto u = store->add_user(address, password); !u) throw std::runtime_error(u.error().message);
    services_ = server::ProcessServices::over(std::move(store), config_, pool_);
    // The verifier's dummy hash at the same cheap cost as the users' hashes.
    server::AuthSettings auth;
    auth.threads = 1;
    auth.cost = storage::PasswordCost{256, 1, 1};
    services_->auth = std::make_unique<server::AuthService>(*services_->store, auth);
    if (auto s = services_->spool->prepare(); !s) throw std::runtime_error(s.error().message);
}

InProcess::~InProcess() {
    for (auto& c : connections_) c->close();
    io_.restart();
    io_.poll();
    services_.reset();
    pool_.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::shared_ptr<net::Connection> InProcess::connect(const SessionRunner& session, const std::string& peer) {
    auto [server_end, client_end] = net::make_memory_link(io_.get_executor());
    auto server_conn = std::make_shared<net::Connection>(io_.get_executor(), std::move(server_end), peer, 40000, 25, 0);
    auto client_conn =
        std::make_shared<net::Connection>(io_.get_executor(), std::move(client_end), "127.0.0.1", 25, 40000, 0);
    client_conn->set_timeout(std::chrono::seconds(10));
    asio::co_spawn(io_, server_conn->watchdog(), asio::detached);
    asio::co_spawn(io_, client_conn->watchdog(), asio::detached);
    asio::co_spawn(
        io_,
        [session, server_conn]() -> asio::awaitable<void> {
            co_await session(server_conn);
            server_conn->close();
        },
        asio::detached);
    connections_.push_back(server_conn);
    connections_.push_back(client_conn);
    return client_conn;
}

bool InProcess::run(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds deadline) {
    bool finished = false;
    asio::steady_timer guard(io_, deadline);
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
            co_await body();
            finished = true;
            guard.cancel();
            io_.stop();  // sessions still waiting for input keep the context busy otherwise
        },
        asio::detached);
    guard.async_wait([&](boost::system::error_code ec) {
        if (!ec) io_.stop();
    });
    io_.restart();
    io_.run();
    if (!finished) {
        for (auto& c : connections_) c->close();
        io_.restart();
        io_.poll();
    }
    return finished;
}

void InProcess::deliver(const std::string& raw, const std::vector<std::string>& addresses) {
    std::vector<storage::UserId> ids;
    for (const auto& a : addresses) {
        auto user = store().find_user(a);
        if (!user) throw std::runtime_error(user.error().message);
        ids.push_back(user->id);
    }
    auto receipt = store().deliver(raw, ids, storage::TimePoint(std::chrono::seconds(1700000000)));
    if (!receipt) throw std::runtime_error(receipt.error().message);
}

struct LogCapture::Impl {
    std::ostringstream stream;
    std::shared_ptr<spdlog::logger> previous;
    mutable std::mutex mutex;
};

LogCapture::LogCapture() : impl_(std::make_unique<Impl>()) {
    impl_->previous = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(impl_->stream);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(impl_->previous); }

std::string LogCapture::text() const {
    spdlog::default_logger()->flush();
    return impl_->stream.str();
}

bool LogCapture::contains_regex(const std::string& pattern) const {
    return std::regex_search(text(), std::regex(pattern, std::regex::multiline));
}

}  // namespace hikyaku::test
