// store_test_support.h: fixtures shared by the store tests: a temporary store directory,
// a store opened with a cheap argon2 cost, the two backends the contract tests run against
// (TEST_CASE_TEMPLATE over STORE_BACKENDS: SQLite and the in-memory store), and two dumps
// so a test can prove that a refused call left the store unchanged: everything the roles
// show (both backends) and every row of the SQLite file (that backend).
//
// Must never: touch a store outside its own temporary directory; hide an open error.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/authenticate.h"
#include "storage/memory_store.h"
#include "storage/store.h"

namespace hikyaku::storage::test {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "hikyaku-store-XXXXXX").string();
        char* made = ::mkdtemp(pattern.data());
        REQUIRE(made != nullptr);
        path_ = made;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline StoreOptions test_options(const std::string& path) {
    StoreOptions options;
    options.path = path;
    options.create = true;
    options.argon2_memory_kib = 256;  // tests hash many passwords; production uses 19 MiB
    options.argon2_iterations = 1;
    options.change_poll_interval = std::chrono::milliseconds(100);
    return options;
}

inline std::unique_ptr<Store> open_test_store(const std::string& path, StoreOptions options) {
    options.path = path;
    auto store = open_store(options);
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    return std::move(*store);
}

inline std::unique_ptr<Store> open_test_store(const std::string& path) {
    return open_test_store(path, test_options(path));
}

// Every row of every table, in a stable order, plus the schema version: equal dumps mean
// equal stores for every purpose the interface can observe.
inline std::string dump_store(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::string out;
    auto run = [&](const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK, sql);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); ++i) {
                auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
                out.append(p ? p : "<null>", p ? static_cast<std::size_t>(sqlite3_column_bytes(st, i)) : 6);
                out += '|';
            }
            out += '\n';
        }
        sqlite3_finalize(st);
    };
    run("PRAGMA user_version");
    std::vector<std::string> tables;
    {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", -1, &st, nullptr);
        while (sqlite3_step(st) == SQLITE_ROW)
            tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
    }
    for (const auto& t : tables) {
        out += "== " + t + "\n";
        run("SELECT * FROM \"" + t + "\" ORDER BY 1, 2");
    }
    sqlite3_close(db);
    return out;
}

// Everything the roles show of a store, in a stable order: domains; each user with their
// password hash, quota and usage, addresses, subscriptions, and each mailbox with its
// counters, every entry (flags, keywords, modseq, date, size, structure, bytes) and its
// expunge log; aliases; the counts of stats() (not file_bytes). Equal dumps mean stores no
// call of the interface can tell apart, except by the UIDVALIDITY a new mailbox would get.
inline std::string dump_observable(Store& store) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    auto list = [](const std::vector<std::string>& items) {
        std::string joined;
        for (const auto& item : items) joined += item + ",";
        return joined;
    };
    auto domains = store.list_domains();
    REQUIRE(domains.ok());
    line("domains " + list(*domains));
    auto queue = store.list_queue();
    REQUIRE(queue.ok());
    for (const QueuedRecipient& q : *queue)
        line("queued " + std::to_string(q.id) + " message=" + std::to_string(q.message) + " <" + q.sender + "> <" +
             q.recipient + "> attempts=" + std::to_string(q.attempts) +
             " next=" + std::to_string(q.next_attempt.time_since_epoch().count()) + " held=" + std::to_string(q.held) +
             " warned=" + std::to_string(q.delay_warned) + " reply=" + q.last_reply);
    auto users = store.list_users();
    REQUIRE(users.ok());
    for (const User& u : *users) {
        auto credentials = store.find_credentials(u.address);
        REQUIRE(credentials.ok());
        auto usage = store.quota_usage(u.id);
        REQUIRE(usage.ok());
        auto addresses = store.addresses_of(u.id);
        REQUIRE(addresses.ok());
        auto subscriptions = store.list_subscriptions(u.id);
        REQUIRE(subscriptions.ok());
        line("user " + std::to_string(u.id) + " " + u.address + " quota=" + std::to_string(u.quota_bytes) +
             " hash=" + credentials->password_hash + " used=" + std::to_string(usage->used_bytes) + "/" +
             std::to_string(usage->messages) + " limit=" + std::to_string(usage->limit_bytes) + "/" +
             std::to_string(usage->limit_messages) + " message_quota=" + std::to_string(u.quota_messages));
        line("  addresses " + list(*addresses));
        line("  subscriptions " + list(*subscriptions));
        auto mailboxes = store.list_mailboxes(u.id);
        REQUIRE(mailboxes.ok());
        for (const MailboxInfo& m : *mailboxes) {
            auto status = store.mailbox_status(m.id);
            REQUIRE(status.ok());
            line("  mailbox " + std::to_string(m.id) + " " + m.name + " use=" +
                 std::to_string(static_cast<int>(m.special_use)) + " subscribed=" + std::to_string(m.subscribed) +
                 " children=" + std::to_string(m.has_children) + " uidvalidity=" + std::to_string(m.uidvalidity) +
                 " uidnext=" + std::to_string(m.uidnext) + " highestmodseq=" + std::to_string(m.highestmodseq) +
                 " status=" + std::to_string(status->messages) + "/" + std::to_string(status->unseen) + "/" +
                 std::to_string(status->deleted) + "/" + std::to_string(status->size));
            UidRange all[] = {{1, kMaxUid}};
            auto entries = store.fetch_entries(m.id, all, {.with_structure = true});
            REQUIRE(entries.ok());
            for (const Entry& e : *entries) {
                auto raw = store.read_message(m.id, e.uid);
                REQUIRE(raw.ok());
                line("    entry " + std::to_string(e.uid) + " message=" + std::to_string(e.message) + " flags=" +
                     std::to_string(e.flags) + " keywords=" + list(e.keywords) + " modseq=" + std::to_string(e.modseq) +
                     " date=" + std::to_string(e.internal_date.time_since_epoch().count()) + " size=" +
                     std::to_string(e.size) + " structure=" + e.structure.value_or("<none>") + " raw=" + *raw);
            }
            auto changes = store.changes_since(m.id, 0);
            REQUIRE(changes.ok());
            std::string expunged;
            for (Uid uid : changes->expunged) expunged += std::to_string(uid) + ",";
            line("    expunged " + expunged);
        }
    }
    auto aliases = store.list_aliases();
    REQUIRE(aliases.ok());
    for (const Alias& a : *aliases) line("alias " + a.address + " -> " + list(a.targets));
    auto stats = store.stats();
    REQUIRE(stats.ok());
    line("stats " + std::to_string(stats->domains) + " " + std::to_string(stats->users) + " " +
         std::to_string(stats->aliases) + " " + std::to_string(stats->mailboxes) + " " +
         std::to_string(stats->messages) + " " + std::to_string(stats->entries) + " " +
         std::to_string(stats->message_bytes));
    return out;
}

