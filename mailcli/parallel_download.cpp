// parallel_download.cpp: N connections downloading disjoint shares of a list of messages
// (see parallel_download.h).
// Must never: lose a batch when a connection fails, or keep a thread waiting once no
// connection is left to finish the work.
#include "mailcli/parallel_download.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

using Clock = std::chrono::steady_clock;

// What the threads share; every member under `mutex` except the progress counters.
struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::vector<DownloadItem>> queue;
    unsigned working = 0;  // threads holding a batch
    unsigned alive = 0;    // threads whose connection still works
    bool stop = false;     // a store failed: everyone stops
    std::exception_ptr store_failure;
    std::vector<std::pair<ExitCode, std::string>> failures;
    std::size_t gone = 0;
    std::atomic<std::size_t> messages{0};
    std::atomic<std::uint64_t> octets{0};
};

std::string format_duration(double seconds) {
    if (seconds < 0 || seconds > 359999) return "--:--";
    const auto s = static_cast<unsigned>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%u:%02u", s / 60, s % 60);
    return buf;
}

// The bar: "[#######.......] 1234/10000 msgs  5.1/40.0 MB  12.3 MB/s  ETA 0:03".
void draw_progress(const Shared& shared, std::size_t total, std::uint64_t total_octets, Clock::time_point start) {
    constexpr std::size_t kBar = 24;
    const std::size_t done = shared.messages.load();
    const std::uint64_t octets = shared.octets.load();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = elapsed > 0 ? static_cast<double>(octets) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_octets > octets ? total_octets - octets : 0) / rate : -1;
    const std::size_t filled = total ? std::min(kBar, done * kBar / total) : kBar;
    std::string bar(filled, '#');
    bar.append(kBar - filled, '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu msgs  %.1f/%.1f MB  %.1f MB/s  ETA %s ", bar.c_str(), done, total,
                 static_cast<double>(octets) / 1e6, static_cast<double>(total_octets) / 1e6, rate / 1e6,
                 format_duration(eta).c_str());
    std::fflush(stderr);
}

// One connection's life: open it, take batches until the queue is empty and no other
// connection may give one back.
void connection_thread(unsigned index, const OpenConnection& open, Shared& shared, const StoreMessage& store) {
    std::unique_ptr<DownloadConnection> connection;
    std::vector<DownloadItem> batch;
    std::set<std::uint32_t> done;
    auto give_back = [&] {
        std::vector<DownloadItem> rest;
        for (const auto& item : batch) {
            if (!done.count(item.uid)) rest.push_back(item);
        }
        if (!rest.empty()) shared.queue.push_front(std::move(rest));
        batch.clear();
    };
    try {
        connection = open(index);
        for (;;) {
            {
                std::unique_lock lock(shared.mutex);
                shared.changed.wait(lock, [&] { return shared.stop || !shared.queue.empty() || shared.working == 0; });
                if (shared.stop || shared.queue.empty()) break;
                batch = std::move(shared.queue.front());
                shared.queue.pop_front();
                ++shared.working;
            }
            done.clear();
            std::vector<std::uint32_t> uids;
            for (const auto& item : batch) uids.push_back(item.uid);
            std::sort(uids.begin(), uids.end());
            try {
                connection->fetch(batch, [&](DownloadedMessage&& m) {
                    if (done.count(m.uid) || !std::binary_search(uids.begin(), uids.end(), m.uid)) return;
                    const std::uint32_t uid = m.uid;
                    const std::size_t size = m.bytes.size();
                    try {
                        store(std::move(m));
                    } catch (...) {
                        std::lock_guard lock(shared.mutex);
                        if (!shared.store_failure) shared.store_failure = std::current_exception();
                        shared.stop = true;
                        shared.changed.notify_all();
                        throw;
                    }
                    done.insert(uid);
                    shared.messages += 1;
                    shared.octets += size;
                });
            } catch (...) {
                std::lock_guard lock(shared.mutex);
                --shared.working;
                give_back();
                shared.changed.notify_all();
                throw;
            }
            std::lock_guard lock(shared.mutex);
            --shared.working;
            shared.gone += batch.size() - done.size();  // the server no longer has them
            batch.clear();
            shared.changed.notify_all();
        }
        connection->finish();
    } catch (const CliError& e) {
        std::lock_guard lock(shared.mutex);
        if (!shared.stop) shared.failures.emplace_back(e.code(), e.what());
    } catch (const std::exception& e) {
        std::lock_guard lock(shared.mutex);
        if (!shared.stop) shared.failures.emplace_back(ExitCode::failure, e.what());
    }
    std::lock_guard lock(shared.mutex);
    --shared.alive;
    shared.changed.notify_all();
}

}  // namespace

