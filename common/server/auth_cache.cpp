// auth_cache.cpp: remembered verifications as keyed hashes (see auth_cache.h).
#include "common/server/auth_cache.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace hikyaku::server {

AuthCache::AuthCache(std::chrono::seconds ttl, std::size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {
    if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
        // Without a secret the hashes could be tested offline: keep the cache off.
        ttl_ = std::chrono::seconds(0);
    }
}

std::string AuthCache::key(std::string_view address, std::string_view password, std::string_view stored_hash) const {
    std::string message;
    message.reserve(address.size() + password.size() + stored_hash.size() + 2);
    message.append(address).push_back('\0');
    message.append(password).push_back('\0');
    message.append(stored_hash);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
    OPENSSL_cleanse(message.data(), message.size());
    return std::string(reinterpret_cast<const char*>(out), length);
}

void AuthCache::evict(Clock::time_point now) {
    while (!by_expiry_.empty() && (by_expiry_.begin()->first <= now || expiry_.size() > max_entries_)) {
        auto it = expiry_.find(by_expiry_.begin()->second);
        if (it != expiry_.end() && it->second == by_expiry_.begin()->first) expiry_.erase(it);
        by_expiry_.erase(by_expiry_.begin());
    }
}

bool AuthCache::remembers(std::string_view address, std::string_view password, std::string_view stored_hash,
                          Clock::time_point now) {
    if (!enabled()) return false;
    const std::string k = key(address, password, stored_hash);
    std::lock_guard lock(mutex_);
    evict(now);
    auto it = expiry_.find(k);
    return it != expiry_.end() && it->second > now;
}

void AuthCache::remember(std::string_view address, std::string_view password, std::string_view stored_hash,
                         Clock::time_point now) {
    if (!enabled()) return;
    const std::string k = key(address, password, stored_hash);
    std::lock_guard lock(mutex_);
    const Clock::time_point until = now + ttl_;
    expiry_[k] = until;
    by_expiry_.emplace(until, k);
    evict(now);
}

std::size_t AuthCache::size() const {
    std::lock_guard lock(mutex_);
    return expiry_.size();
}

}  // namespace hikyaku::server
