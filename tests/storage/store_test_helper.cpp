// store_test_helper.cpp: a child process for the store's multi-process tests. It opens the
// store itself (as a daemon would) and reports what the store acknowledged on stdout, one
// line per event, written with write(2) so a SIGKILL never loses an acknowledged line.
//
//   store_test_helper deliver STORE ADDRESS TAG COUNT THREADS   "ack TAG-n UID" per delivery
//   store_test_helper expunge STORE ADDRESS STOPFILE            "expunged UID" per expunged entry
//   store_test_helper listen STORE ADDRESS                      "ready", then "change KIND MAILBOX MODSEQ"
//   store_test_helper lock STORE ADDRESS                        "locked" (or "busy"), holds the maildrop
//                                                               until "r" on stdin ("released") or EOF
//
// Must never: print an ack before deliver() returned; buffer output (the parent may kill it).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"

using namespace hikyaku;
using namespace hikyaku::storage;

namespace {

void say(const std::string& line) {
    std::string out = line + "\n";
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
        ssize_t n = ::write(1, p, left);
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

[[noreturn]] void die(const std::string& message) {
    std::string out = "error " + message + "\n";
    (void)!::write(2, out.data(), out.size());
    std::_Exit(2);
}

std::unique_ptr<Store> open(const char* path) {
    StoreOptions options;
    options.path = path;
    options.argon2_memory_kib = 256;
    options.argon2_iterations = 1;
    options.change_poll_interval = std::chrono::milliseconds(100);
    auto store = open_store(options);
    if (!store) die(store.error().message);
    return std::move(*store);
}

std::string message(const std::string& tag) {
    std::string m = "From: helper@example.org\r\nSubject: " + tag + "\r\nX-Test-Tag: " + tag + "\r\n\r\n";
    while (m.size() < 1024) m += "padding line for " + tag + "\r\n";
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) die("usage: store_test_helper deliver|expunge|listen STORE ADDRESS ...");
    std::string mode = argv[1];
    auto store = open(argv[2]);
    auto user = store->find_user(argv[3]);
    if (!user) die(user.error().message);
    auto inbox = store->inbox(user->id);
    if (!inbox) die(inbox.error().message);

    if (mode == "deliver" && argc == 7) {
        std::string tag = argv[4];
        int count = std::stoi(argv[5]);
        int threads = std::stoi(argv[6]);  // count <= 0: deliver until killed
        std::atomic<int> next{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&] {
                for (;;) {
                    int n = next.fetch_add(1);
                    if (count > 0 && n >= count) return;
                    std::string name = tag + "-" + std::to_string(n);
                    UserId rcpt[] = {user->id};
                    auto r = store->deliver(message(name), rcpt, TimePoint(std::chrono::seconds(1700000000 + n)));
                    if (!r) die("deliver " + name + ": " + r.error().message);
                    say("ack " + name + " " + std::to_string(r->entries[0].uid));
                }
            });
        }
        for (auto& w : workers) w.join();
        return 0;
    }
    if (mode == "expunge" && argc == 5) {
        std::string stop_file = argv[4];
        // Expunges every third entry it sees, again and again, until the stop file appears;
        // then one last pass so the parent's final picture is settled.
        for (bool last = false;;) {
            last = std::filesystem::exists(stop_file);
            UidRange all[] = {{1, kMaxUid}};
            auto entries = store->fetch_entries(inbox->id, all);
            if (!entries) die(entries.error().message);
            std::vector<Uid> victims;
            for (const auto& e : *entries)
                if (e.uid % 3 == 0) victims.push_back(e.uid);
            auto r = store->expunge(inbox->id, victims);
            if (!r) die(r.error().message);
            for (Uid uid : r->expunged) say("expunged " + std::to_string(uid));
            if (last) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    if (mode == "listen" && argc == 4) {
        auto sub = store->subscribe(user->id, [](const MailboxChange& c) {
            const char* kind = c.kind == ChangeKind::appended    ? "appended"
                               : c.kind == ChangeKind::flags     ? "flags"
                               : c.kind == ChangeKind::expunged  ? "expunged"
                               : c.kind == ChangeKind::mailboxes ? "mailboxes"
                                                                 : "unknown";
            say(std::string("change ") + kind + " " + std::to_string(c.mailbox) + " " + std::to_string(c.modseq));
        });
        if (!sub) die(sub.error().message);
        say("ready");
        char buffer[16];
        while (::read(0, buffer, sizeof buffer) > 0) {}  // until the parent closes our stdin
        return 0;
    }
    if (mode == "lock" && argc == 4) {
        auto lock = store->lock_maildrop(user->id);
        if (!lock) {
            say(lock.error().code == Errc::busy ? "busy" : "error " + lock.error().message);
            return 1;
        }
        say("locked");
        char buffer[16];
        ssize_t n;
        while ((n = ::read(0, buffer, sizeof buffer)) > 0) {
            if (*lock && std::memchr(buffer, 'r', static_cast<std::size_t>(n))) {
                lock->reset();
                say("released");
            }
        }
        return 0;
    }
    die("bad arguments");
}
