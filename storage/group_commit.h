// group_commit.h: the one writer thread of a store in this process, which batches
// concurrent write jobs into one durable SQLite transaction (group commit).
//
// Each job runs inside its own SAVEPOINT: a job that fails is rolled back alone and the
// others of the batch still commit. A job's completion runs on the writer thread only after
// COMMIT (with synchronous=FULL) has returned, so an acknowledged write is on disk, while N
// concurrent deliveries cost one fsync instead of N. Nobody waits for a commit: submit()
// returns at once, so a batch takes every job queued while the previous one committed (up to
// max_batch), however many sessions submitted them.
//
// Idle work (optional): when no job has come for kQuietBeforeIdleWork and the last batch may
// have left some, the writer runs one step of it (the full-text index of new messages,
// sqlite_store.cpp) and then looks at the queue again, so a job waits behind one short step
// at most, and a steady stream of jobs is never slowed by it.
//
// Must never: report success for a job whose batch did not commit; run a job outside a
// transaction; let one job see another's rolled-back changes; run a completion while holding
// its lock (a completion may submit again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace hikyaku::storage {

// What a write job may touch: the writer's connection, inside the batch transaction, and
// the list of changes to announce once the batch is durable.
struct WriteContext {
    sqlite::Connection& db;
    std::vector<MailboxChange> changes;
    // New messages go to the full-text index later, in the writer's idle time (set when the
    // writer has idle work), not in the job's transaction.
    bool index_text_later = false;
};

using WriteJob = std::function<Status(WriteContext&)>;
// Runs once, on the writer thread, after the job's batch committed (or failed).
using WriteDone = std::function<void(Status)>;

class GroupCommitWriter {
public:
    static constexpr std::chrono::milliseconds kQuietBeforeIdleWork{100};
    using CommitListener = std::function<void(const std::vector<MailboxChange>&)>;
    // One step of idle work in its own transaction; true if more remains.
    using IdleWork = std::function<Result<bool>(sqlite::Connection&)>;

    GroupCommitWriter(sqlite::Connection db, std::size_t max_batch, CommitListener on_commit, IdleWork idle_work = {});
    ~GroupCommitWriter();  // finishes queued jobs, then stops
    GroupCommitWriter(const GroupCommitWriter&) = delete;
    GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

    // Queues `job` for the next batch and returns; `done` runs when the batch is durable or
    // has failed (at once, with io_error, if the writer is stopping).
    void submit(WriteJob job, WriteDone done);

    // Counters for the benchmark and tests: batches committed, jobs committed.
    std::size_t batches_committed() const;
    std::size_t jobs_committed() const;

private:
    struct Pending {
        WriteJob job;
        WriteDone done;
        Status status;
        std::vector<MailboxChange> changes;
    };

    void run();
    void run_batch(std::vector<std::unique_ptr<Pending>>& batch);

    sqlite::Connection db_;
    std::size_t max_batch_;
    CommitListener on_commit_;
    IdleWork idle_work_;

    mutable std::mutex mutex_;
    std::condition_variable work_ready_;
    std::deque<std::unique_ptr<Pending>> queue_;
    bool stopping_ = false;
    bool idle_work_due_ = true;                           // at start, and after every committed batch
    std::chrono::steady_clock::time_point last_batch_{};  // when the last batch ended
    std::size_t batches_ = 0;
    std::size_t jobs_ = 0;
    std::thread thread_;
};

}  // namespace hikyaku::storage
