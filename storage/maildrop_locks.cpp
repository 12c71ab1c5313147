// maildrop_locks.cpp: one lock file per store, one record-locked byte per maildrop (the
// mechanism, and why it is not flock() per user nor OFD locks, is in maildrop_locks.h).
//
// Must never: close a descriptor of a lock file while this process may hold a lock on it,
// including a descriptor opened by mistake twice (it stays open instead); close outside the
// table mutex (a concurrent open could lock through a new descriptor and lose it).
#include "storage/maildrop_locks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <compare>
#include <cstring>
#include <map>
#include <set>
#include <vector>

namespace hikyaku::storage {

static_assert(sizeof(off_t) >= sizeof(UserId), "a user id must fit a file offset");

namespace {

struct FileKey {
    dev_t device = 0;
    ino_t inode = 0;
    auto operator<=>(const FileKey&) const = default;
};

}  // namespace

// The state of one lock file in this process: its one descriptor and which users this
// process holds. `references` and `extra_fds` belong to the table (guarded by its mutex).
class MaildropLockFile {
public:
    MaildropLockFile(int fd, FileKey key, std::string path) : fd_(fd), key_(key), path_(std::move(path)) {}
    ~MaildropLockFile() {
        ::close(fd_);
        for (int fd : extra_fds) ::close(fd);
    }
    MaildropLockFile(const MaildropLockFile&) = delete;
    MaildropLockFile& operator=(const MaildropLockFile&) = delete;

    Status lock(UserId user, std::string_view address);
    void unlock(UserId user);
    FileKey key() const { return key_; }

    std::size_t references = 0;
    std::vector<int> extra_fds;  // the same file opened again by a race; closed with fd_

private:
    const int fd_;
    const FileKey key_;
    const std::string path_;
    std::mutex mutex_;       // guards held_ and orders F_SETLK/F_UNLCK with it
    std::set<UserId> held_;  // users this process holds (record locks don't exclude within it)
};

namespace {

// Every lock file this process has open, by device and inode. This is process-wide mutable
// state because record locks are process-wide: two store objects on one store must share
// one descriptor and one registry. An entry lives while references to it exist (store
// objects that locked something, held locks); the last reference removes and closes it.
struct LockFileTable {
    std::mutex mutex;
    std::map<FileKey, MaildropLockFile*> files;
};

LockFileTable& lock_file_table() {
    // Never destroyed: a store (or a held lock) in a static may release during exit.
    static auto* table = new LockFileTable;
    return *table;
}

// F_SETLK on the byte of `user`; 0 or the errno.
int set_record_lock(int fd, short type, UserId user) {
    struct flock range {};
    range.l_type = type;
    range.l_whence = SEEK_SET;
    range.l_start = static_cast<off_t>(user);
    range.l_len = 1;
    int result;
    do {
        result = ::fcntl(fd, F_SETLK, &range);
    } while (result != 0 && errno == EINTR);
    return result == 0 ? 0 : errno;
}

class HeldMaildrop final : public MaildropLock {
public:
    HeldMaildrop(MaildropLockFileRef file, UserId user) : file_(std::move(file)), user_(user) {}
    ~HeldMaildrop() override { file_.get()->unlock(user_); }  // then file_ lets go of the file

private:
    MaildropLockFileRef file_;
    UserId user_;
};

}  // namespace

Status MaildropLockFile::lock(UserId user, std::string_view address) {
    std::lock_guard guard(mutex_);
    auto busy = [&] {
        return make_error(Errc::busy, "maildrop of " + std::string(address) + " is already locked by another session");
    };
    auto [it, inserted] = held_.insert(user);
    if (!inserted) return busy();  // a session of this process holds it
    int err = set_record_lock(fd_, F_WRLCK, user);
    if (err == 0) return {};
    held_.erase(it);
    if (err == EACCES || err == EAGAIN) return busy();  // another process holds it
    return make_error(Errc::io_error,
                      "cannot lock maildrop " + std::to_string(user) + " in " + path_ + ": " + std::strerror(err));
}

void MaildropLockFile::unlock(UserId user) {
    std::lock_guard guard(mutex_);
    // Unlock first, then forget: while the id is in held_ no thread of this process can take
    // the byte, so this F_UNLCK never drops another session's lock. F_UNLCK can fail only
    // with ENOLCK (splitting a merged range needs a record the kernel could not allocate);
    // then other processes see the maildrop busy until this process locks it again or exits,
    // which is the safe side. There is no caller to tell: this runs in a destructor.
    (void)set_record_lock(fd_, F_UNLCK, user);
    held_.erase(user);
}

MaildropLockFileRef::~MaildropLockFileRef() {
    if (!file_) return;
    auto& table = lock_file_table();
    std::lock_guard guard(table.mutex);
    if (--file_->references > 0) return;
    table.files.erase(file_->key());
    delete file_;  // closes under the table mutex: no open() of the same file can interleave
}

MaildropLockFileRef::MaildropLockFileRef(const MaildropLockFileRef& other) : file_(other.file_) {
    if (!file_) return;
    auto& table = lock_file_table();
    std::lock_guard guard(table.mutex);
    ++file_->references;
}

Result<MaildropLockFileRef> MaildropLockFileRef::open(const std::string& path) {
    auto& table = lock_file_table();
    std::lock_guard guard(table.mutex);
    // Join this process's open of the file if there is one. stat(), not open(): a second
    // open would be harmless only as long as it is never closed.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        auto it = table.files.find(FileKey{st.st_dev, st.st_ino});
        if (it != table.files.end()) {
            ++it->second->references;
            return MaildropLockFileRef(it->second);
        }
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0) return make_error(Errc::io_error, "cannot open maildrop lock " + path + ": " + std::strerror(errno));
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        // Not closed: without its identity we cannot tell whether it names a file this
        // process holds locks on. (fstat of a descriptor just opened does not fail on Linux.)
        return make_error(Errc::io_error, "cannot stat maildrop lock " + path + ": " + std::strerror(err));
    }
    FileKey key{st.st_dev, st.st_ino};
    if (auto it = table.files.find(key); it != table.files.end()) {
        // The path was created or replaced between stat() and open() and now names a file
        // this process already has open. Closing this descriptor would drop every lock held
        // through the other one, so it stays open as long as that one.
        it->second->extra_fds.push_back(fd);
        ++it->second->references;
        return MaildropLockFileRef(it->second);
    }
    auto* file = new MaildropLockFile(fd, key, path);
    file->references = 1;
    table.files.emplace(key, file);
    return MaildropLockFileRef(file);
}

Result<std::unique_ptr<MaildropLock>> MaildropLocks::lock(UserId user, std::string_view address) {
    if (user < 0) return make_error(Errc::invalid_argument, "bad user id " + std::to_string(user));
    MaildropLockFileRef file;
    {
        std::lock_guard guard(mutex_);
        if (!file_) {
            auto opened = MaildropLockFileRef::open(path_);
            if (!opened) return opened.error();
            file_ = std::move(*opened);
        }
        file = MaildropLockFileRef(file_);
    }
    auto locked = file.get()->lock(user, address);
    if (!locked) return locked.error();
    return std::unique_ptr<MaildropLock>(std::make_unique<HeldMaildrop>(std::move(file), user));
}

}  // namespace hikyaku::storage
