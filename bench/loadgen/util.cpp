// hikyaku-bench: command-line parsing, figure output, statistics, /proc memory accounting,
// Maildir counting and the fsync workload (everything that needs no networking).
#include "bench/loadgen/bench.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace bench {

// ---------------------------------------------------------------- Args

Args::Args(int argc, char** argv, int first, const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0) throw UsageError("unexpected argument: " + k);
        k = k.substr(2);
        auto eq = k.find('=');
        if (eq != std::string::npos) {
            values_.emplace(k.substr(0, eq), k.substr(eq + 1));
        } else if (flags.count(k)) {
            flags_given_.insert(k);
        } else {
            if (i + 1 >= argc) throw UsageError("--" + k + " needs a value");
            values_.emplace(k, argv[++i]);
        }
    }
}

bool Args::has(const std::string& key) const {
    used_.insert(key);
    return values_.count(key) > 0;
}

std::string Args::str(const std::string& key, const std::string& def) const {
    used_.insert(key);
    auto it = values_.find(key);
    return it == values_.end() ? def : it->second;
}

std::string Args::required(const std::string& key) const {
    used_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) throw UsageError("--" + key + " is required");
    return it->second;
}

long long Args::integer(const std::string& key, long long def) const {
    std::string v = str(key, "");
    if (v.empty()) return def;
    char* end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (*end != 0) throw UsageError("--" + key + ": not an integer: " + v);
    return x;
}

double Args::number(const std::string& key, double def) const {
    std::string v = str(key, "");
    if (v.empty()) return def;
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (*end != 0 || !std::isfinite(x)) throw UsageError("--" + key + ": not a number: " + v);
    return x;
}

bool Args::flag(const std::string& key) const {
    used_.insert(key);
    return flags_given_.count(key) > 0;
}

std::vector<std::string> Args::list(const std::string& key) const {
    used_.insert(key);
    std::vector<std::string> out;
    auto [b, e] = values_.equal_range(key);
    for (auto it = b; it != e; ++it) {
        std::stringstream ss(it->second);
        std::string item;
        while (std::getline(ss, item, ','))
            if (!item.empty()) out.push_back(item);
    }
    return out;
}

void Args::check_all_used() const {
    for (auto& [k, v] : values_)
        if (!used_.count(k)) throw UsageError("unknown option --" + k);
    for (auto& k : flags_given_)
        if (!used_.count(k)) throw UsageError("unknown option --" + k);
}

// ---------------------------------------------------------------- Report

void Report::add(const std::string& name, double value, const std::string& unit) {
    figures_.push_back({name, value, unit});
}

static std::string fmt_value(double v) {
    char b[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(b, sizeof b, "%.0f", v);
    else std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}

void Report::print(bool json) const {
    if (!json) {
        for (auto& f : figures_) std::cout << f.name << ' ' << fmt_value(f.value) << ' ' << f.unit << '\n';
    } else {
        std::cout << '{';
        bool first = true;
        for (auto& f : figures_) {
            std::cout << (first ? "" : ",") << "\n  \"" << f.name << "\": {\"value\": " << fmt_value(f.value)
                      << ", \"unit\": \"" << f.unit << "\"}";
            first = false;
        }
        std::cout << "\n}\n";
    }
    std::cout.flush();
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
    size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
    return v[std::min(idx, v.size() - 1)];
}

// ---------------------------------------------------------------- Maildir

static long count_dir_files(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return -1;
    long n = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;  // ".", ".." and Maildir's dot-folders
        ++n;
    }
    closedir(d);
    return n;
}

long count_maildir(const std::string& dir) {
    long a = count_dir_files(dir + "/new");
    long b = count_dir_files(dir + "/cur");
    if (a < 0 && b < 0) return -1;
    return std::max(a, 0L) + std::max(b, 0L);
}

// ---------------------------------------------------------------- /proc memory

static bool read_stat_ppid(int pid, int& ppid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(f, s)) return false;
    auto rp = s.rfind(')');  // the command name may contain spaces and parentheses
    if (rp == std::string::npos) return false;
    std::istringstream rest(s.substr(rp + 2));
    char state;
    rest >> state >> ppid;
    return static_cast<bool>(rest);
}

