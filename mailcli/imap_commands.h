// imap_commands.h: `mailcli imap ...`: the command line of every IMAP command (mailboxes,
// list, read, save, raw, search, flag, move, copy, delete, mkdir, rmdir, rename, append,
// import, export, sync, watch) and what each does, and `send --save-sent`.
// Must never: change a mailbox that a reading command only looks at (those EXAMINE and
// fetch with BODY.PEEK), or print a message's bytes unrendered to a terminal except `raw`.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "mailcli/cli_context.h"

namespace CLI {
class App;
}

namespace hikyaku::mailcli {

class ImapCommands {
public:
    // Adds "imap" and its subcommands to `app`; `ctx` is read when a command runs.
    ImapCommands(CLI::App& app, Context& ctx);
    ~ImapCommands();
    // Runs the imap command that was parsed; nullopt when none was.
    std::optional<int> run();

private:
    struct Options;
    std::unique_ptr<Options> options_;
    Context& ctx_;
};

// Appends a sent message to the account's Sent mailbox (special use \Sent, else one named
// "Sent") with \Seen; returns where it went. CliError when there is none or APPEND fails.
std::string save_sent(Context& ctx, std::string_view message);

}  // namespace hikyaku::mailcli
