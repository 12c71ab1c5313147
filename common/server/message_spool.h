// message_spool.h: where a message lives while it arrives (SMTP DATA and BDAT, IMAP APPEND),
// with the total a process holds bounded.
//
// A message starts in memory; past memory_threshold, or when the process's memory_budget for
// messages in flight is used up, it moves to an unlinked file in the spool directory (beside
// the store, so on the mail disk, not in RAM) and is read back through a read-only mapping:
// page cache the kernel can drop, not heap that stays with the process. The bytes on disk for
// messages in flight are bounded by disk_budget; past it a message fails and the protocol
// answers with its temporary error (SMTP 452 4.3.1, IMAP NO [LIMIT]). Room for the trace
// headers is kept before the content, so adding them never copies the message: the peak is
// one copy of the message plus a fixed overhead.
// Appends write to the page cache on the caller's thread (no fsync: a message in flight is
// not acknowledged; the store makes it durable).
// Must never: hold more than the budgets; leave a file behind (files are unlinked at birth).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hikyaku::server {

struct SpoolSettings {
    std::string directory;                       // "<store>.spool"; created at start
    std::size_t memory_threshold = 1024 * 1024;  // a larger message moves to a file
    std::uint64_t memory_budget = 256ull << 20;  // in memory, all messages of the process
    std::uint64_t disk_budget = 8ull << 30;      // on disk, all messages of the process
};

class IncomingMessage;

class MessageSpool {
public:
    explicit MessageSpool(SpoolSettings settings);
    // Creates the directory (0700) if missing and checks that a file can be made in it.
    Status prepare();
    // A new message with `prefix_room` bytes kept before its content for trace headers.
    std::unique_ptr<IncomingMessage> begin(std::size_t prefix_room);

    const SpoolSettings& settings() const { return settings_; }
    std::uint64_t memory_in_use() const { return memory_in_use_.load(); }
    std::uint64_t disk_in_use() const { return disk_in_use_.load(); }

private:
    friend class IncomingMessage;
    bool reserve(std::atomic<std::uint64_t>& counter, std::uint64_t budget, std::uint64_t bytes);
    SpoolSettings settings_;
    std::atomic<std::uint64_t> memory_in_use_{0};
    std::atomic<std::uint64_t> disk_in_use_{0};
};

class IncomingMessage {
public:
    IncomingMessage(MessageSpool& spool, std::size_t prefix_room);
    ~IncomingMessage();
    IncomingMessage(const IncomingMessage&) = delete;
    IncomingMessage& operator=(const IncomingMessage&) = delete;

    // Adds content. After a failure (budget, disk) the message is unusable and further
    // appends are ignored; failed() tells, finish() reports why.
    void append(std::string_view bytes);
    bool failed() const { return failure_.has_value(); }
    std::uint64_t size() const { return size_; }
    bool on_disk() const { return fd_ >= 0; }
    // Ends the message: its content as one view, valid while this object lives (a mapping
    // of the file when spooled). Call once, after the last append.
    Result<std::string_view> finish();
    // After finish(): writes `prefix` (at most prefix_room bytes) just before the content and
    // returns prefix and content as one view. Call at most once.
    Result<std::string_view> prepend(std::string_view prefix);

private:
    void move_to_file();
    void fail(Error error);

    MessageSpool& spool_;
    std::size_t prefix_room_;
    std::string memory_;  // prefix room + content while in memory
    std::uint64_t memory_reserved_ = 0;
    int fd_ = -1;
    std::uint64_t disk_reserved_ = 0;
    std::uint64_t size_ = 0;  // content bytes
    void* mapping_ = nullptr;
    std::size_t mapping_size_ = 0;
    bool finished_ = false;
    std::optional<Error> failure_;
};

}  // namespace hikyaku::server
