// pop3_download.h: `pop fetch`: every message of a POP3 maildrop into a Maildir, over one
// connection or several in parallel (parallel_download.h). A first session lists the
// maildrop (LIST, UIDL) and marks for deletion what an earlier run already fetched (unless
// --keep); it goes on as the first of N sessions (so it keeps a maildrop lock it holds),
// and the others log in beside it. The N sessions each take disjoint shares, find each
// message by its UIDL in their own numbering (RFC 1939 7: numbers are per session,
// unique-ids are not), RETR it, store it, record its UIDL, and (without --keep) DELE it;
// each session's QUIT commits its deletions (RFC 1939 6). A server that locks the maildrop (RFC 1939 8) admits one of
// them: the others fail at login ([IN-USE], RFC 2449 8.1.2) and the one that got in does
// all the work. Without UIDL only one connection is used (numbers then identify messages).
// Must never: delete a message before it is safely in the Maildir and its UIDL recorded,
// or store one message twice in one run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "mailcli/parallel_download.h"
#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

struct PopFetchOptions {
    ServerSettings settings;  // with the password fixed (with_password_now)
    std::string maildir;
    bool keep = false;  // leave the messages on the server
    unsigned connections = 1;
    bool progress = false;  // draw the bar (on a terminal only)
};

struct PopFetchResult {
    std::size_t skipped = 0;         // fetched by an earlier run (their UIDL is recorded)
    std::size_t deleted = 0;         // deletions the server committed (at a successful QUIT)
    unsigned connections = 1;        // how many were used
    std::vector<std::string> files;  // the new files, in the order they were stored
    DownloadReport download;
};

// Throws CliError (fetch --keep without UIDL: protocol; see download_in_parallel).
PopFetchResult fetch_maildrop(const PopFetchOptions& options);

}  // namespace hikyaku::mailcli
