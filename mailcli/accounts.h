// accounts.h: mailcli's accounts file (TOML, $XDG_CONFIG_HOME/hikyaku/mailcli.toml by
// default) and how flags override it, and where passwords come from.
//
//   default = "work"                 # optional: the account used without --account
//   [accounts.work]
//   host = "mail.example.com"
//   user = "me@example.com"
//   from = "Me <me@example.com>"     # optional, default: user
//   tls = "starttls"                 # starttls (default), tls, none
//   smtp_port = 587                  # defaults: 587 / 465 with tls / 25 with none
//   pop3_port = 110                  # defaults: 110 / 995 with tls
//   imap_port = 143                  # defaults: 143 / 993 with tls (for mailcli imap, next)
//   ca = "/path/to/cert.pem"         # optional; insecure = true skips verification
//   password_command = "pass show mail/work"
//
// Documented for users in the README and mailcli(1). Every key of the file is one of those
// above: an unknown key (a typo such as "smtp-port") is an error naming the file, the line
// and the key, never silently ignored.
// Must never: take a password from the command line or from the accounts file itself,
// print one, or silently ignore an unknown TLS mode or key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

struct Account {
    std::string name;
    std::string host;
    std::string user;
    std::string from;
    TlsMode tls = TlsMode::starttls;
    std::optional<std::uint16_t> smtp_port, pop3_port, imap_port;
    std::string ca;
    bool insecure = false;
    std::string password_command;
};

// The default path of the accounts file ($XDG_CONFIG_HOME or ~/.config).
std::string default_accounts_path();

// Loads account `name` (empty: the file's default, or its only account) from the TOML text.
// CliError(usage) on a syntax error, an unknown key (in any account), an unknown account or
// a bad value; messages start with "ORIGIN:LINE:" where a line is known.
Account parse_account(std::string_view toml_text, const std::string& name, const std::string& origin);

// Loads from a file; a missing default file gives an empty account (flags may suffice),
// a missing explicit file is an error.
Account load_account(const std::string& path, bool explicit_path, const std::string& name);

// "starttls" | "tls" | "none" → TlsMode; CliError(usage) otherwise.
TlsMode parse_tls_mode(std::string_view text);

enum class Protocol { smtp, pop3, imap };
std::uint16_t default_port(Protocol protocol, TlsMode tls);

// Runs `command` with /bin/sh and returns its first output line. CliError(auth) on failure.
std::string run_password_command(const std::string& command);
// Reads one line from stdin (the --password-stdin form).
std::string read_password_stdin();
// Asks on the terminal without echo. CliError(auth) when there is no terminal.
std::string prompt_password(const std::string& prompt);

}  // namespace hikyaku::mailcli
