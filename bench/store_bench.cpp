// store_bench: how fast the mailbox store acknowledges durable deliveries, beside how fast
// the filesystem under it can fsync (issue 3: deliveries per second with 1 and 16
// concurrent writers versus fsyncs per second). Output: "name value unit" lines.
//
//   store_bench [--dir DIR] [--seconds S]
//
// DIR (default: a new directory under $TMPDIR) should be on the filesystem the production
// store lives on. Each delivery is a 4 KB message to one mailbox, acknowledged only after
// its synchronous=FULL commit, exactly as smtpd uses the store.
//
// Must never: report a delivery that failed; measure anything but durable commits; leave
// its files behind.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_store.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "store_bench: %s\n", message.c_str());
    std::exit(1);
}

std::string message_4k(int n) {
    std::string m = "From: bench@example.org\r\nTo: alice@example.com\r\nSubject: bench " + std::to_string(n) +
                    "\r\nMessage-ID: <" + std::to_string(n) + "@bench.example.org>\r\n\r\n";
    while (m.size() < 4096 - 2) m += std::string(std::min<std::size_t>(76, 4096 - 2 - m.size()), 'x') + "\r\n";
    m.resize(4096);
    return m;
}

// 4 KB write + fsync, repeated for `seconds`: appending (the file grows, so each fsync also
// commits filesystem metadata), or overwriting one block with fdatasync (what SQLite does
// to a recycled WAL file), the cheapest durable write the disk offers.
double fsyncs_per_second(const std::string& dir, double seconds, bool overwrite) {
    std::string path = dir + "/fsync-probe";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die("cannot create " + path + ": " + std::strerror(errno));
    std::string block(4096, 'f');
    auto start = Clock::now();
    long count = 0;
    double elapsed = 0;
    do {
        ssize_t written =
            overwrite ? ::pwrite(fd, block.data(), block.size(), 0) : ::write(fd, block.data(), block.size());
        if (written != static_cast<ssize_t>(block.size())) die("write failed");
        if ((overwrite ? ::fdatasync(fd) : ::fsync(fd)) != 0) die(std::string("fsync failed: ") + std::strerror(errno));
        ++count;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds);
    ::close(fd);
    ::unlink(path.c_str());
    return static_cast<double>(count) / elapsed;
}

struct DeliveryRun {
    double per_second = 0;
    double per_commit = 0;
};

DeliveryRun deliveries(SqliteStore& store, UserId user, int writers, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<long> delivered{0};
    std::atomic<int> next{0};
    std::size_t batches_before = store.batches_committed();
    std::size_t jobs_before = store.jobs_committed();
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&] {
            UserId rcpt[] = {user};
            while (!stop.load()) {
                std::string raw = message_4k(next.fetch_add(1));
                auto r = store.deliver(raw, rcpt, TimePoint(std::chrono::seconds(1700000000)));
                if (!r) die("delivery failed: " + r.error().message);
                delivered.fetch_add(1);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    DeliveryRun run;
    run.per_second = static_cast<double>(delivered.load()) / elapsed;
    std::size_t batches = store.batches_committed() - batches_before;
    std::size_t jobs = store.jobs_committed() - jobs_before;
    run.per_commit = batches ? static_cast<double>(jobs) / static_cast<double>(batches) : 0;
    return run;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    double seconds = 5;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
        else if (a == "--help") {
            std::puts("usage: store_bench [--dir DIR] [--seconds S]");
            return 0;
        } else die("unknown argument " + a + " (see --help)");
    }
    bool own_dir = dir.empty();
    if (own_dir) {
        std::string pattern = (std::filesystem::temp_directory_path() / "hikyaku-store-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) die("cannot create a temporary directory");
        dir = pattern;
    }

    std::printf("fsync_4k %.1f fsyncs/s\n", fsyncs_per_second(dir, seconds, false));
    std::printf("fdatasync_4k_overwrite %.1f fsyncs/s\n", fsyncs_per_second(dir, seconds, true));
    std::fflush(stdout);

    for (int writers : {1, 16}) {
        std::string path = dir + "/bench-" + std::to_string(writers) + ".db";
        StoreOptions options;
        options.path = path;
        options.create = true;
        options.argon2_memory_kib = 1024;  // the user's password is not what is measured
        options.argon2_iterations = 1;
        auto opened = SqliteStore::open(options);
        if (!opened) die(opened.error().message);
        auto& store = **opened;
        if (auto s = store.add_domain("example.com"); !s) die(s.error().message);
        auto user = store.add_user("alice@example.com", "bench password");
        if (!user) die(user.error().message);
        auto run = deliveries(store, user->id, writers, seconds);
        std::printf("store_deliveries_4k_%d_writer%s %.1f deliveries/s\n", writers, writers == 1 ? "" : "s",
                    run.per_second);
        std::printf("store_deliveries_per_commit_%d_writer%s %.2f deliveries/commit\n", writers,
                    writers == 1 ? "" : "s", run.per_commit);
        std::fflush(stdout);
        opened->reset();
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
        std::filesystem::remove_all(path + ".notify");
        std::filesystem::remove_all(path + ".locks");
    }
    if (own_dir) std::filesystem::remove_all(dir);
    return 0;
}
