// maildir.cpp: Maildir delivery and the UIDL tracking file (see maildir.h).
// Must never: rename an unsynced file into new/, or replace an existing file.
#include "mailcli/maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

void make_dir(const std::string& path) {
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        throw CliError(ExitCode::failure, "cannot create " + path + ": " + std::strerror(errno));
    }
}

void write_fd(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw CliError(ExitCode::failure, "cannot write " + path + ": " + std::strerror(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
    std::string out;
    for (char* p = buf; *p; ++p) {
        out += (*p == '/' || *p == ':') ? '_' : *p;  // Maildir: '/' and ':' are special
    }
    return out;
}

// "SECONDS.MUSECPpidQn.host": unique for this process (the counter is shared by its threads).
std::string unique_name() {
    static std::atomic<unsigned> counter{0};
    timeval tv{};
    gettimeofday(&tv, nullptr);
    return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(getpid()) + "Q" +
           std::to_string(++counter) + "." + host_name();
}

// Writes `message` to dir/tmp/NAME, syncs it, links it to `dest`, removes the tmp name.
void write_then_link(const std::string& dir, const std::string& name, std::string_view message,
                     const std::string& dest) {
    const std::string tmp = dir + "/tmp/" + name;
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw CliError(ExitCode::failure, "cannot create " + tmp + ": " + std::strerror(errno));
    try {
        write_fd(fd, message, tmp);
        if (fsync(fd) != 0) throw CliError(ExitCode::failure, "cannot sync " + tmp);
    } catch (...) {
        close(fd);
        unlink(tmp.c_str());
        throw;
    }
    close(fd);
    if (link(tmp.c_str(), dest.c_str()) != 0) {
        int e = errno;
        unlink(tmp.c_str());
        throw CliError(ExitCode::failure, "cannot move into " + dest + ": " + std::strerror(e));
    }
    unlink(tmp.c_str());
}

// Splits "UNIQUE:2,FLAGS" and finds ",U=N" in UNIQUE.
MaildirMessage describe(const std::string& dir, const char* sub, const std::string& name) {
    MaildirMessage m;
    m.path = dir + "/" + sub + "/" + name;
    const std::size_t info = name.rfind(":2,");
    m.unique = info == std::string::npos ? name : name.substr(0, info);
    if (info != std::string::npos) m.flags = name.substr(info + 3);
    const std::size_t u = m.unique.find(",U=");
    if (u != std::string::npos) {
        std::uint64_t n = 0;
        std::size_t i = u + 3;
        while (i < m.unique.size() && m.unique[i] >= '0' && m.unique[i] <= '9' && n <= 0xffffffffu) {
            n = n * 10 + static_cast<unsigned>(m.unique[i++] - '0');
        }
        if (i > u + 3 && n > 0 && n <= 0xffffffffu && (i == m.unique.size() || m.unique[i] == ',')) {
            m.uid = static_cast<std::uint32_t>(n);
        }
    }
    return m;
}

std::vector<std::string> names_in(const std::string& path) {
    std::vector<std::string> out;
    DIR* d = opendir(path.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        throw CliError(ExitCode::failure, "cannot read " + path + ": " + std::strerror(errno));
    }
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        out.emplace_back(e->d_name);
    }
    closedir(d);
    return out;
}

}  // namespace

void maildir_create(const std::string& dir) {
    make_dir(dir);
    make_dir(dir + "/tmp");
    make_dir(dir + "/new");
    make_dir(dir + "/cur");
}

std::string maildir_deliver(const std::string& dir, std::string_view message) {
    const std::string name = unique_name() + ",S=" + std::to_string(message.size());
    const std::string dest = dir + "/new/" + name;
    write_then_link(dir, name, message, dest);
    return dest;
}

std::string maildir_store(const std::string& dir, std::string_view message, std::uint32_t uid, std::string_view flags) {
    const std::string name = unique_name() + ",U=" + std::to_string(uid) + ",S=" + std::to_string(message.size());
    const std::string dest = dir + "/cur/" + name + ":2," + std::string(flags);
    write_then_link(dir, name, message, dest);
    return dest;
}

std::vector<MaildirMessage> maildir_messages(const std::string& dir) {
    std::vector<MaildirMessage> out;
    for (const char* sub : {"cur", "new"}) {
        for (const std::string& name : names_in(dir + "/" + sub)) out.push_back(describe(dir, sub, name));
    }
    return out;
}

std::map<std::uint32_t, MaildirMessage> maildir_uid_index(const std::string& dir,
                                                          std::vector<MaildirMessage>* duplicates) {
    std::map<std::uint32_t, MaildirMessage> out;
    for (MaildirMessage& m : maildir_messages(dir)) {
        if (m.uid == 0) continue;
        const std::uint32_t uid = m.uid;
        if (out.count(uid)) {
            if (duplicates) duplicates->push_back(std::move(m));
            continue;
        }
        out.emplace(uid, std::move(m));
    }
    return out;
}

void maildir_set_flags(const std::string& dir, MaildirMessage& message, std::string_view flags) {
    const std::string dest = dir + "/cur/" + message.unique + ":2," + std::string(flags);
    if (dest == message.path) return;
    if (rename(message.path.c_str(), dest.c_str()) != 0) {
        throw CliError(ExitCode::failure, "cannot rename " + message.path + ": " + std::strerror(errno));
    }
    message.path = dest;
    message.flags = std::string(flags);
}

std::size_t maildir_clean_tmp(const std::string& dir) {
    std::size_t removed = 0;
    for (const std::string& name : names_in(dir + "/tmp")) {
        if (name.find(",U=") == std::string::npos) continue;
        if (unlink((dir + "/tmp/" + name).c_str()) == 0) ++removed;
    }
    return removed;
}

std::string uid_state_path(const std::string& dir) { return dir + "/.mailcli-uidl"; }

std::set<std::string> load_uid_state(const std::string& path, std::string_view account_key) {
    std::set<std::string> uids;
    std::ifstream in(path);
    std::string line;
    const std::string prefix = std::string(account_key) + " ";
    while (std::getline(in, line)) {
        if (line.starts_with(prefix)) uids.insert(line.substr(prefix.size()));
    }
    return uids;
}

void record_uid(const std::string& path, std::string_view account_key, std::string_view uid) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw CliError(ExitCode::failure, "cannot open " + path + ": " + std::strerror(errno));
    std::string line = std::string(account_key) + " " + std::string(uid) + "\n";
    try {
        write_fd(fd, line, path);
        fsync(fd);
    } catch (...) {
        close(fd);
        throw;
    }
    close(fd);
}

std::string write_new_file(const std::string& dir, const std::string& name, std::string_view data) {
    const std::size_t dot = name.rfind('.');
    const std::string stem = (dot == std::string::npos || dot == 0) ? name : name.substr(0, dot);
    const std::string ext = (dot == std::string::npos || dot == 0) ? "" : name.substr(dot);
    for (int n = 0; n < 1000; ++n) {
        const std::string path = dir + "/" + (n == 0 ? name : stem + "-" + std::to_string(n) + ext);
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            throw CliError(ExitCode::failure, "cannot create " + path + ": " + std::strerror(errno));
        }
        try {
            write_fd(fd, data, path);
        } catch (...) {
            close(fd);
            throw;
        }
        close(fd);
        return path;
    }
    throw CliError(ExitCode::failure, "too many files named " + name + " in " + dir);
}

}  // namespace hikyaku::mailcli
