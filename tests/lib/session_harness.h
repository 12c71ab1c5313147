// session_harness.h: protocol sessions run in process (STYLE 14, 20): the in-memory store
// (storage/memory_store.h), the process services a daemon would build over it, and sessions driven over the
// memory transport by a client Connection, all on one io_context in the test's thread. A
// transcript (the same files the daemon-level tests use) runs in milliseconds this way.
//
// Every run is bounded: run() stops the io_context after its deadline and reports it.
// Must never: touch anything outside its temporary directory; leave a session running.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net/blocking_pool.h"
#include "common/net/connection.h"
#include "common/server/services.h"
#include "storage/store.h"

namespace hikyaku::test {

namespace asio = boost::asio;

// A session function as a daemon's listener runs it.
using SessionRunner = std::function<asio::awaitable<void>(std::shared_ptr<net::Connection>)>;

class InProcess {
public:
    // `config_text` is a hikyaku.toml fragment; [storage] path is set to a temporary store,
    // created with `domains` and `users` (address, password) at a cheap argon2 cost.
    explicit InProcess(const std::string& config_text = "",
                       std::vector<std::pair<std::string, std::string>> users = {{"alice@example.test", "alice-pw"},
                                                                                 {"bob@example.test", "bob-pw"}},
                       std::vector<std::string> domains = {"example.test"});
    ~InProcess();

    const Config& config() const { return config_; }
    storage::Store& store() { return *services_->store; }
    server::ProcessServices& services() { return *services_; }
    server::SessionEnvironment environment() { return services_->environment(); }
    asio::io_context& io() { return io_; }

    // Starts `session` on a new memory link from a client at `peer` (loopback by default) and
    // returns the client's end, ready for read_line()/write()/flush().
    std::shared_ptr<net::Connection> connect(const SessionRunner& session, const std::string& peer = "127.0.0.1");

    // Runs `body` (the test's client side) and everything it started until it returns, or
    // until `deadline` passes (then false, and the sessions are closed).
    bool run(std::function<asio::awaitable<void>()> body,
             std::chrono::milliseconds deadline = std::chrono::seconds(20));

    // Delivers a message to `addresses` through the store (for set-up).
    void deliver(const std::string& raw, const std::vector<std::string>& addresses);

private:
    std::string dir_;
    Config config_;
    asio::io_context io_;
    net::BlockingPool pool_{2};
    std::unique_ptr<server::ProcessServices> services_;
    std::vector<std::shared_ptr<net::Connection>> connections_;
};

// The logs a test can look at: every line spdlog writes while one exists (debug level).
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    std::string text() const;
    bool contains_regex(const std::string& pattern) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hikyaku::test
