// auth_cache.h: a verified password remembered for a short time, so a client that opens a new
// connection per folder (or reconnects every minute) does not pay argon2id each time:
// Dovecot's auth_cache. The first login still pays it.
//
// What is kept is a keyed hash, never the password: HMAC-SHA256 under a random secret of this
// process of (address, password, the stored password hash). The stored hash is read from the
// directory at every login (a cheap read), so a password change (a new hash) or a removed user
// (no hash) misses the cache at once, in every process, with nothing to invalidate by hand.
// Entries expire after ttl and the table is bounded (the oldest goes first). Only successes
// are remembered: a wrong password is always checked in full.
// Must never: keep a password or anything that lets one be tested without the secret; answer
// for a hash other than the one stored now; grow without bound. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hikyaku::server {

class AuthCache {
public:
    using Clock = std::chrono::steady_clock;
    AuthCache(std::chrono::seconds ttl, std::size_t max_entries);

    bool enabled() const { return ttl_.count() > 0 && max_entries_ > 0; }
    // True if this exact password was verified against this stored hash within the ttl.
    bool remembers(std::string_view address, std::string_view password, std::string_view stored_hash,
                   Clock::time_point now);
    void remember(std::string_view address, std::string_view password, std::string_view stored_hash,
                  Clock::time_point now);
    std::size_t size() const;

private:
    std::string key(std::string_view address, std::string_view password, std::string_view stored_hash) const;
    void evict(Clock::time_point now);

    std::chrono::seconds ttl_;
    std::size_t max_entries_;
    std::array<unsigned char, 32> secret_{};
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Clock::time_point> expiry_;  // key -> when it expires
    std::multimap<Clock::time_point, std::string> by_expiry_;    // for eviction
};

}  // namespace hikyaku::server
