// maildir.cpp: Maildir delivery and the UIDL tracking file (see maildir.h).
// Must never: rename an unsynced file into new/, or replace an existing file.
#include "mailcli/maildir.h"

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

}  // namespace

void maildir_create(const std::string& dir) {
    make_dir(dir);
    make_dir(dir + "/tmp");
    make_dir(dir + "/new");
    make_dir(dir + "/cur");
}

std::string maildir_deliver(const std::string& dir, std::string_view message) {
    static std::atomic<unsigned> counter{0};
    timeval tv{};
    gettimeofday(&tv, nullptr);
    const std::string unique = std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) +
                               "P" + std::to_string(getpid()) + "Q" + std::to_string(++counter) +
                               "." + host_name() + ",S=" + std::to_string(message.size());
    const std::string tmp = dir + "/tmp/" + unique;
    const std::string dest = dir + "/new/" + unique;
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
    return dest;
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
