// queue_commands.h: `mailctl queue ...`, the outbound queue as an administrator sees it and
// acts on it (storage/queue.h), like Postfix's mailq, postqueue -f and postsuper -d/-h/-H:
//
//   mailctl -c CONF queue list [--json]   one entry per queued recipient: id, sender,
//                                         recipient, attempts, next try, last reply
//   mailctl -c CONF queue show ID [--json]
//   mailctl -c CONF queue retry [ID]      due now (every entry not held without ID)
//   mailctl -c CONF queue delete ID       removed without a bounce
//   mailctl -c CONF queue hold ID         never tried until released
//   mailctl -c CONF queue release ID
//
// Every change is one store write; deliverd hears of it on the change feed at once.
// Must never: act on an entry other than the one named; print a message's body.
#pragma once

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace hikyaku::storage {
class Store;
}

namespace hikyaku::mailctl {

struct QueueCommands {
    CLI::App* queue = nullptr;
    CLI::App* list = nullptr;
    CLI::App* show = nullptr;
    CLI::App* retry = nullptr;
    CLI::App* remove = nullptr;
    CLI::App* hold = nullptr;
    CLI::App* release = nullptr;
    bool json = false;
    std::string id;

    bool parsed() const;
};

// Adds `queue` and its subcommands to mailctl's command line.
void add_queue_commands(CLI::App& app, QueueCommands& commands);
// Runs the one that was given; the exit code (0, or 1 with "mailctl: ..." on `err`).
int run_queue_command(const QueueCommands& commands, storage::Store& store, std::ostream& out, std::ostream& err);

}  // namespace hikyaku::mailctl
