// retry.cpp: the retry schedule (see retry.h).
#include "deliverd/retry.h"

#include <algorithm>

namespace hikyaku::deliverd {

Seconds retry_delay(const RetryPolicy& policy, std::uint32_t attempts) {
    Seconds delay = policy.retry_min;
    for (std::uint32_t i = 1; i < attempts && delay < policy.retry_max; ++i) delay *= 2;
    return std::clamp(delay, Seconds(1), std::max(policy.retry_max, Seconds(1)));
}

bool expired(const RetryPolicy& policy, TimePoint created, TimePoint now) { return now - created >= policy.max_age; }

bool delay_warning_due(const RetryPolicy& policy, TimePoint created, TimePoint now, bool already_warned) {
    return !already_warned && policy.delay_warning.count() > 0 && now - created >= policy.delay_warning &&
           !expired(policy, created, now);
}

void DestinationBackoff::failed(const RetryPolicy& policy, TimePoint now) {
    ++failures_;
    until_ = now + retry_delay(policy, failures_);
}

}  // namespace hikyaku::deliverd
