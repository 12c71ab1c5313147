// schema.cpp: the store's tables, one migration per schema version.
//
// Tables (DESIGN "Storage"):
//   meta          key/value: the last UIDVALIDITY handed out (strictly increasing).
//   domains       the local domains.
//   users         one per mailbox owner: address, argon2id hash, quota, usage counters.
//   aliases       address -> user, many rows per alias address.
//   mailboxes     per user: name ("/" hierarchy), special-use, UIDVALIDITY, UIDNEXT,
//                 HIGHESTMODSEQ.
//   subscriptions per user, by name (may name a mailbox that does not exist).
//   messages      the raw bytes stored once, size, MIME structure cache blob.
//   entries       a message in a mailbox: UID, flags, keywords, modseq, internal date.
//   expunged      the UIDs removed from a mailbox with the modseq of their removal.
//
// Must never: edit a shipped migration; rely on rowids that a VACUUM could renumber
// (every referenced id is an INTEGER PRIMARY KEY).
#include "storage/schema.h"

#include <array>
#include <string>

namespace hikyaku::storage {

namespace {

constexpr std::array<const char*, 1> kMigrations = {
    // version 1: the first schema.
    R"sql(
CREATE TABLE meta(
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('last_uidvalidity', 0);

CREATE TABLE domains(
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE users(
    id            INTEGER PRIMARY KEY,
    domain_id     INTEGER NOT NULL REFERENCES domains(id),
    address       TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    quota_bytes   INTEGER NOT NULL DEFAULT 0,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    used_messages INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_domain ON users(domain_id);

-- The primary-key columns come first: SQLite 3.40's integrity_check misreads a NOT NULL
-- column that sits between the key columns of a WITHOUT ROWID table ("NULL value in").
CREATE TABLE aliases(
    address   TEXT NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    PRIMARY KEY(address, user_id)
) WITHOUT ROWID;
CREATE INDEX aliases_user ON aliases(user_id);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE mailboxes(
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    special_use   INTEGER NOT NULL DEFAULT 0,
    uidvalidity   INTEGER NOT NULL,
    uidnext       INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    UNIQUE(user_id, name)
);

CREATE TABLE subscriptions(
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    PRIMARY KEY(user_id, name)
) WITHOUT ROWID;

CREATE TABLE messages(
    id        INTEGER PRIMARY KEY,
    size      INTEGER NOT NULL,
    structure BLOB,
    raw       BLOB NOT NULL
);

CREATE TABLE entries(
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    message_id    INTEGER NOT NULL REFERENCES messages(id),
    flags         INTEGER NOT NULL DEFAULT 0,
    keywords      TEXT NOT NULL DEFAULT '',
    modseq        INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    PRIMARY KEY(mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX entries_message ON entries(message_id);
CREATE INDEX entries_modseq ON entries(mailbox_id, modseq);

CREATE TABLE expunged(
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY(mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
)sql",
};

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

Result<int> migrate(sqlite::Connection& connection, const std::string& path) {
    auto txn = sqlite::Transaction::begin(connection, sqlite::Transaction::Kind::write);
    if (!txn) return txn.error();
    auto found = connection.query_int("PRAGMA user_version");
    if (!found) return found.error();
    int version = static_cast<int>(*found);
    if (version > schema_version()) {
        return make_error(Errc::unsupported,
                          "store " + path + " has schema version " + std::to_string(version) +
                              ", newer than this build of hikyaku supports (" +
                              std::to_string(schema_version()) + "); upgrade hikyaku");
    }
    if (version < 0) return make_error(Errc::internal, "store " + path + " has a negative schema version");
    for (int v = version; v < schema_version(); ++v) {
        if (auto s = connection.exec(kMigrations[static_cast<std::size_t>(v)]); !s) {
            return make_error(s.error().code, "migrating store " + path + " to version " +
                                                  std::to_string(v + 1) + ": " + s.error().message);
        }
    }
    if (version != schema_version()) {
        if (auto s = connection.exec("PRAGMA user_version=" + std::to_string(schema_version())); !s)
            return s.error();
    }
    if (auto s = txn->commit(); !s) return s.error();
    return version;
}

}  // namespace hikyaku::storage
