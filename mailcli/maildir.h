// maildir.h: where `pop fetch` and `imap export/sync` put messages: a Maildir (tmp/, new/,
// cur/; each message written to tmp/, synced, then linked into new/ or cur/), the UIDL
// tracking file that lets `fetch --keep` skip messages it already has, and for IMAP the
// UID in each file's name (",U=123", as mbsync writes it) with the flags in its info
// (":2,FS", https://cr.yp.to/proto/maildir.html), so the Maildir itself says which UIDs it
// holds: a run killed at any point leaves each message either whole in cur/ or not at all.
// Must never: leave a partly written message in new/, overwrite an existing file, record
// a UID before its message is safely on disk.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::mailcli {

// Creates dir, dir/tmp, dir/new and dir/cur as needed. CliError(failure) on error.
void maildir_create(const std::string& dir);

// Writes one message; returns the path of the file in new/. CliError(failure) on error.
std::string maildir_deliver(const std::string& dir, std::string_view message);

// One message file of a Maildir.
struct MaildirMessage {
    std::string path;       // dir/cur/NAME or dir/new/NAME
    std::string unique;     // NAME without ":2,..." info
    std::uint32_t uid = 0;  // from ",U=N" in the name; 0 when none
    std::string flags;      // the info flags ("FS"), empty in new/
};

// Writes one message into cur/ as "UNIQUE,U=<uid>,S=<size>:2,<flags>" (tmp/, fsync, link:
// thread-safe, never replaces a file). Returns the path.
std::string maildir_store(const std::string& dir, std::string_view message, std::uint32_t uid, std::string_view flags);
// Every message of cur/ and new/ (names starting with '.' are skipped).
std::vector<MaildirMessage> maildir_messages(const std::string& dir);
// The messages that carry a UID, by UID; a second file with the same UID (none is made
// by mailcli) is left out and reported in `duplicates`.
std::map<std::uint32_t, MaildirMessage> maildir_uid_index(const std::string& dir,
                                                          std::vector<MaildirMessage>* duplicates = nullptr);
// Renames a message to carry `flags` (moving it from new/ to cur/ if needed).
void maildir_set_flags(const std::string& dir, MaildirMessage& message, std::string_view flags);
// Removes what a killed run left in tmp/ (files whose names carry ",U="); returns how many.
std::size_t maildir_clean_tmp(const std::string& dir);

// The UIDL tracking file inside a Maildir, one UID per line, keyed by account.
std::string uid_state_path(const std::string& dir);
std::set<std::string> load_uid_state(const std::string& path, std::string_view account_key);
// Appends one UID and syncs the file.
void record_uid(const std::string& path, std::string_view account_key, std::string_view uid);

// Writes `data` to dir/name, never replacing a file: "name", then "name-1", "name-2", ...
// before the extension. Returns the path written.
std::string write_new_file(const std::string& dir, const std::string& name, std::string_view data);

}  // namespace hikyaku::mailcli
