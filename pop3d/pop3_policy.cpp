// pop3_policy.cpp: see pop3_policy.h. RFC 2449 5-6 (CAPA), RFC 2595 4 (STLS), RFC 3206 5
// ([AUTH]), RFC 5034 (SASL capability).
#include "pop3d/pop3_policy.h"

#include <algorithm>

namespace hikyaku::pop3 {

const char* role_name(Role role) {
    switch (role) {
        case Role::pop3: return "pop3";
        case Role::pop3s: return "pop3s";
    }
    return "?";
}

bool plaintext_auth_allowed(const ClientFacts& client) { return client.tls || client.loopback; }

Reply plaintext_auth_refused(const ClientFacts& client) {
    if (client.tls_available)
        return Reply::negative("Plaintext authentication disallowed on non-secure connections; use STLS first",
                               ResponseCode::auth);
    return Reply::negative("Plaintext authentication disallowed on non-secure connections; use port 995 (POP3S)",
                           ResponseCode::auth);
}

std::vector<std::string> capabilities(const ClientFacts& client) {
    std::vector<std::string> lines{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"};
    if (!client.authenticated) {
        if (plaintext_auth_allowed(client)) {
            lines.emplace_back("USER");
            lines.emplace_back("SASL PLAIN LOGIN");
        }
        if (client.tls_available && !client.tls) lines.emplace_back("STLS");
    }
    lines.emplace_back("IMPLEMENTATION hikyaku");
    return lines;
}

std::chrono::milliseconds LoginThrottle::failed(const std::string& address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(address);
    if (it != entries_.end() && now - it->second.last > limits_.forget_after) it->second.failures = 0;
    if (it == entries_.end()) {
        if (entries_.size() >= limits_.max_addresses) {
            auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                           [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
            entries_.erase(oldest);
        }
        it = entries_.emplace(address, Entry{}).first;
    }
    Entry& e = it->second;
    if (e.failures < 64) ++e.failures;
    e.last = now;
    auto delay = limits_.first_delay;
    for (unsigned i = 1; i < e.failures && delay < limits_.max_delay; ++i) delay *= 2;
    return std::min(delay, limits_.max_delay);
}

void LoginThrottle::succeeded(const std::string& address) {
    std::lock_guard lock(mutex_);
    entries_.erase(address);
}

unsigned LoginThrottle::failures(const std::string& address, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(address);
    if (it == entries_.end() || now - it->second.last > limits_.forget_after) return 0;
    return it->second.failures;
}

std::size_t LoginThrottle::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace hikyaku::pop3
