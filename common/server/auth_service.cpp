// auth_service.cpp: logins for every protocol (see auth_service.h).
#include "common/server/auth_service.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <unordered_map>

#include "common/text/address.h"
#include "storage/store.h"

namespace hikyaku::server {

namespace {

asio::awaitable<void> wait_until(net::Connection& connection, LoginThrottle::Clock::time_point when) {
    if (when <= LoginThrottle::Clock::now()) co_return;
    asio::steady_timer timer(connection.executor(), when);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// What the log shows of a name a client sent: bounded, printable.
std::string loggable(std::string_view name) {
    std::string out;
    for (char c : name.substr(0, storage::kMaxAddressLength))
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return out;
}

}  // namespace

// One login attempt at a time per client address: the others of that address wait in line.
// Waiters sleep on a timer of their own executor; leaving wakes the next by cancelling its
// timer on that executor. Bounded by the connections a client may hold.
class AuthService::AddressGate {
public:
    asio::awaitable<void> enter(const std::string& address, asio::any_io_executor executor) {
        std::shared_ptr<asio::steady_timer> wait;
        {
            std::lock_guard lock(mutex_);
            Line& line = lines_[address];
            if (!line.busy) {
                line.busy = true;
                co_return;
            }
            wait = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
            line.waiting.push_back(wait);
        }
        // Woken by leave(), which hands the gate over (busy stays true).
        boost::system::error_code ec;
        co_await wait->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    void leave(const std::string& address) {
        std::shared_ptr<asio::steady_timer> next;
        {
            std::lock_guard lock(mutex_);
            auto it = lines_.find(address);
            if (it == lines_.end()) return;
            if (it->second.waiting.empty()) {
                lines_.erase(it);
                return;
            }
            next = std::move(it->second.waiting.front());
            it->second.waiting.pop_front();
        }
        // The waiter registered its wait before it could yield, so this runs after it.
        asio::post(next->get_executor(), [next] { next->cancel(); });
    }

private:
    struct Line {
        bool busy = false;
        std::deque<std::shared_ptr<asio::steady_timer>> waiting;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Line> lines_;
};

AuthService::AuthService(storage::Directory& directory, AuthSettings settings)
    : directory_(directory),
      verifier_(settings.cost),
      throttle_(settings.throttle),
      cache_(settings.cache_ttl, settings.cache_entries),
      gate_(std::make_unique<AddressGate>()),
      pool_(settings.threads ? settings.threads : 1) {}

AuthService::~AuthService() { pool_.join(); }

asio::awaitable<LoginResult> AuthService::log_in(net::Connection& connection, LoginAttempt attempt) {
    const std::string& peer = connection.peer_address();
    co_await gate_->enter(peer, connection.executor());
    struct Leave {
        AddressGate& gate;
        const std::string& address;
        ~Leave() { gate.leave(address); }
    } leave{*gate_, peer};
    co_return co_await check(connection, attempt);
}

asio::awaitable<LoginResult> AuthService::check(net::Connection& connection, const LoginAttempt& attempt) {
    const std::string& peer = connection.peer_address();
    const std::string account = storage::normalize_address(attempt.authcid.substr(0, storage::kMaxAddressLength));
    co_await wait_until(connection, throttle_.reserve(peer, LoginThrottle::Clock::now()));

    bool from_cache = false;
    auto checked = co_await pool_.run([&]() -> Result<storage::User> {
        auto found = verifier_.look_up(directory_, attempt.authcid, attempt.password);
        if (!found) return found.error();
        const auto now = AuthCache::Clock::now();
        if (*found && cache_.remembers((*found)->user.address, attempt.password, (*found)->password_hash, now)) {
            from_cache = true;
            return (*found)->user;
        }
        std::optional<storage::Credentials> credentials = *found;
        auto verified = verifier_.verify(std::move(*found), attempt.password);
        if (verified && credentials)
            cache_.remember(credentials->user.address, attempt.password, credentials->password_hash, now);
        return verified;
    });
    const bool acting_as_other = !attempt.authzid.empty() && text::ascii_lowercase(attempt.authzid) != account;
    if (checked && !acting_as_other) {
        throttle_.succeeded(peer, account, LoginThrottle::Clock::now());
        if (from_cache)
            spdlog::debug("{} password of {} recognised from the auth cache", connection.log_prefix(),
                          loggable(attempt.authcid));
        co_return LoginResult{LoginOutcome::accepted, std::move(*checked)};
    }
    if (!checked && checked.error().code != Errc::auth_failed) {
        spdlog::error("{} login user={} protocol={}: {}", connection.log_prefix(), loggable(attempt.authcid),
                      attempt.protocol, checked.error().message);
        co_return LoginResult{LoginOutcome::unavailable, std::nullopt};
    }
    // Acting as another user is not offered; it is answered as any failed login.
    const auto now = LoginThrottle::Clock::now();
    const auto delay = throttle_.failed(peer, account, now);
    spdlog::warn("{} authentication failed user={} protocol={} mechanism={} failures={} delay={}ms",
                 connection.log_prefix(), loggable(attempt.authcid), attempt.protocol, attempt.mechanism,
                 throttle_.failures(peer, now), delay.count());
    if (acting_as_other)
        spdlog::debug("{} (the failure above asked to act as {})", connection.log_prefix(), loggable(attempt.authzid));
    co_await wait_until(connection, now + delay);
    co_return LoginResult{LoginOutcome::refused, std::nullopt};
}

}  // namespace hikyaku::server
