// user_sessions.h: how many sessions each user holds in this process, so one account cannot
// take every connection (Dovecot's mail_max_userip_connections). Thread-safe; bounded by the
// sessions themselves (an entry lives while its user has a session).
// Must never: let a count go below zero or outlive the user's last session.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace hikyaku::server {

class UserSessions {
public:
    // Counts one more session of `user` unless it already holds `limit`; false then.
    bool try_add(std::int64_t user, unsigned limit) {
        std::lock_guard lock(mutex_);
        unsigned& n = counts_[user];
        if (n >= limit) {
            if (n == 0) counts_.erase(user);
            return false;
        }
        ++n;
        return true;
    }
    void remove(std::int64_t user) {
        std::lock_guard lock(mutex_);
        auto it = counts_.find(user);
        if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    }
    unsigned count(std::int64_t user) const {
        std::lock_guard lock(mutex_);
        auto it = counts_.find(user);
        return it == counts_.end() ? 0 : it->second;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::int64_t, unsigned> counts_;
};

}  // namespace hikyaku::server