// The backends of the contract tests: TEST_CASE_TEMPLATE("...", B, STORE_BACKENDS).
struct SqliteBackend {
    static constexpr bool has_file = true;
    static std::unique_ptr<Store> open(const StoreOptions& options) { return open_test_store(options.path, options); }
};
struct MemoryBackend {
    static constexpr bool has_file = false;
    static std::unique_ptr<Store> open(const StoreOptions& options) { return open_memory_store(options); }
};
#define STORE_BACKENDS hikyaku::storage::test::SqliteBackend, hikyaku::storage::test::MemoryBackend

// A store of backend B in a directory of its own (SQLite keeps its file there).
template <class B>
struct BackendStore {
    TempDir dir;
    std::string path = dir.file("mail.db");
    std::unique_ptr<Store> store;

    BackendStore() : BackendStore(test_options("")) {}
    // options.path is replaced by the store's own.
    explicit BackendStore(StoreOptions options) {
        options.path = path;
        store = B::open(options);
    }

    // What a refused call must leave as it was: the roles' view, and for SQLite the file.
    std::string snapshot() {
        std::string out = dump_observable(*store);
        if constexpr (B::has_file) out += dump_store(path);
        return out;
    }
};

// The password check the daemons make (storage/authenticate.h), at the tests' cheap cost.
inline Result<User> authenticate(Store& store, std::string_view address, std::string_view password) {
    static PasswordVerifier verifier(PasswordCost{256, 1, 1});
    return verifier.authenticate(store, address, password);
}

inline TimePoint at(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

inline std::string test_message(const std::string& tag, std::size_t body_bytes = 64) {
    std::string m = "From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: test " + tag + "\r\nMessage-ID: <" +
                    tag + "@example.org>\r\nX-Test-Tag: " + tag + "\r\n\r\n";
    while (body_bytes > 0) {
        std::string line = "body of " + tag + " ";
        line.resize(std::min<std::size_t>(body_bytes, 70), 'x');
        m += line + "\r\n";
        body_bytes -= std::min<std::size_t>(body_bytes, 70);
    }
    return m;
}

// A store of backend B with example.com, alice and bob (each with add_user's mailboxes).
template <class B>
struct TwoUsers : BackendStore<B> {
    User alice, bob;
    MailboxInfo alice_inbox, bob_inbox;

    TwoUsers() { add_users(); }
    explicit TwoUsers(StoreOptions options) : BackendStore<B>(std::move(options)) { add_users(); }

    void add_users() {
        Store& s = *this->store;
        REQUIRE(s.add_domain("example.com").ok());
        alice = *s.add_user("alice@example.com", "pw-a");
        bob = *s.add_user("bob@example.com", "pw-b");
        alice_inbox = *s.inbox(alice.id);
        bob_inbox = *s.inbox(bob.id);
    }

    // Delivers test_message(tag, body) to one user; the UID it got.
    Uid deliver(UserId to, const std::string& tag, std::size_t body = 64) {
        UserId rcpt[] = {to};
        auto r = this->store->deliver(test_message(tag, body), rcpt, at(1700000000));
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
        return r->entries.front().uid;
    }

    // Every UID in the mailbox, increasing.
    std::vector<Uid> uids(MailboxId mailbox) {
        UidRange all[] = {{1, kMaxUid}};
        auto entries = this->store->fetch_entries(mailbox, all);
        REQUIRE(entries.ok());
        std::vector<Uid> out;
        for (const auto& e : *entries) out.push_back(e.uid);
        return out;
    }
};

}  // namespace hikyaku::storage::test

TYPE_TO_STRING_AS("sqlite", hikyaku::storage::test::SqliteBackend);
TYPE_TO_STRING_AS("memory", hikyaku::storage::test::MemoryBackend);
