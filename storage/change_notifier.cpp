// change_notifier.cpp: Unix datagram fan-out of mailbox changes plus a data_version poll
// fallback (see change_notifier.h).
//
// Must never: trust a datagram (parse() bounds and checks every field); block in sendto;
// hold the registry mutex while a callback runs (callbacks may subscribe or unsubscribe).
#include "storage/change_notifier.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "storage/sqlite_db.h"
#include "storage/store_files.h"

namespace hikyaku::storage {

namespace {

constexpr std::size_t kMaxDatagram = 2048;
std::atomic<std::uint64_t> socket_counter{0};

bool fill_sockaddr(const std::string& path, sockaddr_un& addr) {
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

std::string_view kind_name(ChangeKind kind) {
    switch (kind) {
        case ChangeKind::appended: return "appended";
        case ChangeKind::flags: return "flags";
        case ChangeKind::expunged: return "expunged";
        case ChangeKind::mailboxes: return "mailboxes";
        case ChangeKind::queued: return "queued";
        case ChangeKind::unknown: return "unknown";
    }
    return "unknown";
}

template <class T>
bool parse_field(std::string_view token, std::string_view key, T& out) {
    if (token.size() <= key.size() + 1 || token.substr(0, key.size()) != key || token[key.size()] != '=') return false;
    auto digits = token.substr(key.size() + 1);
    // Canonical decimal only (no sign, no leading zero), so a line has one spelling.
    if (digits[0] < '0' || digits[0] > '9' || (digits.size() > 1 && digits[0] == '0')) return false;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && p == digits.data() + digits.size();
}

}  // namespace

class ChangeNotifier::Subscription final : public ChangeSubscription {
public:
    Subscription(std::weak_ptr<Registry> registry, std::uint64_t id) : registry_(std::move(registry)), id_(id) {}
    ~Subscription() override {
        if (auto registry = registry_.lock()) registry->remove(id_);
    }

private:
    std::weak_ptr<Registry> registry_;
    std::uint64_t id_;
};

void ChangeNotifier::Registry::remove(std::uint64_t id) {
    {
        std::lock_guard lock(mutex);
        subscribers.erase(id);
    }
    // Wait for a dispatch round in progress, unless we are inside it (a callback
    // destroying its own subscription).
    if (listener_thread_id.load() != std::this_thread::get_id()) {
        std::lock_guard wait(dispatch_mutex);
    }
}

ChangeNotifier::ChangeNotifier(std::string store_path, std::string socket_dir, std::chrono::milliseconds poll_interval,
                               std::chrono::milliseconds busy_timeout)
    : store_path_(std::move(store_path)),
      socket_dir_(std::move(socket_dir)),
      poll_interval_(poll_interval),
      busy_timeout_(busy_timeout) {
    (void)create_side_folder(socket_dir_, store_path_);  // failure leaves only the poll
    send_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

ChangeNotifier::~ChangeNotifier() {
    bool joined = false;
    {
        std::lock_guard lock(registry_->mutex);
        if (listening_) {
            char byte = 'q';
            (void)!::write(wake_pipe_[1], &byte, 1);
            joined = true;
        }
    }
    if (joined && thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
    for (int fd : wake_pipe_)
        if (fd >= 0) ::close(fd);
    if (send_fd_ >= 0) ::close(send_fd_);
}

std::string ChangeNotifier::format(const MailboxChange& change) {
    std::string line(kind_name(change.kind));
    line += " user=" + std::to_string(change.user);
    line += " mailbox=" + std::to_string(change.mailbox);
    line += " modseq=" + std::to_string(change.modseq);
    return line;
}

std::optional<MailboxChange> ChangeNotifier::parse(std::string_view line) {
    std::vector<std::string_view> tokens;
    std::size_t start = 0;
    while (start < line.size() && tokens.size() < 5) {
        auto end = line.find(' ', start);
        if (end == std::string_view::npos) end = line.size();
        tokens.push_back(line.substr(start, end - start));
        start = end + 1;
    }
    // The last token must end the line: "... modseq=3 " (a trailing space) has a fifth, empty
    // token, and format() never writes it (one spelling per line, so parse(format(c)) == c).
    if (tokens.size() != 4 || start != line.size() + 1) return std::nullopt;
    MailboxChange change;
    if (tokens[0] == "appended") change.kind = ChangeKind::appended;
    else if (tokens[0] == "flags") change.kind = ChangeKind::flags;
    else if (tokens[0] == "expunged") change.kind = ChangeKind::expunged;
    else if (tokens[0] == "mailboxes") change.kind = ChangeKind::mailboxes;
    else if (tokens[0] == "queued") change.kind = ChangeKind::queued;
    else if (tokens[0] == "unknown") change.kind = ChangeKind::unknown;
    else return std::nullopt;
    if (!parse_field(tokens[1], "user", change.user) || !parse_field(tokens[2], "mailbox", change.mailbox) ||
        !parse_field(tokens[3], "modseq", change.modseq))
        return std::nullopt;
    if (change.user < 0 || change.mailbox < 0) return std::nullopt;
    return change;
}

void ChangeNotifier::publish(const std::vector<MailboxChange>& changes) {
    if (changes.empty() || send_fd_ < 0) return;
    std::vector<std::string> datagrams(1);
    for (const auto& change : changes) {
        std::string line = format(change);
        if (datagrams.back().size() + line.size() + 1 > kMaxDatagram) datagrams.emplace_back();
        datagrams.back() += line;
        datagrams.back() += '\n';
    }
    std::lock_guard lock(send_mutex_);
    DIR* dir = ::opendir(socket_dir_.c_str());
    if (!dir) return;
    while (dirent* e = ::readdir(dir)) {
        std::string_view name = e->d_name;
        if (name.size() < 6 || name.substr(name.size() - 5) != ".sock") continue;
        std::string path = socket_dir_ + "/" + std::string(name);
        sockaddr_un addr;
        if (!fill_sockaddr(path, addr)) continue;
        for (const auto& d : datagrams) {
            ssize_t r = ::sendto(send_fd_, d.data(), d.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&addr),
                                 sizeof addr);
            if (r < 0 && (errno == ECONNREFUSED || errno == ENOENT)) {
                ::unlink(path.c_str());  // its process is gone
                break;
            }
            // EAGAIN: the listener's queue is full; its data_version poll covers the loss.
        }
    }
    ::closedir(dir);
}

Result<std::unique_ptr<ChangeSubscription>> ChangeNotifier::subscribe(UserId user, ChangeCallback callback) {
    if (!callback) return make_error(Errc::invalid_argument, "empty change callback");
    std::lock_guard lock(registry_->mutex);
    if (!listening_) {
        if (auto s = start_listener(); !s) return s.error();
    }
    std::uint64_t id = registry_->next_id++;
    registry_->subscribers.emplace(id, Subscriber{user, std::move(callback)});
    return std::unique_ptr<ChangeSubscription>(std::make_unique<Subscription>(registry_, id));
}

Status ChangeNotifier::start_listener() {
    if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
        return make_error(Errc::io_error, std::string("cannot create a pipe: ") + std::strerror(errno));
    listen_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ >= 0) {
        std::string path = socket_dir_ + "/" + std::to_string(::getpid()) + "." +
                           std::to_string(socket_counter.fetch_add(1)) + ".sock";
        sockaddr_un addr;
        ::unlink(path.c_str());  // a dead process with our pid and counter left it
        if (fill_sockaddr(path, addr) &&
            ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
            ::chmod(path.c_str(), 0660);
            socket_path_ = path;
        } else {
            // Too long a path or an unwritable directory: the poll alone carries changes.
            ::close(listen_fd_);
            listen_fd_ = -1;
        }
    }
    auto db = sqlite::Connection::open(store_path_, sqlite::Connection::Mode::read_write, busy_timeout_);
    std::int64_t data_version = -1;
    if (db) {
        auto v = db->query_int("PRAGMA data_version");
        if (v) data_version = *v;
    }
    listening_ = true;
    thread_ =
        std::thread([this, db = std::move(db), data_version]() mutable { listen_loop(std::move(db), data_version); });
    return {};
}

void ChangeNotifier::dispatch(const MailboxChange& change) {
    std::lock_guard round(registry_->dispatch_mutex);
    std::vector<ChangeCallback> targets;
    {
        std::lock_guard lock(registry_->mutex);
        for (const auto& [id, s] : registry_->subscribers) {
            // The queue is nobody's mailbox: only subscribers of every user hear of it.
            const bool heard = change.kind == ChangeKind::queued
                                   ? s.user == 0
                                   : s.user == 0 || change.user == 0 || s.user == change.user;
            if (heard) targets.push_back(s.callback);
        }
    }
    for (auto& callback : targets) callback(change);
}

void ChangeNotifier::listen_loop(Result<sqlite::Connection> db, std::int64_t data_version) {
    registry_->listener_thread_id.store(std::this_thread::get_id());
    auto read_version = [&]() -> std::int64_t {
        if (!db) return -1;
        auto v = db->query_int("PRAGMA data_version");
        return v ? *v : -1;
    };
    bool heard_datagram = false;
    bool unannounced = false;
    auto last_poll = std::chrono::steady_clock::now();
    char buffer[kMaxDatagram + 1];
    for (;;) {
        pollfd fds[2];
        fds[0] = {wake_pipe_[0], POLLIN, 0};
        fds[1] = {listen_fd_, POLLIN, 0};
        int nfds = listen_fd_ >= 0 ? 2 : 1;
        auto now = std::chrono::steady_clock::now();
        auto wait = poll_interval_ - std::chrono::duration_cast<std::chrono::milliseconds>(now - last_poll);
        int timeout_ms = wait.count() < 0 ? 0 : static_cast<int>(wait.count());
        int r = ::poll(fds, static_cast<nfds_t>(nfds), timeout_ms);
        if (r < 0 && errno != EINTR) break;
        if (r > 0 && (fds[0].revents & POLLIN)) break;  // shutting down
        if (r > 0 && nfds == 2 && (fds[1].revents & POLLIN)) {
            for (;;) {
                ssize_t n = ::recv(listen_fd_, buffer, kMaxDatagram, MSG_DONTWAIT);
                if (n <= 0) break;
                heard_datagram = true;
                std::string_view text(buffer, static_cast<std::size_t>(n));
                std::size_t start = 0;
                while (start < text.size()) {
                    auto end = text.find('\n', start);
                    if (end == std::string_view::npos) end = text.size();
                    if (auto change = parse(text.substr(start, end - start))) dispatch(*change);
                    start = end + 1;
                }
            }
        }
        now = std::chrono::steady_clock::now();
        if (now - last_poll >= poll_interval_) {
            // A change seen by data_version with no datagram is only suspect at first: its
            // datagram may be microseconds behind the commit. If the next interval brings
            // no datagram either, it was lost: report an unknown change.
            last_poll = now;
            std::int64_t v = read_version();
            bool changed = v != data_version && data_version != -1;
            data_version = v;
            if (unannounced && !heard_datagram) dispatch(MailboxChange{});
            unannounced = changed && !heard_datagram;
            heard_datagram = false;
        }
    }
    // db closes here, on the thread that used it
}

}  // namespace hikyaku::storage
