// imap_download.h: the multithreaded IMAP download (parallel_download.h with IMAP
// connections): each connection logs in, EXAMINEs the mailbox, checks its UIDVALIDITY and
// fetches its batches with one UID FETCH each (RFC 9051 6.4.9, BODY.PEEK[] so \Seen stays
// as it was).
// Must never: share an ImapClient between threads, or store a message of another
// UIDVALIDITY than the one the download was planned with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mailcli/imap_client.h"
#include "mailcli/parallel_download.h"

namespace hikyaku::mailcli {

struct DownloadOptions {
    ServerSettings settings;  // with the password fixed (with_password_now)
    std::string mailbox;
    std::uint32_t uidvalidity = 0;  // the download fails if the mailbox's differs
    unsigned connections = 4;
    bool progress = false;  // draw the bar (on a terminal only)
};

// "1:3,7,9": the compact UID set of ascending UIDs.
std::string uid_set_of(const std::vector<std::uint32_t>& uids);

// Downloads `items` (DownloadItem::uid is the UID); see download_in_parallel.
DownloadReport download_messages(const DownloadOptions& options, const std::vector<DownloadItem>& items,
                                 const StoreMessage& store);

}  // namespace hikyaku::mailcli
