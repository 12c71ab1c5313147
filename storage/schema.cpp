// schema.cpp: the store's tables, one migration per schema version.
//
// Tables (DESIGN "Storage"):
//   meta          key/value: the last UIDVALIDITY handed out (strictly increasing).
//   domains       the local domains.
//   users         one per mailbox owner: address, argon2id hash, quota, usage counters.
//   aliases       address -> user, many rows per alias address.
//   mailboxes     per user: name ("/" hierarchy), special-use, UIDVALIDITY, UIDNEXT,
//                 HIGHESTMODSEQ, the first UID not yet claimed as \Recent (version 2).
//   subscriptions per user, by name (may name a mailbox that does not exist).
//   messages      the raw bytes stored once, size, MIME structure cache blob.
//   entries       a message in a mailbox: UID, flags, keywords, modseq, internal date.
//   expunged      the UIDs removed from a mailbox with the modseq of their removal; kept
//                 as long as the mailbox (never pruned), so a QRESYNC client resyncs from
//                 any modseq however long it was offline (RFC 7162 3.2.5; issue 13 asks for
//                 a week at least). One small row per expunged UID.
//   queue         (v3) outbound recipients waiting for the delivery agent, each referring
//                 to a stored message; (v4) ids never reused (AUTOINCREMENT).
//   (v5) entries.save_date: when the entry was added to its mailbox (RFC 8514 SAVEDATE).
//   message_text  (v6) the full-text index (FTS5, trigram) of each message's search text;
//   unindexed_text (v6) the messages a search must read because they have no index row.
//   (v7) users.quota_messages: the most messages a user may keep (0 = unlimited).
//
// Must never: edit a shipped migration; rely on rowids that a VACUUM could renumber
// (every referenced id is an INTEGER PRIMARY KEY).
#include "storage/schema.h"

#include <array>
#include <string>

namespace hikyaku::storage {

namespace {

constexpr std::array<const char*, 7> kMigrations = {
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
    // version 2: RFC 3501 \Recent, claimed by the first session that selects read-write.
    R"sql(
ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
)sql",
    // version 3: the outbound queue (storage/queue.h): one row per remote recipient of a
    // stored message. Times are seconds since the epoch.
    R"sql(
CREATE TABLE queue(
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_reply   TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL,
    held         INTEGER NOT NULL DEFAULT 0,
    delay_warned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_due ON queue(held, next_attempt);
CREATE INDEX queue_message ON queue(message_id);
)sql",
    // version 4: queue ids are never reused. A plain INTEGER PRIMARY KEY hands the id of a
    // deleted last row to the next insert, and the delivery agent, which leaves its entries
    // in flight out of a fetch by id, then overlooked a new entry (a bounce written with the
    // outcome that deleted its id) until its next tick. The copy keeps every id; inserting
    // them sets the AUTOINCREMENT high-water mark.
    R"sql(
CREATE TABLE queue_v4(
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_reply   TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL,
    held         INTEGER NOT NULL DEFAULT 0,
    delay_warned INTEGER NOT NULL DEFAULT 0
);
INSERT INTO queue_v4(id, message_id, sender, recipient, attempts, next_attempt, last_reply, created, held,
                     delay_warned)
    SELECT id, message_id, sender, recipient, attempts, next_attempt, last_reply, created, held, delay_warned
    FROM queue;
DROP TABLE queue;
ALTER TABLE queue_v4 RENAME TO queue;
CREATE INDEX queue_due ON queue(held, next_attempt);
CREATE INDEX queue_message ON queue(message_id);
)sql",
    // version 5: the save date of each entry (RFC 8514), seconds since the epoch; 0 for the
    // entries stored before, whose save date is unknown.
    R"sql(
ALTER TABLE entries ADD COLUMN save_date INTEGER NOT NULL DEFAULT 0;
)sql",
    // version 6: the full-text index of IMAP SEARCH BODY/TEXT. message_text holds each
    // message's folded search text (storage/types.h SearchText) under the message's id;
    // SQLite's trigram tokenizer indexes every 3-character substring, so a substring search
    // of 3 characters or more is answered by the index (RFC 9051 6.4.4 asks for substrings,
    // which a word index cannot answer). Messages without a row there are listed in
    // unindexed_text: those stored before this version (pending: `mailctl index` indexes
    // them), and those that cannot be (too much text, no MIME structure); a search reads
    // them. Both tables follow a message's deletion by trigger.
    R"sql(
CREATE VIRTUAL TABLE message_text USING fts5(header, body, tokenize = 'trigram case_sensitive 1');
CREATE TABLE unindexed_text(
    message_id INTEGER PRIMARY KEY,
    pending    INTEGER NOT NULL DEFAULT 1
);
INSERT INTO unindexed_text(message_id) SELECT id FROM messages;
CREATE TRIGGER message_text_dropped AFTER DELETE ON messages BEGIN
    DELETE FROM message_text WHERE rowid = old.id;
    DELETE FROM unindexed_text WHERE message_id = old.id;
END;
)sql",
    // version 7: a limit on the number of messages a user keeps (RFC 9208 5.2, the MESSAGE
    // resource), beside quota_bytes; 0 = unlimited. used_messages (version 1) is its usage.
    R"sql(
ALTER TABLE users ADD COLUMN quota_messages INTEGER NOT NULL DEFAULT 0;
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
        return make_error(Errc::unsupported, "store " + path + " has schema version " + std::to_string(version) +
                                                 ", newer than this build of hikyaku supports (" +
                                                 std::to_string(schema_version()) + "); upgrade hikyaku");
    }
    if (version < 0) return make_error(Errc::internal, "store " + path + " has a negative schema version");
    for (int v = version; v < schema_version(); ++v) {
        if (auto s = connection.exec(kMigrations[static_cast<std::size_t>(v)]); !s) {
            return make_error(s.error().code, "migrating store " + path + " to version " + std::to_string(v + 1) +
                                                  ": " + s.error().message);
        }
    }
    if (version != schema_version()) {
        if (auto s = connection.exec("PRAGMA user_version=" + std::to_string(schema_version())); !s) return s.error();
    }
    if (auto s = txn->commit(); !s) return s.error();
    return version;
}

}  // namespace hikyaku::storage
