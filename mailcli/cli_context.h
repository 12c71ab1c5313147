// cli_context.h: what every mailcli command shares: the global options, the account they
// were merged with, the password asked at most once, the ServerSettings of one protocol,
// and the output of a message and of its attachments (pop and imap print them alike), and
// of a parallel download's failed connections.
// Must never: take a password from argv, print one, or ask for it twice.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "mailcli/accounts.h"
#include "mailcli/parallel_download.h"
#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

struct GlobalOptions {
    std::string accounts_path;
    std::string account;
    std::string host, user, tls, ca;
    int port = 0;
    bool insecure = false, password_stdin = false, trace = false, json = false;
    int timeout = 30;
};

struct Context {
    GlobalOptions g;
    Account account;
    std::string password_cache;
    bool have_password = false;
};

// The settings for `protocol`: flags over the account over the defaults. The password is
// asked when a login first needs it (not from a thread other than main's: see
// with_password_now).
ServerSettings settings_for(Context& ctx, Protocol protocol);
// The same settings with the password asked now and fixed, for settings copied into
// several threads.
ServerSettings with_password_now(const ServerSettings& settings);

// Prints a received message: rendered (headers, text, attachment list; --json: an object
// whose first member is `key`: `number`), or as it is with `raw`.
void print_message(const Context& ctx, std::string_view key, std::uint64_t number, std::string_view message, bool raw);
// Saves the message's attachments into `dir` and says so; `label` names the message.
void save_attachments(const Context& ctx, const std::string& dir, std::string_view message, const std::string& label);

// One line on stderr per connection of a download that failed while others did its work.
void warn_failed_connections(const DownloadReport& report);

// Reads a whole stream or file (at most kMaxInputSize octets; `what` names it in the error).
inline constexpr std::size_t kMaxInputSize = 64 * 1024 * 1024;
std::string read_stream(std::istream& in, const std::string& what, std::size_t max_size = kMaxInputSize);
std::string read_file(const std::string& path, std::size_t max_size = kMaxInputSize);

}  // namespace hikyaku::mailcli
