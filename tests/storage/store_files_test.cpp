// store_files_test.cpp: the store's files on disk (storage/store_files.h): modes that grant
// others nothing whatever the umask, folders made on the way, the hand-over to the service
// user, and the access check a daemon runs after dropping privileges.
//
// The checks that need a second user run in a forked child that switches to "nobody" when
// the test runs as root (as CI does); without root, a file's mode takes the access away
// instead, so both paths of check_store_access are exercised either way. hand_over_store
// needs root: without it that case is reported as not run (the package test covers it too).
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/store_files.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, "missing " << path);
    return st.st_mode & 07777;
}

// Sets the process umask for one scope.
class Umask {
public:
    explicit Umask(mode_t mask) : saved_(::umask(mask)) {}
    ~Umask() { ::umask(saved_); }

private:
    mode_t saved_;
};

struct Nobody {
    uid_t uid;
    gid_t gid;
};

Nobody nobody() {
    const passwd* pw = ::getpwnam("nobody");
    REQUIRE_MESSAGE(pw != nullptr, "the test needs the user 'nobody'");
    return {pw->pw_uid, pw->pw_gid};
}

// check_store_access as seen by another user: as root, a forked child that switched to
// nobody; otherwise this process itself (the caller took the access away with chmod).
std::string check_as_other_user(const std::string& store) {
    if (::geteuid() != 0) {
        auto s = check_store_access(store);
        return s ? "" : s.error().message;
    }
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        Nobody who = nobody();
        if (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0) ::_exit(3);
        auto s = check_store_access(store);
        std::string message = s ? "" : s.error().message;
        (void)!::write(pipe_fds[1], message.data(), message.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string message;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) message.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the child could not switch to nobody");
    return message;
}

