// store_test_support.h: fixtures shared by the store tests: a temporary store directory,
// a store opened with a cheap argon2 cost, and a byte-exact dump of every table so a test
// can prove that a refused call left the store unchanged.
//
// Must never: touch a store outside its own temporary directory; hide an open error.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

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

inline TimePoint at(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

inline std::string test_message(const std::string& tag, std::size_t body_bytes = 64) {
    std::string m = "From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: test " + tag +
                    "\r\nMessage-ID: <" + tag + "@example.org>\r\nX-Test-Tag: " + tag + "\r\n\r\n";
    while (body_bytes > 0) {
        std::string line = "body of " + tag + " ";
        line.resize(std::min<std::size_t>(body_bytes, 70), 'x');
        m += line + "\r\n";
        body_bytes -= std::min<std::size_t>(body_bytes, 70);
    }
    return m;
}

}  // namespace hikyaku::storage::test
