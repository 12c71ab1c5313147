// imap_fill: fills one user's INBOX in a hikyaku store quickly for the IMAP workloads of
// bench/compare (issue 13): 100,000 messages through smtpd would take minutes, so the messages
// are appended to the store directly, many in flight at once so that they share commits
// (group commit), the way bench/compare writes Dovecot's side as Maildir files directly.
//
//   imap-fill STORE ADDRESS COUNT SIZE [--seen-every N] [--word-every N]
//
// Message n (from 1) is the same text bench/compare writes for Dovecot (its message_bytes,
// with CRLF line ends): a header naming n and lines of filler; every --word-every-th message
// (default 0: none) carries the word "needle" in its body, for SEARCH TEXT; every
// --seen-every-th (default 0: none) is stored \Seen, for the FLAGS of UID FETCH.
// Prints "filled N messages in S s".
//
// Must never: report a message that was not committed; run against a store a daemon was not
// meant to share (it is the benchmark's temporary store); keep more than kInFlight messages
// in memory.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "storage/message.h"
#include "storage/store.h"

using namespace hikyaku;
using namespace hikyaku::storage;

namespace {

constexpr std::size_t kInFlight = 512;  // appends submitted and not yet committed, at most

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "imap-fill: %s\n", message.c_str());
    std::exit(1);
}

// bench/compare's message_bytes(size, no, to) with CRLF: keep the two in step.
std::string message_text(long size, long no, const std::string& to, bool with_word) {
    std::string head = "From: <bench@bench.test>\r\nTo: <" + to + ">\r\nSubject: hikyaku-bench seeded message " +
                       std::to_string(no) + "\r\nMessage-ID: <seed." + std::to_string(no) +
                       "@bench.test>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n";
    std::string line = "The quick brown fox jumps over the lazy dog; 0123456789 hikyaku bench text.";
    line = line.substr(0, 76) + "\r\n";
    // As compare counts them: the header's length with LF line ends (6 lines).
    long lines = std::max(1L, (size - static_cast<long>(head.size() - 6)) / static_cast<long>(line.size()));
    std::string out = head;
    if (with_word) {
        out += "This one holds the needle word.\r\n";
        --lines;
    }
    for (long i = 0; i < lines; ++i) out += line;
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) die("usage: imap-fill STORE ADDRESS COUNT SIZE [--seen-every N] [--word-every N]");
    std::string path = argv[1], address = argv[2];
    long count = std::atol(argv[3]), size = std::atol(argv[4]);
    long seen_every = 0, word_every = 0;
    for (int i = 5; i + 1 < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--seen-every") seen_every = std::atol(argv[i + 1]);
        else if (key == "--word-every") word_every = std::atol(argv[i + 1]);
        else die("unknown option " + key);
    }
    if (count < 1 || size < 200) die("COUNT must be >= 1 and SIZE >= 200");

    StoreOptions options;
    options.path = path;
    auto opened = open_store(options);
    if (!opened) die(opened.error().message);
    Store& store = **opened;
    auto user = store.find_user(address);
    if (!user) die(address + ": " + user.error().message);
    auto inbox = store.inbox(user->id);
    if (!inbox) die(address + ": " + inbox.error().message);

    // Completions run on the store's writer thread; this thread waits for room in the window.
    std::mutex mutex;
    std::condition_variable room;
    std::size_t in_flight = 0;
    long committed = 0;
    std::string failure;
    // The appends in flight: the store refers to the message, whose raw is a view of `text`.
    struct InFlight {
        std::string text;
        StoredMessage message;
    };
    std::deque<InFlight> window;
    auto date = TimePoint(std::chrono::seconds(1767225600));
    auto t0 = std::chrono::steady_clock::now();
    for (long n = 1; n <= count; ++n) {
        std::string text = message_text(size, n, address, word_every > 0 && n % word_every == 0);
        std::unique_lock lock(mutex);
        room.wait(lock, [&] { return in_flight < kInFlight; });
        if (!failure.empty()) break;
        // The store's one writer commits in submission order: the messages before the last
        // `in_flight` are committed and can go.
        while (window.size() > in_flight) window.pop_front();
        InFlight& entry = window.emplace_back(InFlight{std::move(text), {}});
        ++in_flight;
        lock.unlock();
        entry.message = prepare_message(entry.text);  // deque: `entry` stays put as the window grows
        Flags flags = seen_every > 0 && n % seen_every == 0 ? Flags{flag_seen} : Flags{0};
        store.append_async(inbox->id, entry.message, flags, {}, date, [&](Result<AppendResult> r) {
            std::lock_guard guard(mutex);
            --in_flight;
            if (r) ++committed;
            else if (failure.empty()) failure = r.error().message;
            room.notify_all();
        });
    }
    {
        std::unique_lock lock(mutex);
        room.wait(lock, [&] { return in_flight == 0; });
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!failure.empty()) die("append failed: " + failure);
    std::printf("filled %ld messages in %.1f s\n", committed, seconds);
    return committed == count ? 0 : 1;
}