ProcMem measure_tree(const std::vector<int>& roots, const std::vector<std::string>& excluded) {
    // Build the parent map of all processes, then collect the descendants of the roots.
    std::multimap<int, int> children;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            char* end = nullptr;
            long pid = std::strtol(e->d_name, &end, 10);
            if (*end != 0 || pid <= 0) continue;
            int ppid = 0;
            if (read_stat_ppid(static_cast<int>(pid), ppid)) children.emplace(ppid, static_cast<int>(pid));
        }
        closedir(d);
    }
    std::set<int> all;
    std::vector<int> pending(roots.begin(), roots.end());
    while (!pending.empty()) {
        int p = pending.back();
        pending.pop_back();
        if (!all.insert(p).second) continue;
        auto [b, e] = children.equal_range(p);
        for (auto it = b; it != e; ++it) pending.push_back(it->second);
    }
    ProcMem m;
    for (int pid : all) {
        std::ifstream f("/proc/" + std::to_string(pid) + (excluded.empty() ? "/smaps_rollup" : "/smaps"));
        if (!f) continue;  // exited meanwhile, or a kernel thread
        bool any = false;
        bool counted = true;  // whether the current mapping's lines are summed
        std::string line;
        while (std::getline(f, line)) {
            std::istringstream ls(line);
            std::string key;
            if (!(ls >> key)) continue;
            if (key.back() != ':') {
                // A mapping's header: "start-end perms offset dev inode [path]".
                std::string perms, offset, dev, inode, path;
                ls >> perms >> offset >> dev >> inode;
                std::getline(ls >> std::ws, path);
                counted = std::find(excluded.begin(), excluded.end(), path) == excluded.end();
                continue;
            }
            long val = 0;
            if (!(ls >> val)) continue;
            if (key == "Rss:") {
                any = true;
                if (counted) m.rss_kb += val;
            } else if (key == "Pss:" && counted) {
                m.pss_kb += val;
            }
        }
        if (any) ++m.processes;
    }
    return m;
}

// `mem --pid P...`: the memory of a server (its processes and their descendants) now.
int run_mem(const Args& a, Report& r) {
    std::vector<int> pids;
    for (auto& s : a.list("pid")) pids.push_back(std::atoi(s.c_str()));
    a.check_all_used();
    if (pids.empty()) throw UsageError("--pid is required");
    ProcMem m = measure_tree(pids);
    r.add("mem.processes", m.processes, "count");
    r.add("mem.rss", m.rss_kb, "kB");
    r.add("mem.pss", m.pss_kb, "kB");
    return m.processes > 0 ? 0 : 1;
}

// ---------------------------------------------------------------- fsync

// `fsync --dir D`: a loop of 4 KB writes each followed by fsync, in a scratch file in D, the
// way a write-ahead log commits; it gives the disk's physical limit of durable commits per second.
int run_fsync(const Args& a, Report& r) {
    std::string dir = a.required("dir");
    double duration = a.number("duration", 10);
    long long size = a.integer("size", 4096);
    long long max_count = a.integer("count", 1000000);
    long long wrap = a.integer("file-size", 64LL << 20);
    // --overwrite: rewrite one block in place with fdatasync, as a recycled SQLite WAL does;
    // default: append blocks with fsync, as a new queue file or Maildir file does.
    bool overwrite = a.flag("overwrite");
    a.check_all_used();
    if (size <= 0 || size > (16 << 20)) throw UsageError("--size must be 1..16777216");
    std::string path = dir + "/hikyaku-bench-fsync.XXXXXX";
    std::vector<char> tmpl(path.begin(), path.end());
    tmpl.push_back(0);
    int fd = mkstemp(tmpl.data());
    if (fd < 0) {
        std::cerr << "fsync: cannot create a file in " << dir << ": " << std::strerror(errno) << "\n";
        return 1;
    }
    unlink(tmpl.data());  // the file disappears with the descriptor, whatever happens
    std::vector<char> block(static_cast<size_t>(size), 'x');
    std::vector<double> lat;
    auto t0 = Clock::now();
    long long n = 0;
    off_t off = 0;
    int rc = 0;
    while (n < max_count && seconds_since(t0) < duration) {
        auto t1 = Clock::now();
        if (pwrite(fd, block.data(), block.size(), overwrite ? 0 : off) != static_cast<ssize_t>(block.size()) ||
            (overwrite ? fdatasync(fd) : fsync(fd)) != 0) {
            std::cerr << "fsync: write/fsync failed: " << std::strerror(errno) << "\n";
            rc = 1;
            break;
        }
        lat.push_back(seconds_since(t1) * 1000);
        off += size;
        if (off + size > wrap) off = 0;
        ++n;
    }
    double el = seconds_since(t0);
    close(fd);
    r.add("fsync.count", static_cast<double>(n), "fsyncs");
    r.add("fsync.rate", el > 0 ? n / el : 0, "fsyncs/s");
    r.add("fsync.p50", percentile(lat, 50), "ms");
    r.add("fsync.p99", percentile(lat, 99), "ms");
    return n > 0 ? rc : 1;
}

}  // namespace bench
