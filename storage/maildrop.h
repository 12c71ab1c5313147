// maildrop.h: the store's maildrop-lock role: the exclusive hold a POP3 session has on a
// user's maildrop (RFC 1939 4: "the server acquires an exclusive-access lock on the
// maildrop"), across every process that opens the store.
//
// Must never: let two sessions, in this process or in others, hold the same user's lock;
// outlive its holder (the destructor releases it; the kernel does if the process dies).
#pragma once

#include <memory>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::storage {

// Held while a POP3 session owns a maildrop; released by the destructor.
class MaildropLock {
public:
    virtual ~MaildropLock() = default;
    MaildropLock() = default;
    MaildropLock(const MaildropLock&) = delete;
    MaildropLock& operator=(const MaildropLock&) = delete;
};

class MaildropLocking {
public:
    virtual ~MaildropLocking() = default;
    // busy if another session holds it; not_found for an unknown user. Never waits.
    virtual Result<std::unique_ptr<MaildropLock>> lock_maildrop(UserId user) = 0;
};

}  // namespace hikyaku::storage
