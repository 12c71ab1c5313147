// message_spool.cpp: messages in flight, in memory or in unlinked files (message_spool.h).
#include "common/server/message_spool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hikyaku::server {

MessageSpool::MessageSpool(SpoolSettings settings) : settings_(std::move(settings)) {}

Status MessageSpool::prepare() {
    if (settings_.directory.empty()) return make_error(Errc::invalid_argument, "no spool directory configured");
    if (::mkdir(settings_.directory.c_str(), 0700) != 0 && errno != EEXIST)
        return make_error(Errc::io_error,
                          "cannot create spool directory " + settings_.directory + ": " + std::strerror(errno));
    int fd = ::open(settings_.directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(Errc::io_error, "cannot create a file in spool directory " + settings_.directory + ": " +
                                              std::strerror(errno));
    ::close(fd);
    return {};
}

std::unique_ptr<IncomingMessage> MessageSpool::begin(std::size_t prefix_room) {
    return std::make_unique<IncomingMessage>(*this, prefix_room);
}

bool MessageSpool::reserve(std::atomic<std::uint64_t>& counter, std::uint64_t budget, std::uint64_t bytes) {
    std::uint64_t used = counter.load();
    do {
        if (used + bytes > budget) return false;
    } while (!counter.compare_exchange_weak(used, used + bytes));
    return true;
}

IncomingMessage::IncomingMessage(MessageSpool& spool, std::size_t prefix_room)
    : spool_(spool), prefix_room_(prefix_room) {}

IncomingMessage::~IncomingMessage() {
    if (mapping_) ::munmap(mapping_, mapping_size_);
    if (fd_ >= 0) ::close(fd_);
    spool_.memory_in_use_ -= memory_reserved_;
    spool_.disk_in_use_ -= disk_reserved_;
}

void IncomingMessage::fail(Error error) {
    if (!failure_) failure_ = std::move(error);
    std::string().swap(memory_);
    spool_.memory_in_use_ -= memory_reserved_;
    memory_reserved_ = 0;
}

void IncomingMessage::move_to_file() {
    fd_ = ::open(spool_.settings_.directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0)
        return fail(make_error(Errc::io_error,
                               "cannot spool message to " + spool_.settings_.directory + ": " + std::strerror(errno)));
    const std::uint64_t bytes = prefix_room_ + size_;
    if (!spool_.reserve(spool_.disk_in_use_, spool_.settings_.disk_budget, bytes))
        return fail(make_error(Errc::limit_exceeded, "spool disk budget for messages in flight used up"));
    disk_reserved_ = bytes;
    if (memory_.empty()) memory_.assign(prefix_room_, '\0');
    std::size_t written = 0;
    while (written < memory_.size()) {
        ssize_t n = ::write(fd_, memory_.data() + written, memory_.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return fail(make_error(Errc::io_error, std::string("cannot spool message: ") + std::strerror(errno)));
        written += static_cast<std::size_t>(n);
    }
    std::string().swap(memory_);
    spool_.memory_in_use_ -= memory_reserved_;
    memory_reserved_ = 0;
}

void IncomingMessage::append(std::string_view bytes) {
    if (failure_ || bytes.empty()) return;
    if (fd_ < 0) {
        const std::uint64_t grow = (memory_.empty() ? prefix_room_ : 0) + bytes.size();
        const bool fits = prefix_room_ + size_ + bytes.size() <= spool_.settings_.memory_threshold &&
                          spool_.reserve(spool_.memory_in_use_, spool_.settings_.memory_budget, grow);
        if (fits) {
            memory_reserved_ += grow;
            if (memory_.empty()) memory_.assign(prefix_room_, '\0');
            memory_.append(bytes);
            size_ += bytes.size();
            return;
        }
        move_to_file();
        if (failure_) return;
    }
    if (!spool_.reserve(spool_.disk_in_use_, spool_.settings_.disk_budget, bytes.size()))
        return fail(make_error(Errc::limit_exceeded, "spool disk budget for messages in flight used up"));
    disk_reserved_ += bytes.size();
    std::size_t written = 0;
    while (written < bytes.size()) {
        ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return fail(make_error(Errc::io_error, std::string("cannot spool message: ") + std::strerror(errno)));
        written += static_cast<std::size_t>(n);
    }
    size_ += bytes.size();
}

Result<std::string_view> IncomingMessage::finish() {
    if (failure_) return *failure_;
    if (finished_) return make_error(Errc::internal, "message finished twice");
    finished_ = true;
    if (fd_ < 0) {
        if (memory_.empty()) memory_.assign(prefix_room_, '\0');
        return std::string_view(memory_).substr(prefix_room_);
    }
    mapping_size_ = prefix_room_ + size_;
    mapping_ = ::mmap(nullptr, mapping_size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (mapping_ == MAP_FAILED) {
        mapping_ = nullptr;
        return make_error(Errc::io_error, std::string("cannot map spooled message: ") + std::strerror(errno));
    }
    ::madvise(mapping_, mapping_size_, MADV_SEQUENTIAL);
    return std::string_view(static_cast<const char*>(mapping_) + prefix_room_, size_);
}

Result<std::string_view> IncomingMessage::prepend(std::string_view prefix) {
    if (!finished_ || failure_) return make_error(Errc::internal, "prepend before finish");
    if (prefix.size() > prefix_room_) return make_error(Errc::internal, "trace headers larger than the room kept");
    const std::size_t start = prefix_room_ - prefix.size();
    if (fd_ < 0) {
        memory_.replace(start, prefix.size(), prefix);
        return std::string_view(memory_).substr(start);
    }
    // The shared mapping sees what pwrite puts into the file's pages.
    if (::pwrite(fd_, prefix.data(), prefix.size(), static_cast<off_t>(start)) != static_cast<ssize_t>(prefix.size()))
        return make_error(Errc::io_error, std::string("cannot spool message: ") + std::strerror(errno));
    return std::string_view(static_cast<const char*>(mapping_) + start, prefix.size() + size_);
}

}  // namespace hikyaku::server
