// retry.h: when a deferred recipient is tried again, when it is given up, when its sender is
// warned, and how long a destination that failed is left alone. Pure: times come in as
// arguments, so the schedule is a unit test.
//
// A recipient's n-th retry waits retry_min * 2^(n-1), never more than retry_max (Postfix's
// minimal_backoff_time / maximal_backoff_time); once it has been in the queue for max_age it
// bounces with its last reply (RFC 5321 4.5.4.1: give up after 4-5 days). A destination
// (a domain, or the relay) whose hosts all failed to take a connection backs off the same
// way, counted in its own consecutive failures, so one dead domain neither takes
// connections from the others nor is hammered by every one of its recipients.
// Must never: schedule a retry in the past or later than retry_max away; bounce before
// max_age for a temporary failure; warn twice.
#pragma once

#include <chrono>
#include <cstdint>

#include "storage/types.h"

namespace hikyaku::deliverd {

using storage::TimePoint;
using Seconds = std::chrono::seconds;

struct RetryPolicy {
    Seconds retry_min{300};
    Seconds retry_max{14400};
    Seconds max_age{432000};
    Seconds delay_warning{14400};  // 0: never
};

// The wait after the `attempts`-th failed try (attempts >= 1).
Seconds retry_delay(const RetryPolicy& policy, std::uint32_t attempts);
// Has a recipient queued at `created` been in the queue too long at `now`?
bool expired(const RetryPolicy& policy, TimePoint created, TimePoint now);
// Should its sender be told now that it is late?
bool delay_warning_due(const RetryPolicy& policy, TimePoint created, TimePoint now, bool already_warned);

// One destination's health.
class DestinationBackoff {
public:
    // The destination took no connection (or no DNS answer): it is left alone for a while.
    void failed(const RetryPolicy& policy, TimePoint now);
    void succeeded() {
        failures_ = 0;
        until_ = {};
    }
    bool resting(TimePoint now) const { return now < until_; }
    TimePoint until() const { return until_; }
    std::uint32_t failures() const { return failures_; }

private:
    std::uint32_t failures_ = 0;
    TimePoint until_{};
};

}  // namespace hikyaku::deliverd
