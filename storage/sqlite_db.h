// sqlite_db.h: small RAII wrappers over the SQLite C API for the SQLite backend only.
//
// A Connection is one sqlite3 handle opened with the store's pragmas (WAL,
// synchronous=FULL, foreign keys) and a busy handler that waits with backoff up to a
// deadline, so contention with other processes is waited out, not reported. A Statement is
// a prepared statement that resets itself. Errors become hikyaku::Error values.
//
// Must never: be included by store.h or anything outside storage/; let "database is
// locked" reach a caller as such (it becomes Errc::busy/io_error with our own words).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;
struct sqlite3_blob;

namespace hikyaku::storage::sqlite {

class Connection;

class Statement {
public:
    Statement() = default;
    Statement(Connection& connection, sqlite3_stmt* stmt, bool cached)
        : connection_(&connection), stmt_(stmt), cached_(cached) {}
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Bind by 1-based index.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);

    // Advances: true when a row is available, false when done; error on failure.
    Result<bool> step();
    // Runs to completion, ignoring rows.
    Status run();

    std::int64_t column_int(int index) const;
    std::string column_text(int index) const;
    std::string column_blob(int index) const;
    bool column_is_null(int index) const;

    void reset();

private:
    void release();
    Connection* connection_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    bool cached_ = false;  // owned by the connection's cache: reset, not finalized
};

class Connection {
public:
    enum class Mode { read_write, read_write_create, read_only };

    // `vfs`: a registered SQLite VFS by name (cache_only_vfs for the store's readers), or
    // nullptr for the default one.
    static Result<Connection> open(const std::string& path, Mode mode, std::chrono::milliseconds busy_timeout,
                                   const char* vfs = nullptr);
    Connection() = default;
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Executes one or more statements with no parameters and no results needed.
    Status exec(std::string_view sql);
    // Prepares a statement, reusing a cached one for the same SQL text when it is not in use.
    Result<Statement> prepare(std::string_view sql);
    // Convenience: first column of the first row as an integer.
    Result<std::int64_t> query_int(std::string_view sql);

    // Bytes [offset, offset+length) of one BLOB cell, read incrementally (no whole copy);
    // shorter at the end, empty past it.
    Result<std::string> read_blob_range(const char* table, const char* column, std::int64_t rowid, std::uint64_t offset,
                                        std::size_t length);
    // Whole BLOB cells of one column, one after another: the handle is moved from row to row
    // (sqlite3_blob_reopen) instead of set up again, and the bytes are read straight into the
    // string returned (no copy in SQLite's record buffer first). Within one transaction.
    class BlobCells {
    public:
        BlobCells(Connection& connection, const char* table, const char* column)
            : connection_(connection), table_(table), column_(column) {}
        ~BlobCells();
        BlobCells(const BlobCells&) = delete;
        BlobCells& operator=(const BlobCells&) = delete;
        Result<std::string> read(std::int64_t rowid);

    private:
        Connection& connection_;
        const char* table_;
        const char* column_;
        sqlite3_blob* blob_ = nullptr;
    };
    // Writes `bytes` into an existing blob (made with zeroblob(N)) in pieces, so a large
    // message never sits in SQLite's record buffer as a second copy.
    Status write_blob(const char* table, const char* column, std::int64_t rowid, std::string_view bytes);

    std::int64_t last_insert_rowid() const;
    int changes() const;
    sqlite3* handle() const { return db_; }

    // Builds an Error from the connection's last error, with `what` as context. BUSY and
    // LOCKED become Errc::busy with our own message.
    Error error(int rc, std::string_view what) const;

    struct State;  // busy-handler clock and statement cache (stable address)

private:
    friend class Statement;
    void give_back(sqlite3_stmt* stmt);
    void close();

    sqlite3* db_ = nullptr;
    std::unique_ptr<State> state_;
};

// RAII transaction on one connection: BEGIN IMMEDIATE (writers) or BEGIN (readers);
// rolls back unless committed.
class Transaction {
public:
    enum class Kind { read, write };
    static Result<Transaction> begin(Connection& connection, Kind kind);
    Transaction(Transaction&& other) noexcept : connection_(other.connection_) { other.connection_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Status commit();

private:
    explicit Transaction(Connection& connection) : connection_(&connection) {}
    Connection* connection_ = nullptr;
};

}  // namespace hikyaku::storage::sqlite
