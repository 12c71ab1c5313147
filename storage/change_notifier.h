// change_notifier.h: tells other processes (and this one) that mailboxes changed, and
// runs the subscribers' callbacks when they hear of it. One per open store.
//
// Mechanism: every process that subscribes binds a Unix datagram socket in the directory
// "<store>.notify/"; after each durable commit the writer sends one short text datagram
// ("appended user=3 mailbox=7 modseq=42" lines) to every socket there. A stale socket (its
// process died) refuses the datagram and is removed. As a fallback for datagrams lost to a
// full queue or an unusable directory, the listener polls PRAGMA data_version every
// poll interval and reports ChangeKind::unknown when the store changed but no datagram
// arrived in that interval or the next.
//
// Must never: block the writer (sends are non-blocking, losses fall back to the poll);
// run a callback after its subscription's destructor returned; start a thread in a process
// that never subscribes (mailctl).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace hikyaku::storage {

class ChangeNotifier {
public:
    ChangeNotifier(std::string store_path, std::string socket_dir, std::chrono::milliseconds poll_interval,
                   std::chrono::milliseconds busy_timeout);
    ~ChangeNotifier();
    ChangeNotifier(const ChangeNotifier&) = delete;
    ChangeNotifier& operator=(const ChangeNotifier&) = delete;

    // Sends the changes to every listening process, this one included.
    void publish(const std::vector<MailboxChange>& changes);

    Result<std::unique_ptr<ChangeSubscription>> subscribe(UserId user, ChangeCallback callback);

    // Text form of one change, and its parser (hostile-input safe: the socket directory is
    // writable by every process of the suite).
    static std::string format(const MailboxChange& change);
    static std::optional<MailboxChange> parse(std::string_view line);

private:
    class Subscription;
    struct Subscriber {
        UserId user;
        ChangeCallback callback;
    };
    // Shared with the Subscription objects, so a subscription that outlives the store
    // (a daemon tearing down in any order) unregisters safely.
    struct Registry {
        std::mutex mutex;           // subscribers, next_id
        std::mutex dispatch_mutex;  // held while callbacks run
        std::map<std::uint64_t, Subscriber> subscribers;
        std::uint64_t next_id = 1;
        std::atomic<std::thread::id> listener_thread_id{};
        void remove(std::uint64_t id);
    };

    Status start_listener();  // under registry_->mutex
    // `db` and its data_version are read before subscribe() returns, so a change committed
    // right after subscribing is never mistaken for the starting point.
    void listen_loop(Result<sqlite::Connection> db, std::int64_t data_version);
    void dispatch(const MailboxChange& change);

    std::string store_path_;
    std::string socket_dir_;
    std::chrono::milliseconds poll_interval_;
    std::chrono::milliseconds busy_timeout_;

    int send_fd_ = -1;
    std::mutex send_mutex_;

    std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
    bool listening_ = false;  // under registry_->mutex
    int listen_fd_ = -1;
    int wake_pipe_[2] = {-1, -1};
    std::string socket_path_;
    std::thread thread_;
};

}  // namespace hikyaku::storage
