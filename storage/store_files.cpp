// store_files.cpp: the store's files on disk (see store_files.h).
//
// Must never: grant others access to a file of the store; follow a symbolic link when
// changing an owner or a mode.
#include "storage/store_files.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace hikyaku::storage {

namespace {

// Modes before the umask: owner and group (the service's own group), never others.
constexpr mode_t kStoreFileMode = 0660;
constexpr mode_t kSideFolderMode = 0770;
constexpr mode_t kStoreFolderMode = 0750;  // the folder of the store and missing parents
constexpr mode_t kOthers = S_IRWXO;

Error io_error(const std::string& what, const std::string& path, int err) {
    return make_error(Errc::io_error, what + " " + path + ": " + std::strerror(err));
}

std::string parent_folder(const std::string& path) {
    auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

std::string user_name(uid_t uid) {
    if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
    return std::to_string(uid);
}

std::string group_name(gid_t gid) {
    if (const group* gr = ::getgrgid(gid)) return gr->gr_name;
    return std::to_string(gid);
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// The store file, -wal and -shm, the side folders, and what the side folders hold, for
// walking over all of them; absent ones are left out.
std::vector<std::string> existing_store_paths(const std::string& store_path) {
    std::vector<std::string> paths;
    struct stat st {};
    for (const std::string& p : {store_path, store_path + "-wal", store_path + "-shm"})
        if (::lstat(p.c_str(), &st) == 0) paths.push_back(p);
    for (const std::string& folder :
         {store_locks_folder(store_path), store_notify_folder(store_path), store_spool_folder(store_path)}) {
        if (::lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        paths.push_back(folder);
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
            paths.push_back(entry.path().string());
    }
    return paths;
}

// Fails unless the current process, as its effective user and groups, has `mode` (R_OK,
// W_OK, X_OK) on `path`; the error says what it could not do ("read and write the store
// file"), as whom, who owns the path, and the fix.
Status require_access(const std::string& path, int mode, const std::string& what) {
    if (::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0) return {};
    int err = errno;
    std::string message =
        "cannot " + what + " " + path + " as user " + user_name(::geteuid()) + ": " + std::strerror(err);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0)
        message +=
            " (owner " + user_name(st.st_uid) + ":" + group_name(st.st_gid) + ", mode " + octal_mode(st.st_mode) + ")";
    // init makes what is missing and hands everything over.
    message += "; as root, 'mailctl init' with [server] user set hands the store to that user";
    return make_error(err == ENOENT ? Errc::not_found : Errc::io_error, message);
}

}  // namespace

std::string store_locks_folder(const std::string& store_path) { return store_path + ".locks"; }
std::string store_notify_folder(const std::string& store_path) { return store_path + ".notify"; }
std::string store_spool_folder(const std::string& store_path) { return store_path + ".spool"; }
std::string store_maildrop_lock_file(const std::string& store_path) {
    return store_locks_folder(store_path) + "/maildrops.lock";
}

Result<bool> create_store_folder(const std::string& store_path) {
    std::filesystem::path folder = std::filesystem::path(store_path).parent_path();
    if (folder.empty()) return false;
    // Parents first; each mkdir tolerates a folder made meanwhile by someone else.
    std::filesystem::path partial;
    bool created = false;
    for (const auto& part : folder) {
        partial /= part;
        if (::mkdir(partial.c_str(), kStoreFolderMode) == 0) {
            created = true;
            continue;
        }
        created = false;
        int err = errno;
        struct stat st {};
        if (err != EEXIST) return io_error("cannot create the store folder", partial.string(), err);
        if (::stat(partial.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return make_error(Errc::invalid_argument, "store folder " + partial.string() + " is not a folder");
    }
    return created;
}

Status create_store_file(const std::string& store_path) {
    int fd = ::open(store_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kStoreFileMode);
    if (fd < 0 && errno == EEXIST) return {};  // another mailctl init was quicker
    if (fd < 0) return io_error("cannot create the store", store_path, errno);
    ::close(fd);
    return {};
}

Status create_side_folder(const std::string& folder, const std::string& store_path) {
    if (::mkdir(folder.c_str(), kSideFolderMode) != 0) {
        if (errno == EEXIST) return {};
        return io_error("cannot create", folder, errno);
    }
    struct stat store {};
    if (::geteuid() == 0 && ::stat(store_path.c_str(), &store) == 0 && (store.st_uid != 0 || store.st_gid != 0) &&
        ::lchown(folder.c_str(), store.st_uid, store.st_gid) != 0)
        return io_error("cannot hand over", folder, errno);
    return {};
}

Status restrict_store_modes(const std::string& store_path) {
    for (const auto& path : existing_store_paths(store_path)) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) || (st.st_mode & kOthers) == 0) continue;
        if (::chmod(path.c_str(), st.st_mode & 07777 & ~kOthers) != 0)
            return io_error("cannot take access for others away from", path, errno);
    }
    return {};
}

Status hand_over_store(const std::string& store_path, uid_t uid, gid_t gid, bool with_folder) {
    auto paths = existing_store_paths(store_path);
    if (with_folder) paths.push_back(parent_folder(store_path));
    for (const auto& path : paths)
        if (::lchown(path.c_str(), uid, gid) != 0 && errno != ENOENT) return io_error("cannot hand over", path, errno);
    return {};
}

Status check_store_access(const std::string& store_path) {
    struct stat st {};
    if (::stat(store_path.c_str(), &st) != 0 && errno == ENOENT)
        return make_error(Errc::not_found, "no store at " + store_path + " (create it with: mailctl init)");
    if (auto s = require_access(parent_folder(store_path), X_OK, "enter the store's folder"); !s) return s;
    if (auto s = require_access(store_path, R_OK | W_OK, "read and write the store"); !s) return s;
    // SQLite creates -wal and -shm beside the store when they do not exist.
    if (auto s = require_access(parent_folder(store_path), W_OK | X_OK, "create files in the store's folder"); !s)
        return s;
    for (const std::string& side : {store_path + "-wal", store_path + "-shm"})
        if (::lstat(side.c_str(), &st) == 0)
            if (auto s = require_access(side, R_OK | W_OK, "read and write"); !s) return s;
    if (auto s = require_access(store_locks_folder(store_path), R_OK | W_OK | X_OK, "use the maildrop lock folder"); !s)
        return s;
    std::string lock_file = store_maildrop_lock_file(store_path);
    if (::lstat(lock_file.c_str(), &st) == 0)
        if (auto s = require_access(lock_file, R_OK | W_OK, "read and write the maildrop lock file"); !s) return s;
    if (auto s =
            require_access(store_notify_folder(store_path), R_OK | W_OK | X_OK, "use the change notification folder");
        !s)
        return s;
    std::string spool = store_spool_folder(store_path);
    if (::lstat(spool.c_str(), &st) == 0)
        if (auto s = require_access(spool, W_OK | X_OK, "create files in the message spool folder"); !s) return s;
    return {};
}

}  // namespace hikyaku::storage
