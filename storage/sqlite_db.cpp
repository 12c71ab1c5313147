// sqlite_db.cpp: RAII wrappers over the SQLite C API (see sqlite_db.h).
//
// Must never: surface SQLITE_BUSY as "database is locked"; leave a transaction open when an
// error unwinds; finalize a cached statement that a caller still holds.
#include "storage/sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <thread>
#include <unordered_map>

namespace hikyaku::storage::sqlite {

namespace {

using Clock = std::chrono::steady_clock;
// The largest part of a store file each connection reads through a memory map (PRAGMA mmap_size).
constexpr std::int64_t kMmapSize = std::int64_t{1} << 30;

}  // namespace

struct Connection::State {
    std::chrono::milliseconds timeout{0};
    Clock::time_point busy_since{};
    std::minstd_rand jitter{std::random_device{}()};
    // SQL text -> (statement, in use)
    std::unordered_map<std::string, std::pair<sqlite3_stmt*, bool>> cache;
};

namespace {

// Waits out another writer: short sleeps first (a commit takes a few milliseconds), growing
// to at most 8 ms with jitter so several processes do not wake in lockstep. Gives up after
// the connection's timeout; the caller then reports Errc::busy in its own words.
int busy_handler(void* arg, int count) {
    auto* state = static_cast<Connection::State*>(arg);
    auto now = Clock::now();
    if (count == 0) state->busy_since = now;
    if (now - state->busy_since >= state->timeout) return 0;
    int base_us = count < 8 ? 200 : count < 32 ? 1000 : 4000;
    std::uniform_int_distribution<int> spread(base_us / 2, base_us * 2);
    std::this_thread::sleep_for(std::chrono::microseconds(spread(state->jitter)));
    return 1;
}

}  // namespace

// ---- Statement ------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_), stmt_(other.stmt_), cached_(other.cached_) {
    other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        release();
        connection_ = other.connection_;
        stmt_ = other.stmt_;
        cached_ = other.cached_;
        other.stmt_ = nullptr;
    }
    return *this;
}

Statement::~Statement() { release(); }

void Statement::release() {
    if (!stmt_) return;
    if (cached_) {
        connection_->give_back(stmt_);
    } else {
        sqlite3_finalize(stmt_);
    }
    stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text64(stmt_, index, text.data() ? text.data() : "", text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    // SQLITE_STATIC: the caller keeps the bytes alive until the statement is stepped/reset;
    // every call site binds and steps within one expression scope.
    sqlite3_bind_blob64(stmt_, index, bytes.data() ? bytes.data() : "", bytes.size(), SQLITE_STATIC);
    return *this;
}

Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Error e = connection_->error(rc, "step");
    sqlite3_reset(stmt_);
    return e;
}

Status Statement::run() {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) break;
    }
    sqlite3_reset(stmt_);
    return {};
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
    int n = sqlite3_column_bytes(stmt_, index);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string Statement::column_blob(int index) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
    int n = sqlite3_column_bytes(stmt_, index);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

// ---- Connection -----------------------------------------------------------------------

Result<Connection> Connection::open(const std::string& path, Mode mode, std::chrono::milliseconds busy_timeout,
                                    const char* vfs) {
    int flags = SQLITE_OPEN_NOMUTEX;  // one thread uses a connection at a time (pooled)
    switch (mode) {
        case Mode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
        case Mode::read_write_create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
        case Mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
    }
    Connection c;
    c.state_ = std::make_unique<State>();
    c.state_->timeout = busy_timeout;
    int rc = sqlite3_open_v2(path.c_str(), &c.db_, flags, vfs);
    if (rc != SQLITE_OK) {
        std::string msg = c.db_ ? sqlite3_errmsg(c.db_) : sqlite3_errstr(rc);
        return make_error(Errc::io_error, "cannot open store " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(c.db_, 1);
    sqlite3_busy_handler(c.db_, busy_handler, c.state_.get());
    // WAL: readers never block the writer nor each other. synchronous=FULL: a commit is on
    // disk when COMMIT returns. Foreign keys keep entries from outliving their mailbox.
    if (auto s = c.exec("PRAGMA foreign_keys=ON"); !s) return s.error();
    if (mode != Mode::read_only) {
        if (auto s = c.exec("PRAGMA journal_mode=WAL"); !s) return s.error();
    }
    if (auto s = c.exec("PRAGMA synchronous=FULL"); !s) return s.error();
    // Reads through a memory map instead of one pread per page: a 100 KB message spans ~25
    // overflow pages, and the syscalls and copies were a third of POP3 RETR's CPU. Only reads
    // use the map (SQLite writes through write(2) unless built with SQLITE_MMAP_READWRITE);
    // pages still in the WAL are read as before. The size bounds address space, not memory.
    if (auto s = c.exec("PRAGMA mmap_size=" + std::to_string(kMmapSize)); !s) return s.error();
    return c;
}

Connection::Connection(Connection&& other) noexcept : db_(other.db_), state_(std::move(other.state_)) {
    other.db_ = nullptr;
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        db_ = other.db_;
        state_ = std::move(other.state_);
        other.db_ = nullptr;
    }
    return *this;
}

Connection::~Connection() { close(); }

void Connection::close() {
    if (!db_) return;
    if (state_) {
        for (auto& [sql, entry] : state_->cache) sqlite3_finalize(entry.first);
        state_->cache.clear();
    }
    sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Connection::give_back(sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (auto& [sql, entry] : state_->cache) {
        if (entry.first == stmt) {
            entry.second = false;
            return;
        }
    }
    sqlite3_finalize(stmt);
}

Status Connection::exec(std::string_view sql) {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        sqlite3_free(err);
        return error(rc, "exec");
    }
    return {};
}

Result<Statement> Connection::prepare(std::string_view sql) {
    std::string key(sql);
    auto it = state_->cache.find(key);
    if (it != state_->cache.end() && !it->second.second) {
        it->second.second = true;
        return Statement(*this, it->second.first, true);
    }
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, "prepare");
    if (it == state_->cache.end()) {
        state_->cache.emplace(std::move(key), std::make_pair(stmt, true));
        return Statement(*this, stmt, true);
    }
    return Statement(*this, stmt, false);  // same SQL already in use (nested): one-off
}

