// resolver.cpp: libunbound on the event loop (see resolver.h).
#include "deliverd/resolver.h"

#include <unbound.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "common/config.h"

namespace hikyaku::deliverd {

namespace {
constexpr const char* kTrustAnchor = "/usr/share/dns/root.key";
}

struct Resolver::Pending {
    explicit Pending(asio::any_io_executor executor) : wake(executor) {}
    asio::steady_timer wake;
    std::optional<DnsAnswer> answer;
};

Result<std::unique_ptr<Resolver>> Resolver::create(asio::any_io_executor executor, const std::string& forwarder,
                                                   std::chrono::milliseconds timeout) {
    ub_ctx* ctx = ub_ctx_create();
    if (!ctx) return make_error(Errc::internal, "cannot create a DNS resolver (libunbound)");
    auto fail = [&](const std::string& what, int err) {
        ub_ctx_delete(ctx);
        return make_error(Errc::invalid_argument, what + ": " + ub_strerror(err));
    };
    int err = ub_ctx_async(ctx, 1);  // a thread, not a forked process
    if (err != 0) return fail("DNS resolver", err);
    if (!forwarder.empty()) {
        auto address = parse_listen_address(forwarder);
        if (!address) return make_error(Errc::invalid_argument, "[delivery] resolver: " + address.error().message);
        // The tests' server listens on loopback, which libunbound refuses to ask by default.
        if ((err = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0) return fail("DNS resolver", err);
        // libunbound answers NXDOMAIN for the special-use "test." itself (RFC 6761 6.2); a
        // resolver we were pointed at may serve it (test installations do).
        if ((err = ub_ctx_set_option(ctx, "local-zone:", "test. transparent")) != 0) return fail("DNS resolver", err);
        const std::string at = address->host + "@" + std::to_string(address->port);
        if ((err = ub_ctx_set_fwd(ctx, at.c_str())) != 0) return fail("[delivery] resolver " + forwarder, err);
    } else if ((err = ub_ctx_resolvconf(ctx, nullptr)) != 0) {
        return fail("reading /etc/resolv.conf", err);
    }
    bool validating = false;
    if (::access(kTrustAnchor, R_OK) == 0 && ub_ctx_add_ta_file(ctx, kTrustAnchor) == 0) validating = true;
    std::unique_ptr<Resolver> resolver(new Resolver(executor, ctx, timeout));
    resolver->validating_ = validating;
    return resolver;
}

Resolver::Resolver(asio::any_io_executor executor, ub_ctx* ctx, std::chrono::milliseconds timeout)
    : executor_(executor), ctx_(ctx), descriptor_(executor, ::dup(ub_fd(ctx))), timeout_(timeout) {
    watch();
}

Resolver::~Resolver() {
    for (auto& [id, pending] : pending_) ub_cancel(ctx_, id);
    pending_.clear();
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.close(ignored);
    ub_ctx_delete(ctx_);
}

void Resolver::watch() {
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;    // cancelled: the resolver is going away
        ub_process(ctx_);  // runs on_result for every answer that arrived
        watch();
    });
}

void Resolver::on_result(void* data, int err, ub_result* result) {
    auto* pending = static_cast<Pending*>(data);
    DnsAnswer answer;
    if (err != 0) {
        answer.status = DnsAnswer::Status::failed;
        answer.why = ub_strerror(err);
    } else if (result->bogus) {
        answer.status = DnsAnswer::Status::failed;
        answer.why = std::string("DNSSEC validation failed: ") + (result->why_bogus ? result->why_bogus : "bogus");
    } else if (result->rcode == 3 || result->nxdomain) {
        answer.status = DnsAnswer::Status::no_domain;
    } else if (result->rcode != 0) {
        answer.status = DnsAnswer::Status::failed;
        answer.why = "the DNS server answered with rcode " + std::to_string(result->rcode);
    } else if (!result->havedata) {
        answer.status = DnsAnswer::Status::no_data;
    } else {
        answer.status = DnsAnswer::Status::data;
        for (int i = 0; result->data[i]; ++i) answer.rdata.emplace_back(result->data[i], result->len[i]);
    }
    if (result) {
        answer.secure = result->secure != 0;
        ub_resolve_free(result);
    }
    pending->answer = std::move(answer);
    pending->wake.cancel();
}

asio::awaitable<DnsAnswer> Resolver::query(std::string name, int type) {
    Pending pending(executor_);
    int id = 0;
    const int err = ub_resolve_async(ctx_, name.c_str(), type, 1 /* IN */, &pending, &Resolver::on_result, &id);
    if (err != 0) {
        DnsAnswer failed;
        failed.why = ub_strerror(err);
        co_return failed;
    }
    pending_[id] = &pending;
    pending.wake.expires_after(timeout_);
    boost::system::error_code ec;
    co_await pending.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    pending_.erase(id);
    if (pending.answer) co_return std::move(*pending.answer);
    ub_cancel(ctx_, id);  // timed out: the callback must never see this frame again
    DnsAnswer timed_out;
    timed_out.why = "no answer from the DNS server within " + std::to_string(timeout_.count() / 1000) + " s";
    co_return timed_out;
}

}  // namespace hikyaku::deliverd
