// hikyaku-bench: declarations shared by the load generator's translation units.
// Only net.cpp and imap.cpp include Boost.Asio (net_common.hpp); everything here is plain C++
// so the other files compile fast.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A usage error: printed with the subcommand's help, exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Command line of one subcommand: `--key value` pairs and `--flag`s. Every key that is
// given must be consumed by the subcommand, so a typo is an error rather than a silent default.
class Args {
public:
    Args(int argc, char** argv, int first, const std::set<std::string>& flags);
    std::string str(const std::string& key, const std::string& def) const;
    std::string required(const std::string& key) const;
    long long integer(const std::string& key, long long def) const;
    double number(const std::string& key, double def) const;
    bool flag(const std::string& key) const;
    // All values of a repeatable key; each value may also be a comma-separated list.
    std::vector<std::string> list(const std::string& key) const;
    bool has(const std::string& key) const;
    void check_all_used() const;

private:
    std::multimap<std::string, std::string> values_;
    std::set<std::string> flags_given_;
    mutable std::set<std::string> used_;
};

// The figures of one run: printed as `name value unit` lines, or as one JSON object.
class Report {
public:
    void add(const std::string& name, double value, const std::string& unit);
    void print(bool json) const;

private:
    struct Figure {
        std::string name;
        double value;
        std::string unit;
    };
    std::vector<Figure> figures_;
};

// Percentile (0..100) of a sample, nearest-rank; 0 when empty. Sorts the vector.
double percentile(std::vector<double>& v, double p);

// Number of messages in a Maildir (files in new/ and cur/); -1 if it does not exist yet.
long count_maildir(const std::string& dir);

// Memory of a set of processes and all their descendants, from /proc/<pid>/smaps_rollup, or
// from /proc/<pid>/smaps leaving out the mappings of the files in `excluded` (exact paths).
// hikyaku reads its store through a memory map, so the page cache of the mail data shows in
// its RSS and PSS and comes and goes with the kernel's reclaim; Dovecot reads its maildir
// files with read(2), whose page cache shows in no process. Leaving the store file out puts
// both on the same footing: the memory the server itself holds.
struct ProcMem {
    long processes = 0;
    long rss_kb = 0;
    long pss_kb = 0;
};
ProcMem measure_tree(const std::vector<int>& roots, const std::vector<std::string>& excluded = {});

// Workloads. Each fills the report and returns the process exit status
// (0 ok, 1 the workload ran but failed: errors, or its goal not reached).
int run_smtp(const Args& a, Report& r);
int run_pop3(const Args& a, Report& r);
int run_idle(const Args& a, Report& r);
int run_wait_delivered(const Args& a, Report& r);
int run_fsync(const Args& a, Report& r);
int run_mem(const Args& a, Report& r);
int run_imap_idle(const Args& a, Report& r);
int run_imap_notify(const Args& a, Report& r);
int run_imap_fetch(const Args& a, Report& r);
int run_imap_sync(const Args& a, Report& r);
int run_imap_login(const Args& a, Report& r);

}  // namespace bench