std::vector<std::vector<DownloadItem>> make_batches(const std::vector<DownloadItem>& items, unsigned connections) {
    const std::size_t share = (items.size() + std::max(1u, connections) - 1) / std::max(1u, connections);
    const std::size_t most = std::max<std::size_t>(1, std::min(kBatchMessages, share));
    std::vector<std::vector<DownloadItem>> out;
    std::uint64_t octets = 0;
    for (const auto& item : items) {
        if (out.empty() || out.back().size() >= most || octets + item.size > kBatchOctets) {
            out.emplace_back();
            octets = 0;
        }
        out.back().push_back(item);
        octets += item.size;
    }
    return out;
}

DownloadReport download_in_parallel(unsigned connections, bool progress, const OpenConnection& open,
                                    const std::vector<DownloadItem>& items, const StoreMessage& store) {
    DownloadReport report;
    const auto start = Clock::now();
    if (items.empty()) return report;
    Shared shared;
    for (auto& b : make_batches(items, connections)) shared.queue.push_back(std::move(b));
    const unsigned n = std::max(1u, std::min<unsigned>(connections, static_cast<unsigned>(shared.queue.size())));
    std::uint64_t total_octets = 0;
    for (const auto& item : items) total_octets += item.size;
    shared.alive = n;

    std::vector<std::thread> threads;
    for (unsigned i = 0; i < n; ++i) {
        threads.emplace_back([&, i] { connection_thread(i, open, shared, store); });
    }
    // The progress thread: wakes every 200 ms until every connection thread has ended.
    const bool bar = progress && isatty(STDERR_FILENO) == 1;
    std::thread drawing;
    std::mutex progress_mutex;
    std::condition_variable progress_cv;
    bool finished = false;
    if (bar) {
        drawing = std::thread([&] {
            std::unique_lock lock(progress_mutex);
            while (!progress_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished; })) {
                draw_progress(shared, items.size(), total_octets, start);
            }
            draw_progress(shared, items.size(), total_octets, start);
            std::fprintf(stderr, "\n");
        });
    }
    for (auto& t : threads) t.join();
    if (bar) {
        {
            std::lock_guard lock(progress_mutex);
            finished = true;
        }
        progress_cv.notify_all();
        drawing.join();
    }
    report.messages = shared.messages.load();
    report.octets = shared.octets.load();
    report.gone = shared.gone;
    report.connections_failed = static_cast<unsigned>(shared.failures.size());
    for (const auto& f : shared.failures) report.errors.push_back(f.second);
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (shared.store_failure) std::rethrow_exception(shared.store_failure);
    if (!shared.queue.empty()) {
        const auto& first = shared.failures.empty()
                                ? std::pair<ExitCode, std::string>{ExitCode::connection, "no connection"}
                                : shared.failures.front();
        std::size_t left = 0;
        for (const auto& b : shared.queue) left += b.size();
        throw CliError(first.first, first.second + " (all " + std::to_string(n) + " connection" + (n == 1 ? "" : "s") +
                                        " failed; " + std::to_string(report.messages) + " of " +
                                        std::to_string(items.size()) + " messages downloaded, " + std::to_string(left) +
                                        " left; run it again to finish)");
    }
    return report;
}

}  // namespace hikyaku::mailcli
