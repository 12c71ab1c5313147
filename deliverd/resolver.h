// resolver.h: DNS lookups for deliverd through libunbound, asynchronous on the agent's event
// loop: a query is sent and the coroutine waits; libunbound's results arrive on its file
// descriptor, which the loop watches, so no thread ever blocks on DNS. Each query has a
// deadline (after it: a temporary failure). libunbound keeps a cache for the life of the
// process, honouring the records' TTLs.
//
// With [delivery] resolver = "IP:PORT" every query goes to that server (the tests' local DNS
// server); otherwise to the servers of /etc/resolv.conf. A trust anchor
// (/usr/share/dns/root.key, package dns-root-data) turns on DNSSEC validation when present,
// for tls = "dane" (answers are then marked secure or not).
// Must never: block the event loop; let a callback run after the resolver is gone.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "deliverd/routing.h"

struct ub_ctx;
struct ub_result;

namespace hikyaku::deliverd {

namespace asio = boost::asio;

inline constexpr int kDnsTypeA = 1;
inline constexpr int kDnsTypeMx = 15;
inline constexpr int kDnsTypeAaaa = 28;
inline constexpr int kDnsTypeTlsa = 52;

class Resolver {
public:
    // `forwarder`: "IP:PORT" or empty. `timeout`: the bound of one query.
    static Result<std::unique_ptr<Resolver>> create(asio::any_io_executor executor, const std::string& forwarder,
                                                    std::chrono::milliseconds timeout);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    asio::awaitable<DnsAnswer> query(std::string name, int type);
    bool validating() const { return validating_; }

private:
    struct Pending;
    Resolver(asio::any_io_executor executor, ub_ctx* ctx, std::chrono::milliseconds timeout);
    void watch();
    static void on_result(void* data, int err, ub_result* result);

    asio::any_io_executor executor_;
    ub_ctx* ctx_;
    asio::posix::stream_descriptor descriptor_;
    std::chrono::milliseconds timeout_;
    bool validating_ = false;
    std::map<int, Pending*> pending_;  // by libunbound's query id
};

}  // namespace hikyaku::deliverd
