// group_commit.cpp: the writer thread behind GroupCommitWriter (see group_commit.h).
//
// Must never: acknowledge a job before COMMIT returned; keep a transaction open while the
// queue is empty (other processes wait for our write lock).
#include "storage/group_commit.h"

#include <sqlite3.h>

namespace hikyaku::storage {

GroupCommitWriter::GroupCommitWriter(sqlite::Connection db, std::size_t max_batch, CommitListener on_commit,
                                     IdleWork idle_work)
    : db_(std::move(db)),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      on_commit_(std::move(on_commit)),
      idle_work_(std::move(idle_work)) {
    thread_ = std::thread([this] { run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void GroupCommitWriter::submit(WriteJob job, WriteDone done) {
    auto pending = std::make_unique<Pending>();
    pending->job = std::move(job);
    pending->done = std::move(done);
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(pending));
            work_ready_.notify_one();
            return;
        }
    }
    pending->done(make_error(Errc::io_error, "store is closing"));
}

std::size_t GroupCommitWriter::batches_committed() const {
    std::lock_guard lock(mutex_);
    return batches_;
}

std::size_t GroupCommitWriter::jobs_committed() const {
    std::lock_guard lock(mutex_);
    return jobs_;
}

void GroupCommitWriter::run() {
    std::vector<std::unique_ptr<Pending>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty() || (idle_work_ && idle_work_due_); });
            if (queue_.empty() && stopping_) return;  // stopping and drained
            if (queue_.empty()) {
                // Idle work waits for a quiet moment: no job for kQuietBeforeIdleWork. Under a
                // steady stream of deliveries it waits, and every commit goes first.
                const auto quiet_from = last_batch_ + kQuietBeforeIdleWork;
                if (std::chrono::steady_clock::now() < quiet_from) {
                    work_ready_.wait_until(lock, quiet_from, [&] { return stopping_ || !queue_.empty(); });
                    continue;
                }
                // One step, outside the lock; a failed step waits for the next commit.
                idle_work_due_ = false;
                lock.unlock();
                Result<bool> more = idle_work_(db_);
                lock.lock();
                if (more && *more) idle_work_due_ = true;
                continue;
            }
            while (!queue_.empty() && batch.size() < max_batch_) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        run_batch(batch);
        std::size_t committed = 0;
        std::vector<MailboxChange> changes;
        for (const auto& p : batch) {
            if (p->status.ok()) {
                ++committed;
                changes.insert(changes.end(), p->changes.begin(), p->changes.end());
            }
        }
        // Announce before completing: a caller that delivers and then waits for its own
        // notification must not miss it.
        if (!changes.empty() && on_commit_) on_commit_(changes);
        {
            std::lock_guard lock(mutex_);
            if (committed > 0) {
                ++batches_;
                jobs_ += committed;
                idle_work_due_ = true;
            }
            last_batch_ = std::chrono::steady_clock::now();
        }
        for (const auto& p : batch) p->done(p->status);
        batch.clear();
    }
}

void GroupCommitWriter::run_batch(std::vector<std::unique_ptr<Pending>>& batch) {
    auto fail_all = [&](const Error& e) {
        for (const auto& p : batch) {
            p->status = e;
            p->changes.clear();
        }
    };
    auto txn = sqlite::Transaction::begin(db_, sqlite::Transaction::Kind::write);
    if (!txn) {
        fail_all(txn.error());
        return;
    }
    bool any_ok = false;
    for (const auto& p : batch) {
        if (auto s = db_.exec("SAVEPOINT delivery"); !s) {
            fail_all(s.error());
            return;
        }
        WriteContext context{db_, {}, static_cast<bool>(idle_work_)};
        Status status = p->job(context);
        if (sqlite3_get_autocommit(db_.handle())) {
            // SQLite rolled the whole transaction back (I/O error, disk full): nothing of
            // this batch survives, so nothing of it may be acknowledged.
            Error e = status.ok() ? make_error(Errc::io_error, "store transaction was aborted") : status.error();
            fail_all(e);
            return;
        }
        if (status.ok()) {
            if (auto s = db_.exec("RELEASE delivery"); !s) {
                fail_all(s.error());
                return;
            }
            p->status = Status::success();
            p->changes = std::move(context.changes);
            any_ok = true;
        } else {
            (void)db_.exec("ROLLBACK TO delivery");
            (void)db_.exec("RELEASE delivery");
            p->status = status;
        }
    }
    if (!any_ok) return;  // the Transaction destructor rolls back the empty batch
    if (auto s = txn->commit(); !s) {
        Error e = make_error(s.error().code, "commit failed: " + s.error().message);
        for (const auto& p : batch) {
            if (p->status.ok()) {
                p->status = e;
                p->changes.clear();
            }
        }
    }
}

}  // namespace hikyaku::storage
