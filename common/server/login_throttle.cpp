// login_throttle.cpp: the failed-login throttle (see login_throttle.h).
#include "common/server/login_throttle.h"

#include <algorithm>

namespace hikyaku::server {

namespace {
constexpr unsigned kMaxCountedFailures = 64;  // enough to stay at max_delay; never overflows
}  // namespace

std::chrono::milliseconds LoginThrottle::delay_for(unsigned failures) const {
    if (failures == 0) return std::chrono::milliseconds(0);
    auto delay = limits_.first_delay;
    for (unsigned i = 1; i < failures && delay < limits_.max_delay; ++i) delay *= 2;
    return std::min(delay, limits_.max_delay);
}

LoginThrottle::Entry* LoginThrottle::find(const std::string& address, Clock::time_point now) {
    auto it = entries_.find(address);
    if (it == entries_.end()) return nullptr;
    if (now - it->second.last_failure > limits_.forget_after && now >= it->second.next_turn) {
        entries_.erase(it);
        return nullptr;
    }
    return &it->second;
}

LoginThrottle::Entry& LoginThrottle::find_or_add(const std::string& address, Clock::time_point now) {
    if (Entry* e = find(address, now)) return *e;
    if (entries_.size() >= limits_.max_addresses) {
        auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
            return a.second.last_failure < b.second.last_failure;
        });
        entries_.erase(oldest);
    }
    return entries_[address];
}

LoginThrottle::Clock::time_point LoginThrottle::reserve(const std::string& address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Entry* e = find(address, now);
    if (!e || e->failures == 0) return now;
    Clock::time_point start = std::max(now, e->next_turn);
    e->next_turn = start + delay_for(e->failures);
    return start;
}

std::chrono::milliseconds LoginThrottle::failed(const std::string& address, std::string_view account,
                                                Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Entry& e = find_or_add(address, now);
    if (e.failures < kMaxCountedFailures) ++e.failures;
    auto it = e.accounts.find(std::string(account));
    if (it == e.accounts.end()) {
        if (e.accounts.size() >= limits_.max_accounts) {
            // Spraying many accounts: keep the address's sum, forget which account had the fewest.
            auto fewest = std::min_element(e.accounts.begin(), e.accounts.end(),
                                           [](const auto& a, const auto& b) { return a.second < b.second; });
            e.accounts.erase(fewest);
        }
        it = e.accounts.emplace(std::string(account), 0).first;
    }
    if (it->second < kMaxCountedFailures) ++it->second;
    e.last_failure = now;
    auto delay = delay_for(e.failures);
    e.next_turn = std::max(e.next_turn, now + delay);
    return delay;
}

void LoginThrottle::succeeded(const std::string& address, std::string_view account, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Entry* e = find(address, now);
    if (!e) return;
    auto it = e->accounts.find(std::string(account));
    if (it == e->accounts.end()) return;
    e->failures -= std::min(e->failures, it->second);
    e->accounts.erase(it);
    if (e->failures == 0) entries_.erase(address);
}

unsigned LoginThrottle::failures(const std::string& address, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(address);
    if (it == entries_.end() || now - it->second.last_failure > limits_.forget_after) return 0;
    return it->second.failures;
}

std::size_t LoginThrottle::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace hikyaku::server
