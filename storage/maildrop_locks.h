// maildrop_locks.h: the POP3 maildrop locks of the SQLite backend (RFC 1939 4), internal to
// it; the daemons see only Store::lock_maildrop and MaildropLock (store.h).
//
// Mechanism: ONE lock file per store, "<store>.locks/maildrops.lock", opened once per
// process (lazily, O_CLOEXEC) and kept open while any store object or held lock of this
// process uses it. A maildrop is locked by a POSIX record lock on one byte of that file:
// fcntl(F_SETLK, F_WRLCK, start = user id, len = 1). The kernel releases it when the process
// dies (kill -9 included), so a crashed daemon never leaves a maildrop locked. A session
// thus costs no file descriptor beyond its socket (the old design kept one open lock file
// per session, and 10,000 idle sessions ran the daemon out of descriptors).
//
// Record locks belong to the process, not to the descriptor, which shapes two rules:
//   - They do not exclude inside one process (a second F_SETLK by the same process on a
//     byte it holds succeeds), so an in-process registry (a mutex and the set of user ids
//     held) refuses a second lock of the same user within the process; the record lock
//     excludes other processes (pop3d and a second pop3d, imapd later).
//   - Closing ANY descriptor of the file drops ALL of the process's locks on it. So this
//     process must never open the lock file twice and close one of the opens: every store
//     object of this process that names the same file shares one descriptor and one
//     registry (a process-wide table keyed by the file's device and inode), and nothing
//     else may open the file (not a test, not a tool linked into a daemon). SQLite has
//     the same problem with its database file and solves it the same way (its inode table).
//
// Why not OFD locks (F_OFD_SETLK)? They belong to the open file description and so do
// exclude two descriptions within one process, which would make the registry unnecessary;
// but then every held maildrop needs its own open file description, that is its own
// descriptor, which is exactly the per-session cost removed here. Process-associated locks
// plus the registry cost one descriptor per store per process, however many sessions.
//
// Threads: every member is thread-safe. Lock and unlock run under one mutex per lock file
// (F_SETLK never waits, so that mutex is held for microseconds).
//
// Must never: close the shared descriptor while this process holds a lock on the file;
// hand out a second lock of a user this process already holds; wait for a lock (busy
// instead); leak the descriptor into an exec'd child.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "storage/store.h"

namespace hikyaku::storage {

class MaildropLockFile;  // the process-wide state of one lock file (maildrop_locks.cpp)

// A counted reference to a MaildropLockFile; the last reference in the process closes the
// descriptor (held locks hold references, so it is never closed under a held lock).
class MaildropLockFileRef {
public:
    MaildropLockFileRef() = default;
    ~MaildropLockFileRef();
    MaildropLockFileRef(const MaildropLockFileRef& other);
    MaildropLockFileRef(MaildropLockFileRef&& other) noexcept : file_(other.file_) { other.file_ = nullptr; }
    MaildropLockFileRef& operator=(const MaildropLockFileRef&) = delete;
    MaildropLockFileRef& operator=(MaildropLockFileRef&& other) noexcept {
        std::swap(file_, other.file_);  // our old reference goes with `other`
        return *this;
    }
    MaildropLockFile* get() const { return file_; }
    explicit operator bool() const { return file_ != nullptr; }

    // Opens (or joins this process's existing open of) the lock file at `path`, creating it.
    static Result<MaildropLockFileRef> open(const std::string& path);

private:
    explicit MaildropLockFileRef(MaildropLockFile* file) : file_(file) {}
    MaildropLockFile* file_ = nullptr;
};

// The maildrop locks of one store object: opens the shared lock file on first use.
class MaildropLocks {
public:
    explicit MaildropLocks(std::string lock_file_path) : path_(std::move(lock_file_path)) {}
    MaildropLocks(const MaildropLocks&) = delete;
    MaildropLocks& operator=(const MaildropLocks&) = delete;

    // busy if `user`'s maildrop is locked, by this process or another; io_error if the lock
    // file cannot be opened or locked. `address` names the maildrop in the busy message.
    // The lock may outlive this object (and the store).
    Result<std::unique_ptr<MaildropLock>> lock(UserId user, std::string_view address);

    const std::string& path() const { return path_; }

private:
    const std::string path_;
    std::mutex mutex_;          // guards file_
    MaildropLockFileRef file_;  // empty until the first lock() opens it
};

}  // namespace hikyaku::storage
