// change_feed.h: the store's change-notification role: "this user's mailboxes changed", heard
// by every process that opens the store, within milliseconds of the commit (IMAP IDLE, the
// EXISTS and EXPUNGE a session reports at its next command).
//
// Callbacks run on the store's one notification thread of this process, after the change is
// durable; they must return quickly (post to an event loop). Destroying the subscription
// unregisters it; once its destructor returns the callback is not running and will not run
// again. Must never: call back before the change is durable; start a thread in a process that
// never subscribes.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::storage {

using ChangeCallback = std::function<void(const MailboxChange&)>;

class ChangeSubscription {
public:
    virtual ~ChangeSubscription() = default;
    ChangeSubscription() = default;
    ChangeSubscription(const ChangeSubscription&) = delete;
    ChangeSubscription& operator=(const ChangeSubscription&) = delete;
};

class ChangeFeed {
public:
    virtual ~ChangeFeed() = default;
    // user 0 subscribes to every user.
    virtual Result<std::unique_ptr<ChangeSubscription>> subscribe(UserId user, ChangeCallback callback) = 0;
};

}  // namespace hikyaku::storage
