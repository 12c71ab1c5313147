// store_files.h: the store's files on disk: where they are, their modes, who owns them.
//
// A store is the SQLite file PATH, SQLite's PATH-wal and PATH-shm beside it, PATH.locks/
// (maildrops.lock, see maildrop_locks.h), PATH.notify/ (one datagram socket per listening
// process, see change_notifier.h) and PATH.spool/ (the daemons' messages in flight, in
// unlinked files, see common/server/message_spool.h). They hold mail and password hashes.
//
// Must never: create any of them with access for others, whatever the umask (files are
// created 0660 and folders 0770, minus the umask, so others get nothing; SQLite gives -wal
// and -shm the mode and owner of the store file); leave a folder beside a store owned by
// root when the store belongs to someone else (a daemon opens the store as root before it
// drops privileges); follow a symbolic link when handing files over.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace hikyaku::storage {

std::string store_locks_folder(const std::string& store_path);        // PATH.locks
std::string store_notify_folder(const std::string& store_path);       // PATH.notify
std::string store_spool_folder(const std::string& store_path);        // PATH.spool
std::string store_maildrop_lock_file(const std::string& store_path);  // PATH.locks/maildrops.lock

// Creates the folder that holds the store and any missing parent, each 0750 minus the umask
// (mailctl init: "/var/lib/hikyaku" may not exist yet). True when it created the store's own
// folder, which hand_over_store may then hand over with the store.
Result<bool> create_store_folder(const std::string& store_path);

// Creates the store file, empty (SQLite takes an empty file as an empty database), 0660 minus
// the umask. Leaves whatever exists at the path as it is.
Status create_store_file(const std::string& store_path);

// Creates a folder beside the store (PATH.locks, PATH.notify, PATH.spool) unless it exists:
// 0770 minus the umask. Run by root for a store that belongs to another user, it hands the new folder to
// the store's owner and group, as SQLite does for -wal and -shm.
Status create_side_folder(const std::string& folder, const std::string& store_path);

// Takes every access for others away from the store's files and folders and what is in the
// folders (stores made before the modes above were world-readable). mailctl init runs it.
Status restrict_store_modes(const std::string& store_path);

// Hands the store to uid:gid: the file, -wal and -shm where they exist, the side folders
// and what is in them, and, with `with_folder`, the folder holding the store. Root only
// (mailctl init with [server] user); symbolic links are changed, never followed.
Status hand_over_store(const std::string& store_path, uid_t uid, gid_t gid, bool with_folder);

// Whether this process, as its effective user and groups, can serve mail from the store: read
// and write the store file (and -wal and -shm where they exist), create files in its folder
// (SQLite creates -wal and -shm there), and use the side folders and the maildrop lock file
// (the spool folder only where it exists: mailctl makes none).
// A daemon calls it after dropping privileges. The error names the path, what is missing, the
// user, the path's owner and mode, and the fix.
Status check_store_access(const std::string& store_path);

}  // namespace hikyaku::storage
