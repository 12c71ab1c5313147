// parallel_download.h: the multithreaded client, protocol-blind: downloads a list of
// messages over N connections at once. Each of N threads opens its own connection (its
// own session and login, through a DownloadConnection the protocol module supplies) and
// takes disjoint shares of the items (batches of consecutive ones) from one queue until
// none are left; each message is handed to a store function on the thread that fetched
// it. When a connection fails, the part of its batch it did not finish goes back to the
// queue and another connection takes it; the download fails only when every connection
// has failed (or the store fails: a local error, such as a full disk, stops all). One more
// thread draws a progress bar on stderr when it is a terminal (messages, MB, MB/s, ETA).
// IMAP (imap_download.h) and POP3 (pop3_download.h) run on it.
//
// Must never: hand an item to two connections at once, store a message twice, share a
// connection between threads, or wait on a thread after the work is done or lost.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hikyaku::mailcli {

// How many connections `--connections` may ask for.
inline constexpr unsigned kMaxConnections = 32;
// A batch holds at most this many messages or about this many octets.
inline constexpr std::size_t kBatchMessages = 100;
inline constexpr std::uint64_t kBatchOctets = 8 * 1024 * 1024;

struct DownloadItem {
    std::uint32_t uid = 0;   // the protocol module's key: an IMAP UID, a POP3 message number
    std::uint64_t size = 0;  // as the server gave it, for batching and the progress bar
};

struct DownloadedMessage {
    std::uint32_t uid = 0;
    std::vector<std::string> flags;
    std::string internal_date;
    std::string bytes;
};

using StoreMessage = std::function<void(DownloadedMessage&&)>;

// One connection of a download, used by one thread only.
class DownloadConnection {
public:
    virtual ~DownloadConnection() = default;
    // Fetches `batch`, handing each message to `deliver` as it arrives; an item the server
    // no longer has is simply not delivered. Throws CliError when the connection fails;
    // whatever `deliver` throws passes through.
    virtual void fetch(const std::vector<DownloadItem>& batch, const StoreMessage& deliver) = 0;
    // Ends the session cleanly once no batch is left for it (LOGOUT, QUIT).
    virtual void finish() = 0;
};

// Opens connection number `index` (0..N-1) and logs in. Throws CliError.
using OpenConnection = std::function<std::unique_ptr<DownloadConnection>(unsigned index)>;

struct DownloadReport {
    std::size_t messages = 0;
    std::uint64_t octets = 0;
    std::size_t gone = 0;  // items the server no longer had (expunged meanwhile)
    unsigned connections_failed = 0;
    std::vector<std::string> errors;  // one line per failed connection
    double seconds = 0;
};

// Batches of consecutive items (in the order given), each within kBatchMessages and
// kBatchOctets (a single larger message is a batch of its own), and of at most
// ceil(items / connections) messages, so that every connection gets a share.
std::vector<std::vector<DownloadItem>> make_batches(const std::vector<DownloadItem>& items, unsigned connections = 1);

// Downloads `items` over min(connections, batches) connections; `store` runs on the
// downloading threads, concurrently, and must be thread-safe. `progress`: draw the bar
// (on a terminal only). Throws CliError when every connection failed (the first error's
// code and message, with the count) or when `store` threw (that error).
DownloadReport download_in_parallel(unsigned connections, bool progress, const OpenConnection& open,
                                    const std::vector<DownloadItem>& items, const StoreMessage& store);

}  // namespace hikyaku::mailcli
