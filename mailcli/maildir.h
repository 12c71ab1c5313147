// maildir.h: where `pop fetch` puts messages: a Maildir (tmp/, new/, cur/; each message
// written to tmp/, synced, then renamed into new/), and the UIDL tracking file that lets
// `fetch --keep` skip messages it already has.
// Must never: leave a partly written message in new/, overwrite an existing file, record
// a UID before its message is safely on disk.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace hikyaku::mailcli {

// Creates dir, dir/tmp, dir/new and dir/cur as needed. CliError(failure) on error.
void maildir_create(const std::string& dir);

// Writes one message; returns the path of the file in new/. CliError(failure) on error.
std::string maildir_deliver(const std::string& dir, std::string_view message);

// The UIDL tracking file inside a Maildir, one UID per line, keyed by account.
std::string uid_state_path(const std::string& dir);
std::set<std::string> load_uid_state(const std::string& path, std::string_view account_key);
// Appends one UID and syncs the file.
void record_uid(const std::string& path, std::string_view account_key, std::string_view uid);

// Writes `data` to dir/name, never replacing a file: "name", then "name-1", "name-2", ...
// before the extension. Returns the path written.
std::string write_new_file(const std::string& dir, const std::string& name, std::string_view data);

}  // namespace hikyaku::mailcli
