// store_process_test.cpp: the store shared by several processes, as the daemons share it:
// concurrent deliveries with an expunger, a writer killed with SIGKILL mid-delivery, POP3
// maildrop locks between processes (busy while held, free after release or after the
// holder is killed), and change notification across processes.
// Children are store_test_helper processes (fork + exec), so each opens the store itself.
//
// Must never: assert on timing (deadlines only bound waiting; latencies are reported);
// leave a child running (Child kills and reaps in its destructor).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

using Clock = std::chrono::steady_clock;

class Child {
public:
    explicit Child(std::vector<std::string> args) {
        args.insert(args.begin(), STORE_TEST_HELPER);
        int out[2], in[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::dup2(in[0], 0);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            std::_Exit(127);
        }
        ::close(out[1]);
        ::close(in[0]);
        stdout_ = out[0];
        stdin_ = in[1];
    }
    ~Child() {
        if (stdin_ >= 0) ::close(stdin_);
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdout_ >= 0) ::close(stdout_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // Next line of output, or nullopt at EOF or when the deadline passes.
    std::optional<std::string> read_line(std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
        auto until = Clock::now() + deadline;
        for (;;) {
            auto nl = buffer_.find('\n');
            if (nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[4096];
            ssize_t n = ::read(stdout_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    std::vector<std::string> read_all() {
        std::vector<std::string> lines;
        while (auto line = read_line()) lines.push_back(*line);
        return lines;
    }
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }
    void kill_hard() { ::kill(pid_, SIGKILL); }
    void send(const std::string& bytes) {
        REQUIRE(::write(stdin_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }
    void close_stdin() {
        ::close(stdin_);
        stdin_ = -1;
    }

private:
    pid_t pid_ = -1;
    int stdout_ = -1;
    int stdin_ = -1;
    std::string buffer_;
};

struct Ack {
    std::string tag;
    Uid uid;
};

std::vector<Ack> parse_acks(const std::vector<std::string>& lines) {
    std::vector<Ack> acks;
    for (const auto& line : lines) {
        std::istringstream in(line);
        std::string word, tag;
        Uid uid = 0;
        in >> word >> tag >> uid;
        REQUIRE_MESSAGE(word == "ack", line);
        acks.push_back({tag, uid});
    }
    return acks;
}

std::string tag_of(const std::string& raw) {
    auto p = raw.find("X-Test-Tag: ");
    if (p == std::string::npos) return {};
    p += 12;
    return raw.substr(p, raw.find('\r', p) - p);
}

struct SharedStore {
    TempDir dir;
    std::string path = dir.file("mail.db");
    std::unique_ptr<Store> store = open_test_store(path);
    User user;
    MailboxInfo inbox;
    SharedStore() {
        REQUIRE(store->add_domain("example.com").ok());
        user = *store->add_user("alice@example.com", "pw");
        inbox = *store->inbox(user.id);
    }
};

}  // namespace

TEST_CASE("4 processes deliver 2,000 messages each while a fifth expunges") {
    SharedStore s;
    constexpr int kProcesses = 4, kEach = 2000;
    auto started = Clock::now();
    std::vector<std::unique_ptr<Child>> writers;
    for (int p = 0; p < kProcesses; ++p)
        writers.push_back(std::make_unique<Child>(std::vector<std::string>{
            "deliver", s.path, "alice@example.com", "p" + std::to_string(p), std::to_string(kEach), "4"}));
    std::string stop_file = s.dir.file("stop-expunging");
    Child expunger({"expunge", s.path, "alice@example.com", stop_file});

    std::vector<Ack> acks;
    for (auto& w : writers) {
        auto lines = w->read_all();
        int status = w->wait();
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        auto a = parse_acks(lines);
        CHECK(a.size() == kEach);
        // Within one process each thread's UIDs increase; check the whole process's acks are
        // unique here and globally below.
        acks.insert(acks.end(), a.begin(), a.end());
    }
    std::ofstream(stop_file) << "stop\n";
    std::set<Uid> expunged;
    for (const auto& line : expunger.read_all()) {
        REQUIRE(line.rfind("expunged ", 0) == 0);
        CHECK(expunged.insert(static_cast<Uid>(std::stoul(line.substr(9)))).second);
    }
    int status = expunger.wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    MESSAGE((kProcesses * kEach) << " deliveries from " << kProcesses << " processes in " << elapsed << " s; "
                                 << expunged.size() << " expunged concurrently");

    REQUIRE(acks.size() == kProcesses * kEach);
    std::map<Uid, std::string> acked;
    std::set<std::string> tags;
    for (const auto& a : acks) {
        CHECK_MESSAGE(acked.emplace(a.uid, a.tag).second, "UID acknowledged twice: ", a.uid);
        CHECK(tags.insert(a.tag).second);
    }
    // Every acknowledged message is present exactly once, or was expunged by the fifth process.
    UidRange all[] = {{1, kMaxUid}};
    auto entries = s.store->fetch_entries(s.inbox.id, all);
    REQUIRE(entries.ok());
    std::set<Uid> present;
    Uid previous = 0;
    std::size_t wrong_tag = 0, unknown = 0;
    for (const auto& e : *entries) {
        CHECK(e.uid > previous);  // unique and increasing
        previous = e.uid;
        present.insert(e.uid);
        auto it = acked.find(e.uid);
        if (it == acked.end()) {
            ++unknown;
            continue;
        }
        auto raw = s.store->read_message(s.inbox.id, e.uid);
        REQUIRE(raw.ok());
        if (tag_of(*raw) != it->second) ++wrong_tag;
    }
    CHECK(unknown == 0);
    CHECK(wrong_tag == 0);
    for (Uid uid : expunged) CHECK(present.count(uid) == 0);
    CHECK(present.size() + expunged.size() == acked.size());
    for (const auto& [uid, tag] : acked) {
        if (!present.count(uid) && !expunged.count(uid)) FAIL("acknowledged UID lost: " << uid << " " << tag);
    }
    auto status_after = s.store->mailbox_status(s.inbox.id);
    CHECK(status_after->uidnext == kProcesses * kEach + 1);
    CHECK(status_after->messages == present.size());
    auto changes = s.store->changes_since(s.inbox.id, 0);
    CHECK(changes->expunged.size() == expunged.size());
    CHECK(s.store->quota_usage(s.user.id)->messages == present.size());
    CHECK(s.store->stats()->messages == present.size());
    CHECK(s.store->integrity_check().ok());
}

TEST_CASE("a writer killed with SIGKILL mid-delivery loses nothing it acknowledged") {
    SharedStore s;
    std::map<Uid, std::string> acked;
    for (int round = 0; round < 3; ++round) {
        Child writer({"deliver", s.path, "alice@example.com", "r" + std::to_string(round), "0", "4"});
        std::vector<std::string> lines;
        for (int i = 0; i < 150 + 70 * round; ++i) {
            auto line = writer.read_line();
            REQUIRE(line.has_value());
            lines.push_back(*line);
        }
        writer.kill_hard();
        writer.wait();
        for (const auto& rest : writer.read_all()) lines.push_back(rest);  // acks written before the kill
        for (const auto& a : parse_acks(lines)) CHECK(acked.emplace(a.uid, a.tag).second);

        // A fresh open (as a restarted daemon would) sees a sound store with every ack.
        auto reopened = open_test_store(s.path);
        CHECK(reopened->integrity_check().ok());
        for (const auto& [uid, tag] : acked) {
            auto raw = reopened->read_message(s.inbox.id, uid);
            REQUIRE_MESSAGE(raw.ok(), "acknowledged UID missing after SIGKILL: ", uid);
            CHECK(tag_of(*raw) == tag);
        }
        MESSAGE("round " << round << ": " << acked.size() << " acknowledged deliveries survived");
    }
    // The store still works for writes after the crashes.
    UserId rcpt[] = {s.user.id};
    auto after = s.store->deliver(test_message("after"), rcpt, at(1));
    REQUIRE(after.ok());
    CHECK(after->entries[0].uid > acked.rbegin()->first);
}

TEST_CASE("a maildrop lock held by another process is busy, and freed when it dies") {
    SharedStore s;
    Child holder({"lock", s.path, "alice@example.com"});
    REQUIRE(holder.read_line() == std::optional<std::string>("locked"));
    auto mine = s.store->lock_maildrop(s.user.id);
    REQUIRE_FALSE(mine.ok());
    CHECK(mine.error().code == Errc::busy);
    {
        Child second({"lock", s.path, "alice@example.com"});
        CHECK(second.read_line() == std::optional<std::string>("busy"));
    }
    holder.kill_hard();  // no destructor runs: the kernel releases the record lock
    holder.wait();
    CHECK(s.store->lock_maildrop(s.user.id).ok());
}

TEST_CASE("a maildrop lock held here is busy for another process, and free after release") {
    SharedStore s;
    User bob = *s.store->add_user("bob@example.com", "pw");
    auto held = s.store->lock_maildrop(s.user.id);
    REQUIRE(held.ok());
    {
        Child other({"lock", s.path, "alice@example.com"});
        CHECK(other.read_line() == std::optional<std::string>("busy"));
    }
    {
        Child other_user({"lock", s.path, "bob@example.com"});  // different users do not conflict
        CHECK(other_user.read_line() == std::optional<std::string>("locked"));
        CHECK(s.store->lock_maildrop(bob.id).error().code == Errc::busy);
        other_user.send("r");
        CHECK(other_user.read_line() == std::optional<std::string>("released"));
        CHECK(s.store->lock_maildrop(bob.id).ok());  // released while the process lives on
    }
    held->reset();
    Child after({"lock", s.path, "alice@example.com"});
    CHECK(after.read_line() == std::optional<std::string>("locked"));
}

TEST_CASE("a maildrop lock survives another store object of this process closing") {
    // Closing any descriptor of a record-locked file drops all of the process's locks on it;
    // store objects on one store must therefore share one descriptor, closed only by the last.
    SharedStore s;
    User bob = *s.store->add_user("bob@example.com", "pw");
    auto held = s.store->lock_maildrop(s.user.id);
    REQUIRE(held.ok());
    for (int i = 0; i < 3; ++i) {
        auto other = open_test_store(s.path);
        auto bobs = other->lock_maildrop(bob.id);
        REQUIRE(bobs.ok());
        bobs->reset();
    }  // each other store object closed here
    Child child({"lock", s.path, "alice@example.com"});
    CHECK(child.read_line() == std::optional<std::string>("busy"));

    // The last store object of this process goes, the lock stays until released.
    s.store.reset();
    Child still({"lock", s.path, "alice@example.com"});
    CHECK(still.read_line() == std::optional<std::string>("busy"));
    held->reset();
    Child freed({"lock", s.path, "alice@example.com"});
    CHECK(freed.read_line() == std::optional<std::string>("locked"));
}

TEST_CASE("another process hears of a delivery through the datagram channel") {
    SharedStore s;
    Child listener({"listen", s.path, "alice@example.com"});
    REQUIRE(listener.read_line() == std::optional<std::string>("ready"));
    std::vector<double> latencies_ms;
    for (int i = 0; i < 5; ++i) {
        UserId rcpt[] = {s.user.id};
        auto r = s.store->deliver(test_message("n" + std::to_string(i)), rcpt, at(1));
        REQUIRE(r.ok());
        auto acknowledged = Clock::now();
        ModSeq modseq = s.store->mailbox_status(s.inbox.id)->highestmodseq;
        auto line = listener.read_line(std::chrono::seconds(10));
        REQUIRE(line.has_value());
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - acknowledged).count());
        // Only the datagram path carries kind, mailbox and modseq (the poll fallback says
        // "unknown"), so this proves the millisecond path, not the fallback.
        CHECK(*line == "change appended " + std::to_string(s.inbox.id) + " " + std::to_string(modseq));
    }
    std::ostringstream report;
    for (double ms : latencies_ms) report << ms << " ";
    MESSAGE("cross-process notification latency after the ack (ms): " << report.str());

    // Flag changes and expunges are announced too.
    Uid one[] = {1};
    REQUIRE(s.store->set_flags(s.inbox.id, one, {FlagOperation::add, flag_seen, {}, {}}).ok());
    auto flags = listener.read_line(std::chrono::seconds(10));
    REQUIRE(flags.has_value());
    CHECK(flags->rfind("change flags " + std::to_string(s.inbox.id), 0) == 0);
    REQUIRE(s.store->expunge(s.inbox.id, one).ok());
    auto gone = listener.read_line(std::chrono::seconds(10));
    REQUIRE(gone.has_value());
    CHECK(gone->rfind("change expunged " + std::to_string(s.inbox.id), 0) == 0);
}

TEST_CASE("the poll fallback reports a change when no datagram can arrive") {
    SharedStore s;
    Child listener({"listen", s.path, "alice@example.com"});
    REQUIRE(listener.read_line() == std::optional<std::string>("ready"));
    // Take the sockets away: the writer finds no one to tell.
    std::filesystem::remove_all(s.path + ".notify");
    UserId rcpt[] = {s.user.id};
    REQUIRE(s.store->deliver(test_message("quiet"), rcpt, at(1)).ok());
    auto line = listener.read_line(std::chrono::seconds(10));
    REQUIRE(line.has_value());
    CHECK(*line == "change unknown 0 0");
}