// Gives `path` to nobody as root; as another user, gives the owner the access instead.
void give_to_other_user(const std::string& path, mode_t mode) {
    if (::geteuid() == 0) {
        Nobody who = nobody();
        REQUIRE(::chown(path.c_str(), who.uid, who.gid) == 0);
    }
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("a new store, -wal, -shm and the folders beside it grant others nothing, whatever the umask") {
    Umask open_umask(0);  // the worst case: nothing taken away by the umask
    TempDir dir;
    std::string store_path = dir.file("new/folder/store.db");
    auto store = open_test_store(store_path);
    REQUIRE(store->add_domain("example.org").ok());
    auto alice = store->add_user("alice@example.org", "secret pw");
    REQUIRE(alice.ok());
    auto lock = store->lock_maildrop(alice->id);  // creates maildrops.lock
    REQUIRE(lock.ok());
    auto subscription = store->subscribe(0, [](const MailboxChange&) {});  // binds a socket
    REQUIRE(subscription.ok());

    CHECK(mode_of(dir.file("new")) == 0750);  // folders made on the way for mailctl init
    CHECK(mode_of(dir.file("new/folder")) == 0750);
    CHECK(mode_of(store_path) == 0660);
    // SQLite keeps -wal and -shm while the store is open, with the store file's mode.
    CHECK(mode_of(store_path + "-wal") == 0660);
    CHECK(mode_of(store_path + "-shm") == 0660);
    CHECK(mode_of(store_locks_folder(store_path)) == 0770);
    CHECK(mode_of(store_maildrop_lock_file(store_path)) == 0660);
    CHECK(mode_of(store_notify_folder(store_path)) == 0770);
    std::size_t sockets = 0;
    for (const auto& entry : std::filesystem::directory_iterator(store_notify_folder(store_path))) {
        INFO(entry.path().string());
        CHECK((mode_of(entry.path().string()) & S_IRWXO) == 0);
        ++sockets;
    }
    CHECK(sockets == 1);
}

TEST_CASE("the usual umask 022 leaves the group read access, still nothing for others") {
    Umask usual(022);
    TempDir dir;
    std::string store_path = dir.file("store.db");
    auto store = open_test_store(store_path);
    REQUIRE(store->add_domain("example.org").ok());
    CHECK(mode_of(store_path) == 0640);
    CHECK(mode_of(store_path + "-wal") == 0640);
    CHECK(mode_of(store_locks_folder(store_path)) == 0750);
    CHECK(mode_of(store_notify_folder(store_path)) == 0750);
}

TEST_CASE("restrict_store_modes takes access for others away from a store made before") {
    TempDir dir;
    std::string store_path = dir.file("store.db");
    { auto store = open_test_store(store_path); }
    REQUIRE(::chmod(store_path.c_str(), 0644) == 0);  // as SQLite used to create it
    REQUIRE(::chmod(store_locks_folder(store_path).c_str(), 0777) == 0);
    REQUIRE(::chmod(store_notify_folder(store_path).c_str(), 0755) == 0);
    REQUIRE(restrict_store_modes(store_path).ok());
    CHECK(mode_of(store_path) == 0640);
    CHECK(mode_of(store_locks_folder(store_path)) == 0770);
    CHECK(mode_of(store_notify_folder(store_path)) == 0750);
}

TEST_CASE("check_store_access: fine for the owner, and names what another user lacks") {
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // nobody may enter the temporary folder
    std::string folder = dir.file("mail");
    std::string store_path = folder + "/store.db";
    {
        Umask usual(022);
        auto store = open_test_store(store_path);
    }
    CHECK(check_store_access(store_path).ok());
    CHECK(check_store_access(dir.file("none.db")).error().message.find("no store at") == 0);

    // Each thing a daemon needs, taken away in turn; the message names it.
    auto expect = [&](const std::string& wanted) {
        std::string message = check_as_other_user(store_path);
        INFO("the error: " << message);
        CHECK(message.find(wanted) != std::string::npos);
        if (!wanted.empty()) CHECK(message.find("'mailctl init' with [server] user set") != std::string::npos);
    };
    // As root the folder stays root's (0750): nobody cannot enter it. Otherwise no x bit.
    REQUIRE(::chmod(folder.c_str(), ::geteuid() == 0 ? 0750 : 0650) == 0);
    expect("cannot enter the store's folder " + folder);

    give_to_other_user(folder, 0750);
    REQUIRE(::chmod(store_path.c_str(), 0440) == 0);  // read-only for its owner
    expect("cannot read and write the store " + store_path);

    give_to_other_user(store_path, 0660);
    REQUIRE(::chmod(folder.c_str(), 0550) == 0);  // SQLite could not create -wal there
    expect("cannot create files in the store's folder " + folder);

    REQUIRE(::chmod(folder.c_str(), 0750) == 0);
    give_to_other_user(store_notify_folder(store_path), 0770);
    REQUIRE(::chmod(store_locks_folder(store_path).c_str(), 0500) == 0);
    expect("cannot use the maildrop lock folder " + store_locks_folder(store_path));

    give_to_other_user(store_locks_folder(store_path), 0770);
    REQUIRE(::rmdir(store_notify_folder(store_path).c_str()) == 0);
    expect("cannot use the change notification folder " + store_notify_folder(store_path));

    REQUIRE(::mkdir(store_notify_folder(store_path).c_str(), 0770) == 0);
    give_to_other_user(store_notify_folder(store_path), 0770);
    CHECK(check_as_other_user(store_path).empty());  // no spool folder (mailctl makes none): fine

    // The daemons' spool folder, once it exists, must take new files.
    REQUIRE(create_side_folder(store_spool_folder(store_path), store_path).ok());
    REQUIRE(::chmod(store_spool_folder(store_path).c_str(), 0500) == 0);
    expect("cannot create files in the message spool folder " + store_spool_folder(store_path));
    give_to_other_user(store_spool_folder(store_path), 0770);
    CHECK(check_as_other_user(store_path).empty());
}

TEST_CASE("as root: hand_over_store gives every file to the user, and root's folders follow the store") {
    if (::geteuid() != 0) {
        MESSAGE("not run: hand_over_store and root-made folders need root (CI runs as root)");
        return;
    }
    Nobody who = nobody();
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // nobody may enter the temporary folder
    std::string folder = dir.file("mail");
    std::string store_path = folder + "/store.db";
    auto created = create_store_folder(store_path);
    REQUIRE(created.ok());
    CHECK(*created);
    {
        auto store = open_test_store(store_path);
        REQUIRE(store->add_domain("example.org").ok());
        auto alice = store->add_user("alice@example.org", "secret pw");
        REQUIRE(alice.ok());
        REQUIRE(store->lock_maildrop(alice->id).ok());
        REQUIRE(hand_over_store(store_path, who.uid, who.gid, true).ok());
        for (const std::string& path :
             {folder, store_path, store_path + "-wal", store_path + "-shm", store_locks_folder(store_path),
              store_maildrop_lock_file(store_path), store_notify_folder(store_path)}) {
            struct stat st {};
            REQUIRE(::lstat(path.c_str(), &st) == 0);
            INFO(path);
            CHECK(st.st_uid == who.uid);
            CHECK(st.st_gid == who.gid);
        }
    }
    // A daemon opens the store as root before it drops privileges: missing folders it makes
    // belong to the store's owner, not to root.
    std::filesystem::remove_all(store_locks_folder(store_path));
    std::filesystem::remove_all(store_notify_folder(store_path));
    {
        auto store = open_test_store(store_path);
        (void)store;
    }
    REQUIRE(create_side_folder(store_spool_folder(store_path), store_path).ok());  // as smtpd does
    for (const std::string& path :
         {store_locks_folder(store_path), store_notify_folder(store_path), store_spool_folder(store_path)}) {
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        INFO(path);
        CHECK(st.st_uid == who.uid);
        CHECK(st.st_gid == who.gid);
    }
    CHECK(check_as_other_user(store_path).empty());
}