Result<std::int64_t> Connection::query_int(std::string_view sql) {
    auto stmt = prepare(sql);
    if (!stmt) return stmt.error();
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::internal, "query returned no row: " + std::string(sql));
    return stmt->column_int(0);
}

Result<std::string> Connection::read_blob_range(const char* table, const char* column, std::int64_t rowid,
                                                std::uint64_t offset, std::size_t length) {
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 0, &blob);
    if (rc != SQLITE_OK) return error(rc, "blob open");
    std::uint64_t size = static_cast<std::uint64_t>(sqlite3_blob_bytes(blob));
    std::string out;
    if (offset < size) {
        std::uint64_t n = std::min<std::uint64_t>(length, size - offset);
        out.resize(static_cast<std::size_t>(n));
        rc = sqlite3_blob_read(blob, out.data(), static_cast<int>(n), static_cast<int>(offset));
        if (rc != SQLITE_OK) {
            sqlite3_blob_close(blob);
            return error(rc, "blob read");
        }
    }
    sqlite3_blob_close(blob);
    return out;
}

Connection::BlobCells::~BlobCells() {
    if (blob_) sqlite3_blob_close(blob_);
}

Result<std::string> Connection::BlobCells::read(std::int64_t rowid) {
    const int rc = blob_ ? sqlite3_blob_reopen(blob_, rowid)
                         : sqlite3_blob_open(connection_.db_, "main", table_, column_, rowid, 0, &blob_);
    if (rc != SQLITE_OK) {
        // After a failed reopen the handle is aborted: only closing it is left.
        if (blob_) sqlite3_blob_close(blob_);
        blob_ = nullptr;
        return connection_.error(rc, "blob open");
    }
    std::string out(static_cast<std::size_t>(sqlite3_blob_bytes(blob_)), '\0');
    if (!out.empty()) {
        const int read = sqlite3_blob_read(blob_, out.data(), static_cast<int>(out.size()), 0);
        if (read != SQLITE_OK) return connection_.error(read, "blob read");
    }
    return out;
}

Status Connection::write_blob(const char* table, const char* column, std::int64_t rowid, std::string_view bytes) {
    constexpr std::size_t kPiece = 1024 * 1024;
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 1, &blob);
    if (rc != SQLITE_OK) return error(rc, "blob open");
    for (std::size_t offset = 0; offset < bytes.size(); offset += kPiece) {
        const std::size_t n = std::min(kPiece, bytes.size() - offset);
        rc = sqlite3_blob_write(blob, bytes.data() + offset, static_cast<int>(n), static_cast<int>(offset));
        if (rc != SQLITE_OK) {
            sqlite3_blob_close(blob);
            return error(rc, "blob write");
        }
    }
    rc = sqlite3_blob_close(blob);
    if (rc != SQLITE_OK) return error(rc, "blob close");
    return {};
}

std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const { return sqlite3_changes(db_); }

Error Connection::error(int rc, std::string_view what) const {
    int primary = rc & 0xFF;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        return make_error(Errc::busy, "store is busy: other writers held it for longer than " +
                                          std::to_string(state_ ? state_->timeout.count() : 0) + " ms");
    }
    if (primary == SQLITE_CONSTRAINT) {
        return make_error(Errc::already_exists,
                          std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    }
    if (primary == SQLITE_FULL) return make_error(Errc::io_error, "store: disk full");
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        return make_error(Errc::internal, "store file is damaged or not a store: " +
                                              std::string(db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    }
    return make_error(Errc::io_error,
                      "store " + std::string(what) + " failed: " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
}

// ---- Transaction ----------------------------------------------------------------------

namespace {

// BEGIN and COMMIT run through the statement cache: sqlite3_exec would parse them again for
// every transaction, and a POP3 RETR is one short read transaction.
Status run_cached(Connection& connection, std::string_view sql) {
    auto statement = connection.prepare(sql);
    if (!statement) return statement.error();
    return statement->run();
}

}  // namespace

Result<Transaction> Transaction::begin(Connection& connection, Kind kind) {
    auto s = run_cached(connection, kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!s) return s.error();
    return Transaction(connection);
}

Transaction::~Transaction() {
    if (connection_ && !sqlite3_get_autocommit(connection_->handle())) {
        (void)connection_->exec("ROLLBACK");
    }
}

Status Transaction::commit() {
    if (!connection_) return make_error(Errc::internal, "commit without transaction");
    auto s = run_cached(*connection_, "COMMIT");
    if (!s) return s;
    connection_ = nullptr;
    return {};
}

}  // namespace hikyaku::storage::sqlite
