// sqlite_store.cpp: the SQLite backend of the mailbox store (see sqlite_store.h, store.h).
//
// Every mutating call is one write job run by the GroupCommitWriter inside its own
// savepoint: it either applies entirely or not at all, and returns after the commit is
// durable. Reads take one read transaction on a pooled connection, so each call sees one
// consistent snapshot.
//
// Must never: let a UID go backwards or be reused in a mailbox (uidnext only grows);
// change an entry without raising its mailbox's HIGHESTMODSEQ; store a message without
// counting it against its owner's quota; leave a message row that no mailbox entry or queue
// entry references.
#include "storage/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "storage/cache_only_vfs.h"
#include "storage/message.h"
#include "storage/schema.h"
#include "storage/store_files.h"
#include "storage/store_rules.h"

namespace hikyaku::storage {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

#define HK_RETURN_IF_ERROR(expr)                                              \
    do {                                                                      \
        if (auto hk_status_ = (expr); !hk_status_) return hk_status_.error(); \
    } while (0)

namespace {

// ---- binding helpers -------------------------------------------------------------------

struct Blob {
    std::string_view bytes;
    bool is_null = false;
};

template <class T>
void bind_one(Statement& st, int index, const T& value) {
    if constexpr (std::is_same_v<T, Blob>) {
        if (value.is_null) st.bind_null(index);
        else st.bind_blob(index, value.bytes);
    } else if constexpr (std::is_integral_v<T>) {
        st.bind(index, static_cast<std::int64_t>(value));
    } else {
        st.bind(index, std::string_view(value));
    }
}

template <class... Args>
Result<Statement> query(Connection& db, std::string_view sql, const Args&... args) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    int index = 1;
    (bind_one(*st, index++, args), ...);
    (void)index;
    return st;
}

template <class... Args>
Status exec(Connection& db, std::string_view sql, const Args&... args) {
    auto st = query(db, sql, args...);
    if (!st) return st.error();
    return st->run();
}

// First column of the first row, or nullopt when there is no row.
template <class... Args>
Result<std::optional<std::int64_t>> query_optional_int(Connection& db, std::string_view sql, const Args&... args) {
    auto st = query(db, sql, args...);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(st->column_int(0));
}

template <class... Args>
Result<std::int64_t> query_count(Connection& db, std::string_view sql, const Args&... args) {
    auto v = query_optional_int(db, sql, args...);
    if (!v) return v.error();
    return v->value_or(0);
}

Error not_found(std::string message) { return make_error(Errc::not_found, std::move(message)); }
Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

// ---- keywords ------------------------------------------------------------------------

std::string join_keywords(const std::set<std::string>& keywords) {
    std::string out;
    for (const auto& k : keywords) {
        if (!out.empty()) out += ' ';
        out += k;
    }
    return out;
}

std::set<std::string> split_keywords(std::string_view text) {
    std::set<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find(' ', start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) out.emplace(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::vector<std::string> keyword_list(std::string_view text) {
    auto set = split_keywords(text);
    return {set.begin(), set.end()};
}

// ---- rows ----------------------------------------------------------------------------

struct UserRow {
    User user;
    std::int64_t domain_id = 0;
    std::string password_hash;
    std::uint64_t used_bytes = 0;
    std::uint64_t used_messages = 0;
};

constexpr const char* kUserColumns =
    "SELECT id, address, quota_bytes, domain_id, password_hash, used_bytes, used_messages, quota_messages "
    "FROM users ";

UserRow user_from(const Statement& st) {
    UserRow row;
    row.user.id = st.column_int(0);
    row.user.address = st.column_text(1);
    row.user.quota_bytes = static_cast<std::uint64_t>(st.column_int(2));
    row.domain_id = st.column_int(3);
    row.password_hash = st.column_text(4);
    row.used_bytes = static_cast<std::uint64_t>(st.column_int(5));
    row.used_messages = static_cast<std::uint64_t>(st.column_int(6));
    row.user.quota_messages = static_cast<std::uint64_t>(st.column_int(7));
    return row;
}

Result<std::optional<UserRow>> user_by_address(Connection& db, std::string_view address) {
    auto st = query(db, std::string(kUserColumns) + "WHERE address = ?1", address);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<UserRow>();
    return std::optional<UserRow>(user_from(*st));
}

Result<std::optional<UserRow>> user_by_id(Connection& db, UserId id) {
    auto st = query(db, std::string(kUserColumns) + "WHERE id = ?1", id);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<UserRow>();
    return std::optional<UserRow>(user_from(*st));
}

Result<UserRow> existing_user(Connection& db, UserId id) {
    auto row = user_by_id(db, id);
    if (!row) return row.error();
    if (!*row) return not_found("no user with id " + std::to_string(id));
    return std::move(**row);
}

Result<UserRow> existing_user(Connection& db, std::string_view address) {
    auto row = user_by_address(db, address);
    if (!row) return row.error();
    if (!*row) return not_found("no such user: " + std::string(address));
    return std::move(**row);
}

Result<std::optional<std::int64_t>> domain_id(Connection& db, std::string_view name) {
    return query_optional_int(db, "SELECT id FROM domains WHERE name = ?1", name);
}

Result<std::int64_t> local_domain_id(Connection& db, std::string_view name) {
    auto id = domain_id(db, name);
    if (!id) return id.error();
    if (!*id) return not_found(std::string(name) + " is not a local domain");
    return **id;
}

constexpr const char* kMailboxColumns =
    "SELECT id, user_id, name, special_use, uidvalidity, uidnext, highestmodseq, first_recent_uid FROM mailboxes ";

MailboxInfo mailbox_from(const Statement& st) {
    MailboxInfo m;
    m.id = st.column_int(0);
    m.user = st.column_int(1);
    m.name = st.column_text(2);
    m.special_use = static_cast<SpecialUse>(st.column_int(3));
    m.uidvalidity = static_cast<std::uint32_t>(st.column_int(4));
    m.uidnext = static_cast<Uid>(st.column_int(5));
    m.highestmodseq = static_cast<ModSeq>(st.column_int(6));
    m.first_recent_uid = static_cast<Uid>(st.column_int(7));
    return m;
}

Status fill_mailbox_extras(Connection& db, MailboxInfo& m) {
    auto sub = query_optional_int(db, "SELECT 1 FROM subscriptions WHERE user_id = ?1 AND name = ?2", m.user, m.name);
    if (!sub) return sub.error();
    m.subscribed = sub->has_value();
    auto child = query_optional_int(
        db, "SELECT 1 FROM mailboxes WHERE user_id = ?1 AND substr(name, 1, length(?2)) = ?2 LIMIT 1", m.user,
        m.name + kMailboxDelimiter);
    if (!child) return child.error();
    m.has_children = child->has_value();
    return {};
}

Result<std::optional<MailboxInfo>> mailbox_by_name(Connection& db, UserId user, std::string_view name) {
    auto st = query(db, std::string(kMailboxColumns) + "WHERE user_id = ?1 AND name = ?2", user, name);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<MailboxInfo>();
    MailboxInfo m = mailbox_from(*st);
    st->reset();
    HK_RETURN_IF_ERROR(fill_mailbox_extras(db, m));
    return std::optional<MailboxInfo>(std::move(m));
}

Result<MailboxInfo> mailbox_by_id(Connection& db, MailboxId id) {
    auto st = query(db, std::string(kMailboxColumns) + "WHERE id = ?1", id);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return not_found("no mailbox with id " + std::to_string(id));
    return mailbox_from(*st);
}

// UIDVALIDITY: strictly increasing over the whole store, and at least the current time, so
// a mailbox deleted and created again never repeats an old value (RFC 9051 2.3.1.1).
Result<std::uint32_t> allocate_uidvalidity(Connection& db) {
    auto last = query_count(db, "SELECT value FROM meta WHERE key = 'last_uidvalidity'");
    if (!last) return last.error();
    auto next = next_uidvalidity(static_cast<std::uint32_t>(*last), now_seconds());
    if (!next) return next.error();
    HK_RETURN_IF_ERROR(exec(db, "UPDATE meta SET value = ?1 WHERE key = 'last_uidvalidity'", *next));
    return *next;
}

Result<MailboxInfo> insert_mailbox(Connection& db, UserId user, const std::string& name, SpecialUse use) {
    auto uidvalidity = allocate_uidvalidity(db);
    if (!uidvalidity) return uidvalidity.error();
    auto s = exec(db,
                  "INSERT INTO mailboxes(user_id, name, special_use, uidvalidity, uidnext, highestmodseq) "
                  "VALUES (?1, ?2, ?3, ?4, 1, 1)",
                  user, name, static_cast<int>(use), *uidvalidity);
    if (!s) {
        if (s.error().code == Errc::already_exists)
            return make_error(Errc::already_exists, "mailbox " + name + " already exists");
        return s.error();
    }
    MailboxInfo m;
    m.id = db.last_insert_rowid();
    m.user = user;
    m.name = name;
    m.special_use = use;
    m.uidvalidity = *uidvalidity;
    m.uidnext = 1;
    m.highestmodseq = 1;
    return m;
}

// Creates every missing ancestor of `name` ("a" and "a/b" for "a/b/c").
Status ensure_parents(Connection& db, UserId user, const std::string& name) {
    for (std::size_t pos = name.find(kMailboxDelimiter); pos != std::string::npos;
         pos = name.find(kMailboxDelimiter, pos + 1)) {
        std::string parent = name.substr(0, pos);
        auto found = query_optional_int(db, "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = ?2", user, parent);
        if (!found) return found.error();
        if (!*found) {
            auto m = insert_mailbox(db, user, parent, SpecialUse::none);
            if (!m) return m.error();
        }
    }
    return {};
}

// ---- entries -------------------------------------------------------------------------

struct NewEntry {
    MessageId message = 0;
    Flags flags = 0;
    std::string keywords;
    std::int64_t internal_date = 0;
    std::uint64_t size = 0;
};

struct AddedEntries {
    std::vector<Uid> uids;
    ModSeq modseq = 0;
    UserId user = 0;
    std::uint32_t uidvalidity = 0;
};

// Gives the entries consecutive new UIDs in `mailbox` and one new modseq, and counts them
// against the owner's quota (unless the bytes merely move within that owner's mailboxes).
Result<AddedEntries> add_entries(Connection& db, MailboxId mailbox, std::span<const NewEntry> entries,
                                 bool counts_against_quota) {
    AddedEntries added;
    if (entries.empty()) return added;
    auto box = mailbox_by_id(db, mailbox);
    if (!box) return box.error();
    added.user = box->user;
    added.uidvalidity = box->uidvalidity;
    std::uint64_t bytes = 0;
    for (const auto& e : entries) bytes += e.size;
    auto owner = existing_user(db, box->user);
    if (!owner) return owner.error();
    if (counts_against_quota)
        HK_RETURN_IF_ERROR(
            check_quota(owner->user, {owner->used_bytes, owner->used_messages}, {bytes, entries.size()}));
    std::uint64_t first_uid = box->uidnext;
    if (first_uid + entries.size() - 1 > kMaxUid)
        return make_error(Errc::limit_exceeded, "mailbox " + box->name + " has run out of UIDs");
    added.modseq = box->highestmodseq + 1;
    HK_RETURN_IF_ERROR(exec(db, "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1", mailbox,
                            static_cast<std::int64_t>(first_uid + entries.size()), added.modseq));
    auto insert = db.prepare(
        "INSERT INTO entries(mailbox_id, uid, message_id, flags, keywords, modseq, internal_date, size, save_date) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    // RFC 8514: the entries are saved in this mailbox now.
    const std::int64_t saved =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count();
    if (!insert) return insert.error();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        Uid uid = static_cast<Uid>(first_uid + i);
        insert->bind(1, mailbox)
            .bind(2, std::int64_t{uid})
            .bind(3, e.message)
            .bind(4, std::int64_t{e.flags})
            .bind(5, e.keywords)
            .bind(6, static_cast<std::int64_t>(added.modseq))
            .bind(7, e.internal_date)
            .bind(8, static_cast<std::int64_t>(e.size))
            .bind(9, saved);
        HK_RETURN_IF_ERROR(insert->run());
        added.uids.push_back(uid);
    }
    HK_RETURN_IF_ERROR(exec(db,
                            "UPDATE users SET used_bytes = used_bytes + ?2, used_messages = used_messages + ?3 "
                            "WHERE id = ?1",
                            box->user, static_cast<std::int64_t>(bytes), static_cast<std::int64_t>(entries.size())));
    return added;
}

// Drops messages no mailbox entry and no queue entry references any more (single-instance
// storage).
Status drop_orphans(Connection& db, const std::set<MessageId>& messages) {
    for (MessageId id : messages) {
        HK_RETURN_IF_ERROR(exec(db,
                                "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS "
                                "(SELECT 1 FROM entries WHERE message_id = ?1) AND NOT EXISTS "
                                "(SELECT 1 FROM queue WHERE message_id = ?1)",
                                id));
    }
    return {};
}

// Removes entries (sorted unique UIDs), logs them as expunged with one new modseq,
// releases their quota, and drops messages left without entries.
Result<ExpungeResult> remove_entries(Connection& db, MailboxId mailbox, std::span<const Uid> uids) {
    ExpungeResult result;
    auto box = mailbox_by_id(db, mailbox);
    if (!box) return box.error();
    std::set<MessageId> messages;
    std::uint64_t bytes = 0;
    auto del = db.prepare("DELETE FROM entries WHERE mailbox_id = ?1 AND uid = ?2 RETURNING message_id, size");
    if (!del) return del.error();
    for (Uid uid : uids) {
        del->bind(1, mailbox).bind(2, std::int64_t{uid});
        auto row = del->step();
        if (!row) return row.error();
        if (*row) {
            messages.insert(del->column_int(0));
            bytes += static_cast<std::uint64_t>(del->column_int(1));
            result.expunged.push_back(uid);
            HK_RETURN_IF_ERROR(del->run());  // finish the statement
        } else {
            del->reset();
        }
    }
    if (result.expunged.empty()) return result;
    result.modseq = box->highestmodseq + 1;
    HK_RETURN_IF_ERROR(exec(db, "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1", mailbox,
                            static_cast<std::int64_t>(result.modseq)));
    auto log = db.prepare("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)");
    if (!log) return log.error();
    for (Uid uid : result.expunged) {
        log->bind(1, mailbox).bind(2, std::int64_t{uid}).bind(3, static_cast<std::int64_t>(result.modseq));
        HK_RETURN_IF_ERROR(log->run());
    }
    HK_RETURN_IF_ERROR(exec(db,
                            "UPDATE users SET used_bytes = max(0, used_bytes - ?2), "
                            "used_messages = max(0, used_messages - ?3) WHERE id = ?1",
                            box->user, static_cast<std::int64_t>(bytes),
                            static_cast<std::int64_t>(result.expunged.size())));
    HK_RETURN_IF_ERROR(drop_orphans(db, messages));
    return result;
}

// Every UID of a mailbox, increasing.
Result<std::vector<Uid>> all_uids(Connection& db, MailboxId mailbox) {
    auto st = query(db, "SELECT uid FROM entries WHERE mailbox_id = ?1 ORDER BY uid", mailbox);
    if (!st) return st.error();
    std::vector<Uid> uids;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        uids.push_back(static_cast<Uid>(st->column_int(0)));
    }
    return uids;
}

struct SourceEntry {
    Uid uid = 0;
    NewEntry entry;
};

Result<std::vector<SourceEntry>> load_entries(Connection& db, MailboxId mailbox, std::span<const Uid> uids) {
    std::vector<SourceEntry> out;
    auto st = db.prepare(
        "SELECT message_id, flags, keywords, internal_date, size FROM entries WHERE mailbox_id = ?1 AND uid = ?2");
    if (!st) return st.error();
    for (Uid uid : uids) {
        st->bind(1, mailbox).bind(2, std::int64_t{uid});
        auto row = st->step();
        if (!row) return row.error();
        if (*row) {
            SourceEntry s;
            s.uid = uid;
            s.entry.message = st->column_int(0);
            s.entry.flags = static_cast<Flags>(st->column_int(1));
            s.entry.keywords = st->column_text(2);
            s.entry.internal_date = st->column_int(3);
            s.entry.size = static_cast<std::uint64_t>(st->column_int(4));
            out.push_back(std::move(s));
        }
        st->reset();
    }
    return out;
}

// Copies (and for a move, then removes) entries from one mailbox to another.
Result<CopyResult> transfer_entries(WriteContext& ctx, MailboxId from, std::span<const Uid> uids, MailboxId to,
                                    bool move) {
    auto source_box = mailbox_by_id(ctx.db, from);
    if (!source_box) return source_box.error();
    auto target_box = mailbox_by_id(ctx.db, to);
    if (!target_box) return target_box.error();
    auto sources = load_entries(ctx.db, from, uids);
    if (!sources) return sources.error();
    CopyResult result;
    result.destination_uidvalidity = target_box->uidvalidity;
    if (sources->empty()) return result;
    std::vector<NewEntry> entries;
    for (const auto& s : *sources) entries.push_back(s.entry);
    bool same_owner = source_box->user == target_box->user;
    auto added = add_entries(ctx.db, to, entries, !(move && same_owner));
    if (!added) return added.error();
    for (std::size_t i = 0; i < sources->size(); ++i) result.uids.emplace_back((*sources)[i].uid, added->uids[i]);
    ctx.changes.push_back({ChangeKind::appended, target_box->user, to, added->modseq});
    if (move) {
        std::vector<Uid> moved;
        for (const auto& s : *sources) moved.push_back(s.uid);
        auto removed = remove_entries(ctx.db, from, moved);
        if (!removed) return removed.error();
        ctx.changes.push_back({ChangeKind::expunged, source_box->user, from, removed->modseq});
    }
    return result;
}

Entry entry_from(const Statement& st, bool with_structure) {
    Entry e;
    e.uid = static_cast<Uid>(st.column_int(0));
    e.message = st.column_int(1);
    e.flags = static_cast<Flags>(st.column_int(2));
    e.keywords = keyword_list(st.column_text(3));
    e.modseq = static_cast<ModSeq>(st.column_int(4));
    e.internal_date = TimePoint(std::chrono::seconds(st.column_int(5)));
    e.size = static_cast<std::uint64_t>(st.column_int(6));
    e.save_date = TimePoint(std::chrono::seconds(st.column_int(7)));
    if (with_structure && !st.column_is_null(8)) e.structure = st.column_blob(8);
    return e;
}

constexpr const char* kEntryColumns =
    "SELECT e.uid, e.message_id, e.flags, e.keywords, e.modseq, e.internal_date, e.size, e.save_date ";

// The cached MIME structure as a column value; NULL when there is none.
Blob structure_blob(const std::optional<std::string>& structure) {
    if (!structure) return Blob{{}, true};
    return Blob{*structure, false};
}

// Messages up to this size go into the INSERT itself; larger ones are written into a
// zeroblob afterwards, piece by piece: SQLite builds a record in memory for an INSERT, which
// would be one more copy of a large message.
constexpr std::size_t kInlineBlobLimit = 256 * 1024;

// The writer's idle step (defined with index_pending_text below).
Result<bool> index_pending_when_idle(Connection& db);

// Puts a new message into the full-text index, or lists it as one a search must read: for
// good (no text to index: pending 0) or until the writer's idle time indexes it (`later`).
Status index_message_text(Connection& db, MessageId id, const std::optional<SearchText>& text, bool later) {
    if (!text || later)
        return exec(db, "INSERT INTO unindexed_text(message_id, pending) VALUES (?1, ?2)", id,
                    std::int64_t{text && later ? 1 : 0});
    return exec(db, "INSERT INTO message_text(rowid, header, body) VALUES (?1, ?2, ?3)", id, text->header, text->body);
}

// Stores one copy of a message's bytes, structure and search text; returns its id.
Result<MessageId> insert_message(WriteContext& ctx, const StoredMessage& message) {
    Connection& db = ctx.db;
    const auto size = static_cast<std::int64_t>(message.raw.size());
    MessageId id = 0;
    if (message.raw.size() <= kInlineBlobLimit) {
        HK_RETURN_IF_ERROR(exec(db, "INSERT INTO messages(size, structure, raw) VALUES (?1, ?2, ?3)", size,
                                structure_blob(message.structure), Blob{message.raw, false}));
        id = db.last_insert_rowid();
    } else {
        HK_RETURN_IF_ERROR(exec(db, "INSERT INTO messages(size, structure, raw) VALUES (?1, ?2, zeroblob(?1))", size,
                                structure_blob(message.structure)));
        id = db.last_insert_rowid();
        HK_RETURN_IF_ERROR(db.write_blob("messages", "raw", id, message.raw));
    }
    HK_RETURN_IF_ERROR(index_message_text(db, id, message.search_text, ctx.index_text_later));
    return id;
}

}  // namespace

// ---- reader pool ---------------------------------------------------------------------

class SqliteStore::Reader {
public:
    Reader(SqliteStore& store, Connection db) : store_(&store), db_(std::move(db)) {}
    Reader(Reader&& other) noexcept : store_(other.store_), db_(std::move(other.db_)) { other.store_ = nullptr; }
    Reader& operator=(Reader&&) = delete;
    ~Reader() {
        if (store_) store_->give_back(std::move(db_));
    }
    Connection& db() { return db_; }

private:
    SqliteStore* store_;
    Connection db_;
};

Result<SqliteStore::Reader> SqliteStore::borrow_reader() {
    {
        std::lock_guard lock(readers_mutex_);
        if (!idle_readers_.empty()) {
            Connection db = std::move(idle_readers_.back());
            idle_readers_.pop_back();
            return Reader(*this, std::move(db));
        }
    }
    // Readers go through the cache-only VFS, so a read on an event loop can refuse to wait.
    auto db =
        Connection::open(options_.path, Connection::Mode::read_write, options_.busy_timeout, cache_only_vfs::name());
    if (!db) return db.error();
    return Reader(*this, std::move(*db));
}

void SqliteStore::give_back(Connection connection) {
    if (!connection.handle()) return;
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(connection));
}

// A failed read inside a CacheOnlyReads scope whose data was not in memory: would_block.
Error read_error(Error error) {
    if (CacheOnlyReads::active() && cache_only_vfs::take_cache_miss())
        return make_error(Errc::would_block, "store page not in memory: " + error.message);
    return error;
}

// Runs f(Connection&) in one read transaction on a pooled connection.
template <class F>
auto read_snapshot(Result<SqliteStore::Reader>&& reader, F&& f) -> decltype(f(std::declval<Connection&>())) {
    if (!reader) return reader.error();
    auto txn = Transaction::begin(reader->db(), Transaction::Kind::read);
    if (!txn) return read_error(txn.error());
    auto result = f(reader->db());
    (void)txn->commit();
    if (!result) return read_error(result.error());
    cache_only_vfs::take_cache_miss();  // a miss SQLite recovered from is no failure
    return result;
}

#define HK_READ(...) read_snapshot(borrow_reader(), [&](Connection & db) __VA_ARGS__)

// ---- writes --------------------------------------------------------------------------

template <class T, class Job>
void SqliteStore::write_async(Completion<T> done, Job job) {
    if constexpr (std::is_void_v<T>) {
        writer_->submit(std::move(job), std::move(done));
    } else {
        // The job runs on the writer thread and leaves its value here; the completion runs
        // after the commit (or with the batch's error if the commit failed).
        auto value = std::make_shared<std::optional<T>>();
        writer_->submit(
            [job = std::move(job), value](WriteContext& ctx) -> Status {
                auto result = job(ctx);
                if (!result) return result.error();
                value->emplace(std::move(*result));
                return {};
            },
            [value, done = std::move(done)](Status status) {
                if (!status) return done(status.error());
                done(std::move(**value));
            });
    }
}

Status SqliteStore::write(WriteJob job) {
    return wait_for<void>([&](Completion<void> done) { writer_->submit(std::move(job), std::move(done)); });
}

// ---- open ----------------------------------------------------------------------------

SqliteStore::SqliteStore(StoreOptions options) : options_(std::move(options)) {}

SqliteStore::~SqliteStore() {
    writer_.reset();  // drains queued writes first
    notifier_.reset();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const StoreOptions& options) {
    if (options.path.empty()) return invalid("no store path configured ([storage] path)");
    struct stat st {};
    bool exists = ::stat(options.path.c_str(), &st) == 0;
    if (!exists && !options.create) return not_found("no store at " + options.path + " (create it with: mailctl init)");
    if (exists && !S_ISREG(st.st_mode)) return invalid("store path " + options.path + " is not a regular file");
    if (!exists) {
        // Created here rather than by SQLite, whose default mode lets everyone read the mail
        // and the password hashes; SQLite gives -wal and -shm the store file's mode.
        auto folder = create_store_folder(options.path);
        if (!folder) return folder.error();
        HK_RETURN_IF_ERROR(create_store_file(options.path));
    }

    auto db = Connection::open(options.path, Connection::Mode::read_write, options.busy_timeout);
    if (!db) return db.error();
    auto migrated = migrate(*db, options.path);
    if (!migrated) return migrated.error();

    std::unique_ptr<SqliteStore> store(new SqliteStore(options));
    // A folder that cannot be made shows later, as lock_maildrop's io_error (and the daemons
    // check both folders at start, check_store_access); the store itself is usable.
    (void)create_side_folder(store_locks_folder(options.path), options.path);
    store->maildrop_locks_ = std::make_unique<MaildropLocks>(store_maildrop_lock_file(options.path));
    store->notifier_ = std::make_unique<ChangeNotifier>(options.path, store_notify_folder(options.path),
                                                        options.change_poll_interval, options.busy_timeout);
    ChangeNotifier* notifier = store->notifier_.get();
    GroupCommitWriter::IdleWork idle_work;
    if (options.index_text_when_idle) idle_work = index_pending_when_idle;
    store->writer_ = std::make_unique<GroupCommitWriter>(
        std::move(*db), options.group_commit_max_batch,
        [notifier](const std::vector<MailboxChange>& changes) { notifier->publish(changes); }, std::move(idle_work));
    return store;
}

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
    auto store = SqliteStore::open(options);
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
}

// ---- domains -------------------------------------------------------------------------

Status SqliteStore::add_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    HK_RETURN_IF_ERROR(validate_domain(domain));
    return write([&](WriteContext& ctx) -> Status {
        auto found = domain_id(ctx.db, domain);
        if (!found) return found.error();
        if (*found) return make_error(Errc::already_exists, "domain " + domain + " already exists");
        return exec(ctx.db, "INSERT INTO domains(name) VALUES (?1)", domain);
    });
}

Status SqliteStore::remove_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    HK_RETURN_IF_ERROR(validate_domain(domain));
    return write([&](WriteContext& ctx) -> Status {
        auto id = local_domain_id(ctx.db, domain);
        if (!id) return id.error();
        auto users = query_count(ctx.db, "SELECT count(*) FROM users WHERE domain_id = ?1", *id);
        if (!users) return users.error();
        auto aliases = query_count(ctx.db, "SELECT count(DISTINCT address) FROM aliases WHERE domain_id = ?1", *id);
        if (!aliases) return aliases.error();
        if (*users > 0 || *aliases > 0)
            return invalid("domain " + domain + " still has " + std::to_string(*users) + " user(s) and " +
                           std::to_string(*aliases) + " alias(es); remove them first");
        return exec(ctx.db, "DELETE FROM domains WHERE id = ?1", *id);
    });
}

Result<std::vector<std::string>> SqliteStore::list_domains() {
    return HK_READ({
        std::vector<std::string> out;
        auto st = query(db, "SELECT name FROM domains ORDER BY name");
        if (!st) return Result<std::vector<std::string>>(st.error());
        for (;;) {
            auto row = st->step();
            if (!row) return Result<std::vector<std::string>>(row.error());
            if (!*row) break;
            out.push_back(st->column_text(0));
        }
        return Result<std::vector<std::string>>(std::move(out));
    });
}

Result<bool> SqliteStore::is_local_domain(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (!validate_domain(domain)) return false;
    return HK_READ({
        auto id = domain_id(db, domain);
        if (!id) return Result<bool>(id.error());
        return Result<bool>(id->has_value());
    });
}

// ---- users ---------------------------------------------------------------------------

namespace {

// One new user inside a write job, for add_user and import_users: the row, the default
// mailboxes and their subscriptions. `wanted.address` is normalised and valid,
// `wanted.password_hash` a PHC string; quotas of 0 take the store's defaults.
Result<User> insert_user(WriteContext& ctx, const UserImport& wanted, const StoreOptions& options) {
    const std::string& address = wanted.address;
    auto domain = local_domain_id(ctx.db, domain_of(address));
    if (!domain) {
        if (domain.error().code != Errc::not_found) return domain.error();
        return make_error(Errc::not_found, "cannot add " + address + ": " + domain.error().message +
                                               "; add it first (mailctl domain add)");
    }
    auto existing = user_by_address(ctx.db, address);
    if (!existing) return existing.error();
    if (*existing) return make_error(Errc::already_exists, "user " + address + " already exists");
    auto alias = query_optional_int(ctx.db, "SELECT 1 FROM aliases WHERE address = ?1 LIMIT 1", address);
    if (!alias) return alias.error();
    if (*alias) return make_error(Errc::already_exists, address + " is already an alias");
    User user;
    user.address = address;
    user.quota_bytes = wanted.quota_bytes ? wanted.quota_bytes : options.default_quota;
    user.quota_messages = wanted.quota_messages ? wanted.quota_messages : options.default_quota_messages;
    HK_RETURN_IF_ERROR(exec(ctx.db,
                            "INSERT INTO users(domain_id, address, password_hash, quota_bytes, quota_messages, "
                            "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            *domain, address, wanted.password_hash, static_cast<std::int64_t>(user.quota_bytes),
                            static_cast<std::int64_t>(user.quota_messages), now_seconds()));
    user.id = ctx.db.last_insert_rowid();
    for (const auto& [name, use] : kDefaultMailboxes) {
        auto m = insert_mailbox(ctx.db, user.id, name, use);
        if (!m) return m.error();
        HK_RETURN_IF_ERROR(
            exec(ctx.db, "INSERT INTO subscriptions(user_id, name) VALUES (?1, ?2)", user.id, std::string_view(name)));
    }
    ctx.changes.push_back({ChangeKind::mailboxes, user.id, 0, 0});
    return user;
}

}  // namespace

Result<std::string> SqliteStore::hash_password(std::string_view password) {
    return storage::hash_password(password, options_);
}

Result<User> SqliteStore::add_user(std::string_view address_in, std::string_view password, std::uint64_t quota_bytes) {
    UserImport wanted{normalize_address(address_in), {}, quota_bytes};
    HK_RETURN_IF_ERROR(validate_address(wanted.address));
    auto hash = hash_password(password);  // before the writer: argon2 is slow
    if (!hash) return hash.error();
    wanted.password_hash = std::move(*hash);
    User user;
    auto s = write([&](WriteContext& ctx) -> Status {
        auto added = insert_user(ctx, wanted, options_);
        if (!added) return added.error();
        user = std::move(*added);
        return {};
    });
    if (!s) return s.error();
    return user;
}

Result<std::vector<User>> SqliteStore::import_users(std::span<const UserImport> users) {
    // Everything that needs no store is checked before the writer is asked.
    auto checked = checked_imports(users);
    if (!checked) return checked.error();
    const std::vector<UserImport>& wanted = *checked;
    std::vector<User> added;
    if (wanted.empty()) return added;
    added.reserve(wanted.size());
    auto s = write([&](WriteContext& ctx) -> Status {  // one job: one savepoint, all or none
        for (const auto& w : wanted) {
            auto user = insert_user(ctx, w, options_);
            if (!user) return user.error();
            added.push_back(std::move(*user));
        }
        return {};
    });
    if (!s) return s.error();
    return added;
}

Status SqliteStore::remove_user(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    return write([&](WriteContext& ctx) -> Status {
        auto user = existing_user(ctx.db, address);
        if (!user) return user.error();
        std::set<MessageId> messages;
        {
            auto st = query(ctx.db,
                            "SELECT DISTINCT e.message_id FROM entries e JOIN mailboxes b ON b.id = e.mailbox_id "
                            "WHERE b.user_id = ?1",
                            user->user.id);
            if (!st) return st.error();
            for (;;) {
                auto row = st->step();
                if (!row) return row.error();
                if (!*row) break;
                messages.insert(st->column_int(0));
            }
        }
        // Cascades: mailboxes -> entries, expunged; aliases; subscriptions.
        HK_RETURN_IF_ERROR(exec(ctx.db, "DELETE FROM users WHERE id = ?1", user->user.id));
        HK_RETURN_IF_ERROR(drop_orphans(ctx.db, messages));
        ctx.changes.push_back({ChangeKind::mailboxes, user->user.id, 0, 0});
        return {};
    });
}

Status SqliteStore::set_password(std::string_view address_in, std::string_view password) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return write([&](WriteContext& ctx) -> Status {
        HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE users SET password_hash = ?2 WHERE address = ?1", address, *hash));
        if (ctx.db.changes() == 0) return not_found("no such user: " + address);
        return {};
    });
}

Status SqliteStore::set_quota(std::string_view address_in, std::uint64_t quota_bytes,
                              std::optional<std::uint64_t> quota_messages) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    return write([&](WriteContext& ctx) -> Status {
        HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE users SET quota_bytes = ?2 WHERE address = ?1", address,
                                static_cast<std::int64_t>(quota_bytes)));
        if (ctx.db.changes() == 0) return not_found("no such user: " + address);
        if (quota_messages)
            HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE users SET quota_messages = ?2 WHERE address = ?1", address,
                                    static_cast<std::int64_t>(*quota_messages)));
        if (ctx.db.changes() == 0) return not_found("no such user: " + address);
        return {};
    });
}

Result<User> SqliteStore::find_user(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    return HK_READ({
        auto row = existing_user(db, address);
        if (!row) return Result<User>(row.error());
        return Result<User>(row->user);
    });
}

Result<std::vector<User>> SqliteStore::list_users(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (!domain.empty()) HK_RETURN_IF_ERROR(validate_domain(domain));
    return HK_READ({
        using R = Result<std::vector<User>>;
        std::string sql = std::string(kUserColumns);
        std::int64_t id = 0;
        if (!domain.empty()) {
            auto d = local_domain_id(db, domain);
            if (!d) return R(d.error());
            id = *d;
            sql += "WHERE domain_id = ?1 ";
        }
        sql += "ORDER BY address";
        auto st = domain.empty() ? query(db, sql) : query(db, sql, id);
        if (!st) return R(st.error());
        std::vector<User> out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            out.push_back(user_from(*st).user);
        }
        return R(std::move(out));
    });
}

Result<Credentials> SqliteStore::find_credentials(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    return HK_READ({
        using R = Result<Credentials>;
        auto row = user_by_address(db, address);
        if (!row) return R(row.error());
        if (!*row) return R(not_found("no such user: " + address));
        return R(Credentials{std::move((*row)->user), std::move((*row)->password_hash)});
    });
}

// ---- aliases -------------------------------------------------------------------------

Status SqliteStore::add_alias(std::string_view alias_in, std::string_view target_in) {
    std::string alias = normalize_address(alias_in);
    std::string target = normalize_address(target_in);
    HK_RETURN_IF_ERROR(validate_address(alias));
    HK_RETURN_IF_ERROR(validate_address(target));
    return write([&](WriteContext& ctx) -> Status {
        auto domain = local_domain_id(ctx.db, domain_of(alias));
        if (!domain) return domain.error();
        auto as_user = user_by_address(ctx.db, alias);
        if (!as_user) return as_user.error();
        if (*as_user) return make_error(Errc::already_exists, alias + " is a user, not an alias");
        auto user = existing_user(ctx.db, target);
        if (!user) return user.error();
        auto dup = query_optional_int(ctx.db, "SELECT 1 FROM aliases WHERE address = ?1 AND user_id = ?2", alias,
                                      user->user.id);
        if (!dup) return dup.error();
        if (*dup) return make_error(Errc::already_exists, "alias " + alias + " -> " + target + " already exists");
        return exec(ctx.db, "INSERT INTO aliases(address, domain_id, user_id) VALUES (?1, ?2, ?3)", alias, *domain,
                    user->user.id);
    });
}

Status SqliteStore::remove_alias(std::string_view alias_in, std::string_view target_in) {
    std::string alias = normalize_address(alias_in);
    std::string target = normalize_address(target_in);
    HK_RETURN_IF_ERROR(validate_address(alias));
    if (!target.empty()) HK_RETURN_IF_ERROR(validate_address(target));
    return write([&](WriteContext& ctx) -> Status {
        if (target.empty()) {
            HK_RETURN_IF_ERROR(exec(ctx.db, "DELETE FROM aliases WHERE address = ?1", alias));
            if (ctx.db.changes() == 0) return not_found("no such alias: " + alias);
            return {};
        }
        HK_RETURN_IF_ERROR(exec(ctx.db,
                                "DELETE FROM aliases WHERE address = ?1 AND user_id = "
                                "(SELECT id FROM users WHERE address = ?2)",
                                alias, target));
        if (ctx.db.changes() == 0) return not_found("no such alias: " + alias + " -> " + target);
        return {};
    });
}

Result<std::vector<Alias>> SqliteStore::list_aliases(std::string_view domain_in) {
    std::string domain = normalize_address(domain_in);
    if (!domain.empty()) HK_RETURN_IF_ERROR(validate_domain(domain));
    return HK_READ({
        using R = Result<std::vector<Alias>>;
        std::int64_t id = 0;
        if (!domain.empty()) {
            auto d = local_domain_id(db, domain);
            if (!d) return R(d.error());
            id = *d;
        }
        auto st = query(db,
                        "SELECT a.address, u.address FROM aliases a JOIN users u ON u.id = a.user_id "
                        "WHERE ?1 = 0 OR a.domain_id = ?1 ORDER BY a.address, u.address",
                        id);
        if (!st) return R(st.error());
        std::vector<Alias> out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            std::string address = st->column_text(0);
            if (out.empty() || out.back().address != address) out.push_back(Alias{address, {}});
            out.back().targets.push_back(st->column_text(1));
        }
        return R(std::move(out));
    });
}

// ---- SMTP ----------------------------------------------------------------------------

Result<std::vector<User>> SqliteStore::resolve_recipient(std::string_view address_in) {
    std::string address = normalize_address(address_in);
    HK_RETURN_IF_ERROR(validate_address(address));
    return HK_READ({
        using R = Result<std::vector<User>>;
        auto domain = local_domain_id(db, domain_of(address));
        if (!domain) return R(domain.error());
        auto user = user_by_address(db, address);
        if (!user) return R(user.error());
        if (*user) return R(std::vector<User>{(*user)->user});
        auto st = query(
            db, std::string(kUserColumns) + "WHERE id IN (SELECT user_id FROM aliases WHERE address = ?1) ORDER BY id",
            address);
        if (!st) return R(st.error());
        std::vector<User> out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            out.push_back(user_from(*st).user);
        }
        if (out.empty()) return R(not_found("no such user: " + address));
        return R(std::move(out));
    });
}

Result<std::vector<std::string>> SqliteStore::addresses_of(UserId user) {
    return HK_READ({
        using R = Result<std::vector<std::string>>;
        auto row = existing_user(db, user);
        if (!row) return R(row.error());
        std::vector<std::string> out{row->user.address};
        auto st = query(db, "SELECT address FROM aliases WHERE user_id = ?1 ORDER BY address", user);
        if (!st) return R(st.error());
        for (;;) {
            auto r = st->step();
            if (!r) return R(r.error());
            if (!*r) break;
            out.push_back(st->column_text(0));
        }
        return R(std::move(out));
    });
}

namespace {

// One message for local users and queue entries for its remote recipients, inside a write
// job (deliver_async, submit_async, and the notices of settle_async).
Result<SubmissionReceipt> store_submission(WriteContext& ctx, const StoredMessage& message,
                                           std::span<const UserId> recipients, const OutboundEnvelope& outbound,
                                           TimePoint internal_date) {
    SubmissionReceipt receipt;
    std::vector<MailboxId> inboxes;
    for (UserId id : recipients) {
        auto box = query_optional_int(ctx.db, "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = 'INBOX'", id);
        if (!box) return box.error();
        if (!*box) return not_found("no user with id " + std::to_string(id));
        inboxes.push_back(**box);
    }
    auto stored = insert_message(ctx, message);
    if (!stored) return stored.error();
    receipt.message = *stored;
    NewEntry entry{receipt.message, 0, "", internal_date.time_since_epoch().count(), message.raw.size()};
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        auto added = add_entries(ctx.db, inboxes[i], std::span<const NewEntry>(&entry, 1), true);
        if (!added) return added.error();
        receipt.entries.push_back({recipients[i], inboxes[i], added->uids.front()});
        ctx.changes.push_back({ChangeKind::appended, recipients[i], inboxes[i], added->modseq});
    }
    if (outbound.recipients.empty()) return receipt;
    auto insert = ctx.db.prepare(
        "INSERT INTO queue(message_id, sender, recipient, next_attempt, created) VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!insert) return insert.error();
    const std::int64_t now = now_seconds();
    for (const auto& recipient : outbound.recipients) {
        insert->bind(1, receipt.message).bind(2, outbound.sender).bind(3, recipient).bind(4, now);
        HK_RETURN_IF_ERROR(insert->run());
        receipt.queued.push_back(ctx.db.last_insert_rowid());
    }
    ctx.changes.push_back({ChangeKind::queued, 0, 0, 0});
    return receipt;
}

}  // namespace

void SqliteStore::deliver_async(const StoredMessage& message, std::span<const UserId> recipients,
                                TimePoint internal_date, Completion<DeliveryReceipt> done) {
    if (auto s = check_delivery(message, recipients, options_.max_message_size); !s) return done(s.error());
    write_async<DeliveryReceipt>(
        std::move(done), [&message, recipients, internal_date](WriteContext& ctx) -> Result<DeliveryReceipt> {
            auto stored = store_submission(ctx, message, recipients, OutboundEnvelope{}, internal_date);
            if (!stored) return stored.error();
            return DeliveryReceipt{stored->message, std::move(stored->entries)};
        });
}

void SqliteStore::submit_async(const Submission& submission, Completion<SubmissionReceipt> done) {
    if (auto s = check_submission(submission, options_.max_message_size); !s) return done(s.error());
    write_async<SubmissionReceipt>(std::move(done), [&submission](WriteContext& ctx) -> Result<SubmissionReceipt> {
        return store_submission(ctx, submission.message, submission.local, submission.outbound,
                                submission.internal_date);
    });
}

// ---- outbound queue --------------------------------------------------------------------

namespace {

constexpr const char* kQueueColumns =
    "SELECT q.id, q.message_id, q.sender, q.recipient, q.attempts, q.next_attempt, q.created, q.last_reply, "
    "q.held, q.delay_warned, m.size FROM queue q JOIN messages m ON m.id = q.message_id ";

QueuedRecipient queued_from(const Statement& st) {
    QueuedRecipient q;
    q.id = st.column_int(0);
    q.message = st.column_int(1);
    q.sender = st.column_text(2);
    q.recipient = st.column_text(3);
    q.attempts = static_cast<std::uint32_t>(st.column_int(4));
    q.next_attempt = TimePoint(std::chrono::seconds(st.column_int(5)));
    q.created = TimePoint(std::chrono::seconds(st.column_int(6)));
    q.last_reply = st.column_text(7);
    q.held = st.column_int(8) != 0;
    q.delay_warned = st.column_int(9) != 0;
    q.size = static_cast<std::uint64_t>(st.column_int(10));
    return q;
}

// At most `limit` rows, leaving out the ids in `skip` (sorted).
Result<std::vector<QueuedRecipient>> queued_rows(Statement& st, std::size_t limit, std::span<const QueueId> skip = {}) {
    std::vector<QueuedRecipient> out;
    while (out.size() < limit) {
        auto row = st.step();
        if (!row) return row.error();
        if (!*row) break;
        QueuedRecipient q = queued_from(st);
        if (std::binary_search(skip.begin(), skip.end(), q.id)) continue;
        out.push_back(std::move(q));
    }
    return out;
}

// Removes a queue entry; its message goes too when nothing else refers to it.
Result<bool> remove_queued(Connection& db, QueueId id, std::set<MessageId>& messages) {
    auto st = query(db, "DELETE FROM queue WHERE id = ?1 RETURNING message_id", id);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return false;
    messages.insert(st->column_int(0));
    HK_RETURN_IF_ERROR(st->run());  // finish the statement
    return true;
}

}  // namespace

Result<std::vector<QueuedRecipient>> SqliteStore::list_queue() {
    return HK_READ({
        auto st = query(db, std::string(kQueueColumns) + "ORDER BY q.id");
        if (!st) return Result<std::vector<QueuedRecipient>>(st.error());
        return queued_rows(*st, std::numeric_limits<std::size_t>::max());
    });
}

Result<QueuedRecipient> SqliteStore::find_queued(QueueId id) {
    return HK_READ({
        using R = Result<QueuedRecipient>;
        auto st = query(db, std::string(kQueueColumns) + "WHERE q.id = ?1", id);
        if (!st) return R(st.error());
        auto row = st->step();
        if (!row) return R(row.error());
        if (!*row) return R(not_found("no queue entry " + std::to_string(id)));
        return R(queued_from(*st));
    });
}

Result<std::vector<QueuedRecipient>> SqliteStore::due_recipients(TimePoint now, std::size_t limit,
                                                                 std::span<const QueueId> busy) {
    return HK_READ({
        // The busy ones may be among the earliest: ask for that many more and skip them.
        auto st = query(db,
                        std::string(kQueueColumns) +
                            "WHERE q.held = 0 AND q.next_attempt <= ?1 ORDER BY q.next_attempt, q.id LIMIT ?2",
                        static_cast<std::int64_t>(now.time_since_epoch().count()),
                        static_cast<std::int64_t>(limit + busy.size()));
        if (!st) return Result<std::vector<QueuedRecipient>>(st.error());
        return queued_rows(*st, limit, busy);
    });
}

Result<std::optional<TimePoint>> SqliteStore::next_due() {
    return HK_READ({
        using R = Result<std::optional<TimePoint>>;
        auto next =
            query_optional_int(db, "SELECT next_attempt FROM queue WHERE held = 0 ORDER BY next_attempt LIMIT 1");
        if (!next) return R(next.error());
        if (!*next) return R(std::optional<TimePoint>());
        return R(std::optional<TimePoint>(TimePoint(std::chrono::seconds(**next))));
    });
}

Result<std::string> SqliteStore::read_queued_message(MessageId message) {
    return HK_READ({
        using R = Result<std::string>;
        auto st = query(db,
                        "SELECT raw FROM messages WHERE id = ?1 AND EXISTS "
                        "(SELECT 1 FROM queue WHERE message_id = ?1)",
                        message);
        if (!st) return R(st.error());
        auto row = st->step();
        if (!row) return R(row.error());
        if (!*row) return R(not_found("no queued message " + std::to_string(message)));
        return R(st->column_blob(0));
    });
}

void SqliteStore::settle_async(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices,
                               Completion<void> done) {
    for (const auto& n : notices)
        if (auto s = check_submission(n, 0); !s) return done(s.error());
    write_async<void>(std::move(done), [outcomes, notices](WriteContext& ctx) -> Status {
        std::set<MessageId> messages;
        auto defer = ctx.db.prepare(
            "UPDATE queue SET attempts = attempts + ?2, next_attempt = ?3, last_reply = ?4, "
            "delay_warned = max(delay_warned, ?5) WHERE id = ?1");
        if (!defer) return defer.error();
        for (const auto& o : outcomes) {
            if (o.kind == QueueOutcome::Kind::done) {
                auto removed = remove_queued(ctx.db, o.id, messages);
                if (!removed) return removed.error();
                continue;
            }
            defer->bind(1, o.id)
                .bind(2, std::int64_t{o.count_attempt ? 1 : 0})
                .bind(3, static_cast<std::int64_t>(o.next_attempt.time_since_epoch().count()))
                .bind(4, o.last_reply)
                .bind(5, std::int64_t{o.delay_warned ? 1 : 0});
            HK_RETURN_IF_ERROR(defer->run());
        }
        HK_RETURN_IF_ERROR(drop_orphans(ctx.db, messages));
        for (const auto& n : notices) {
            auto stored = store_submission(ctx, n.message, n.local, n.outbound, n.internal_date);
            if (!stored) return stored.error();
        }
        return {};
    });
}

void SqliteStore::control_queue_async(QueueAction action, std::optional<QueueId> id, Completion<std::size_t> done) {
    write_async<std::size_t>(std::move(done), [action, id](WriteContext& ctx) -> Result<std::size_t> {
        const std::int64_t wanted = id.value_or(0);
        const bool all = !id.has_value();
        std::size_t changed = 0;
        if (!all) {
            auto exists = query_optional_int(ctx.db, "SELECT 1 FROM queue WHERE id = ?1", wanted);
            if (!exists) return exists.error();
            if (!*exists) return not_found("no queue entry " + std::to_string(wanted));
        }
        switch (action) {
            case QueueAction::retry:
                HK_RETURN_IF_ERROR(exec(ctx.db,
                                        "UPDATE queue SET next_attempt = min(next_attempt, ?1) "
                                        "WHERE held = 0 AND (?2 OR id = ?3)",
                                        now_seconds(), std::int64_t{all}, wanted));
                changed = static_cast<std::size_t>(ctx.db.changes());
                break;
            case QueueAction::hold:
            case QueueAction::release:
                HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE queue SET held = ?1 WHERE held != ?1 AND (?2 OR id = ?3)",
                                        std::int64_t{action == QueueAction::hold}, std::int64_t{all}, wanted));
                changed = static_cast<std::size_t>(ctx.db.changes());
                break;
            case QueueAction::remove: {
                if (all) return invalid("queue delete needs an entry id");
                std::set<MessageId> messages;
                auto removed = remove_queued(ctx.db, wanted, messages);
                if (!removed) return removed.error();
                HK_RETURN_IF_ERROR(drop_orphans(ctx.db, messages));
                changed = *removed ? 1 : 0;
                break;
            }
        }
        if (changed > 0 && action != QueueAction::remove) ctx.changes.push_back({ChangeKind::queued, 0, 0, 0});
        return changed;
    });
}

// ---- POP3 maildrop lock ----------------------------------------------------------------

Result<std::unique_ptr<MaildropLock>> SqliteStore::lock_maildrop(UserId user) {
    auto exists = HK_READ({ return existing_user(db, user); });
    if (!exists) return exists.error();
    return maildrop_locks_->lock(user, exists->user.address);
}

// ---- mailboxes -----------------------------------------------------------------------

namespace {

Result<std::string> checked_mailbox_name(std::string_view name) {
    HK_RETURN_IF_ERROR(validate_mailbox_name(name));
    return normalize_mailbox_name(name);
}

}  // namespace

Result<std::vector<MailboxInfo>> SqliteStore::list_mailboxes(UserId user) {
    return HK_READ({
        using R = Result<std::vector<MailboxInfo>>;
        auto owner = existing_user(db, user);
        if (!owner) return R(owner.error());
        std::vector<MailboxInfo> out;
        {
            auto st = query(db, std::string(kMailboxColumns) + "WHERE user_id = ?1 ORDER BY name", user);
            if (!st) return R(st.error());
            for (;;) {
                auto row = st->step();
                if (!row) return R(row.error());
                if (!*row) break;
                out.push_back(mailbox_from(*st));
            }
        }
        std::set<std::string> subscribed;
        {
            auto st = query(db, "SELECT name FROM subscriptions WHERE user_id = ?1", user);
            if (!st) return R(st.error());
            for (;;) {
                auto row = st->step();
                if (!row) return R(row.error());
                if (!*row) break;
                subscribed.insert(st->column_text(0));
            }
        }
        std::set<std::string> names;
        for (const auto& m : out) names.insert(m.name);
        for (auto& m : out) {
            m.subscribed = subscribed.count(m.name) > 0;
            std::string prefix = m.name + kMailboxDelimiter;
            auto child = names.lower_bound(prefix);
            m.has_children = child != names.end() && child->compare(0, prefix.size(), prefix) == 0;
        }
        return R(std::move(out));
    });
}

Result<MailboxInfo> SqliteStore::find_mailbox(UserId user, std::string_view name_in) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return name.error();
    return HK_READ({
        using R = Result<MailboxInfo>;
        auto m = mailbox_by_name(db, user, *name);
        if (!m) return R(m.error());
        if (!*m) return R(not_found("no mailbox " + *name));
        return R(std::move(**m));
    });
}

void SqliteStore::create_mailbox_async(UserId user, std::string_view name_in, SpecialUse special_use,
                                       Completion<MailboxInfo> done) {
    auto checked = checked_mailbox_name(name_in);
    if (!checked) return done(checked.error());
    write_async<MailboxInfo>(std::move(done),
                             [user, name = std::move(*checked), special_use](WriteContext& ctx) -> Result<MailboxInfo> {
                                 auto owner = existing_user(ctx.db, user);
                                 if (!owner) return owner.error();
                                 auto existing = mailbox_by_name(ctx.db, user, name);
                                 if (!existing) return existing.error();
                                 if (*existing)
                                     return make_error(Errc::already_exists, "mailbox " + name + " already exists");
                                 HK_RETURN_IF_ERROR(ensure_parents(ctx.db, user, name));
                                 auto m = insert_mailbox(ctx.db, user, name, special_use);
                                 if (!m) return m.error();
                                 HK_RETURN_IF_ERROR(fill_mailbox_extras(ctx.db, *m));
                                 ctx.changes.push_back({ChangeKind::mailboxes, user, 0, 0});
                                 return std::move(*m);
                             });
}

void SqliteStore::rename_mailbox_async(UserId user, std::string_view from_in, std::string_view to_in,
                                       Completion<void> done) {
    auto from = checked_mailbox_name(from_in);
    if (!from) return done(from.error());
    auto to = checked_mailbox_name(to_in);
    if (!to) return done(to.error());
    if (*to == "INBOX") return done(make_error(Errc::already_exists, "mailbox INBOX already exists"));
    if (to->compare(0, from->size() + 1, *from + kMailboxDelimiter) == 0)
        return done(invalid("cannot rename " + *from + " into itself (" + *to + ")"));
    write_async<void>(
        std::move(done), [user, from = std::move(*from), to = std::move(*to)](WriteContext& ctx) -> Status {
            auto source = mailbox_by_name(ctx.db, user, from);
            if (!source) return source.error();
            if (!*source) return not_found("no mailbox " + from);
            auto target = mailbox_by_name(ctx.db, user, to);
            if (!target) return target.error();
            if (*target) return make_error(Errc::already_exists, "mailbox " + to + " already exists");
            HK_RETURN_IF_ERROR(ensure_parents(ctx.db, user, to));
            if (from == "INBOX") {
                // RFC 9051 6.3.6: the messages move to the new mailbox; INBOX stays, empty.
                auto created = insert_mailbox(ctx.db, user, to, SpecialUse::none);
                if (!created) return created.error();
                auto uids = all_uids(ctx.db, (*source)->id);
                if (!uids) return uids.error();
                auto moved = transfer_entries(ctx, (*source)->id, *uids, created->id, true);
                if (!moved) return moved.error();
            } else {
                // The mailbox and its children take the new name, and so do their subscriptions;
                // a subscription the new name already has (they are by name) is kept, not doubled.
                const std::string under =
                    "WHERE user_id = ?1 AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')";
                const std::string renamed = " SET name = ?3 || substr(name, length(?2) + 1) ";
                HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE mailboxes" + renamed + under, user, from, to));
                HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE OR IGNORE subscriptions" + renamed + under, user, from, to));
                HK_RETURN_IF_ERROR(exec(ctx.db, "DELETE FROM subscriptions " + under, user, from));
            }
            ctx.changes.push_back({ChangeKind::mailboxes, user, 0, 0});
            return {};
        });
}

void SqliteStore::delete_mailbox_async(UserId user, std::string_view name_in, Completion<void> done) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return done(name.error());
    if (*name == "INBOX") return done(invalid("INBOX cannot be deleted"));
    write_async<void>(std::move(done), [user, name = std::move(*name)](WriteContext& ctx) -> Status {
        auto box = mailbox_by_name(ctx.db, user, name);
        if (!box) return box.error();
        if (!*box) return not_found("no mailbox " + name);
        if ((*box)->has_children) return invalid("mailbox " + name + " has child mailboxes; delete them first");
        auto uids = all_uids(ctx.db, (*box)->id);
        if (!uids) return uids.error();
        auto removed = remove_entries(ctx.db, (*box)->id, *uids);
        if (!removed) return removed.error();
        HK_RETURN_IF_ERROR(exec(ctx.db, "DELETE FROM mailboxes WHERE id = ?1", (*box)->id));
        ctx.changes.push_back({ChangeKind::expunged, user, (*box)->id, removed->modseq});
        ctx.changes.push_back({ChangeKind::mailboxes, user, 0, 0});
        return {};
    });
}

void SqliteStore::set_subscribed_async(UserId user, std::string_view name_in, bool subscribed, Completion<void> done) {
    auto name = checked_mailbox_name(name_in);
    if (!name) return done(name.error());
    write_async<void>(std::move(done), [user, name = std::move(*name), subscribed](WriteContext& ctx) -> Status {
        auto owner = existing_user(ctx.db, user);
        if (!owner) return owner.error();
        ctx.changes.push_back({ChangeKind::mailboxes, user, 0, 0});  // IMAP NOTIFY SubscriptionChange
        if (subscribed)
            return exec(ctx.db, "INSERT OR IGNORE INTO subscriptions(user_id, name) VALUES (?1, ?2)", user, name);
        return exec(ctx.db, "DELETE FROM subscriptions WHERE user_id = ?1 AND name = ?2", user, name);
    });
}

Result<std::vector<std::string>> SqliteStore::list_subscriptions(UserId user) {
    return HK_READ({
        using R = Result<std::vector<std::string>>;
        auto owner = existing_user(db, user);
        if (!owner) return R(owner.error());
        auto st = query(db, "SELECT name FROM subscriptions WHERE user_id = ?1 ORDER BY name", user);
        if (!st) return R(st.error());
        std::vector<std::string> out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            out.push_back(st->column_text(0));
        }
        return R(std::move(out));
    });
}

Result<MailboxStatus> SqliteStore::mailbox_status(MailboxId mailbox) {
    return HK_READ({
        using R = Result<MailboxStatus>;
        auto box = mailbox_by_id(db, mailbox);
        if (!box) return R(box.error());
        auto st =
            query(db,
                  "SELECT count(*), coalesce(sum((flags & ?2) = 0), 0), coalesce(sum((flags & ?3) != 0), 0), "
                  "coalesce(sum(size), 0), coalesce(sum(uid >= ?4), 0) FROM entries WHERE mailbox_id = ?1",
                  mailbox, std::int64_t{flag_seen}, std::int64_t{flag_deleted}, std::int64_t{box->first_recent_uid});
        if (!st) return R(st.error());
        auto row = st->step();
        if (!row) return R(row.error());
        MailboxStatus status;
        status.messages = static_cast<std::uint32_t>(st->column_int(0));
        status.unseen = static_cast<std::uint32_t>(st->column_int(1));
        status.deleted = static_cast<std::uint32_t>(st->column_int(2));
        status.size = static_cast<std::uint64_t>(st->column_int(3));
        status.recent = static_cast<std::uint32_t>(st->column_int(4));
        status.uidvalidity = box->uidvalidity;
        status.uidnext = box->uidnext;
        status.highestmodseq = box->highestmodseq;
        return R(status);
    });
}

// ---- entries -------------------------------------------------------------------------

Result<std::vector<Entry>> SqliteStore::fetch_entries(MailboxId mailbox, std::span<const UidRange> ranges_in,
                                                      FetchOptions options) {
    const std::vector<UidRange> merged = merge_uid_ranges(ranges_in);
    return HK_READ({
        using R = Result<std::vector<Entry>>;
        auto box = mailbox_by_id(db, mailbox);
        if (!box) return R(box.error());
        std::string sql =
            std::string(kEntryColumns) +
            (options.with_structure ? ", m.structure FROM entries e JOIN messages m ON m.id = e.message_id "
                                    : "FROM entries e ") +
            "WHERE e.mailbox_id = ?1 AND e.uid BETWEEN ?2 AND ?3 ORDER BY e.uid";
        std::vector<Entry> out;
        for (const auto& r : merged) {
            auto st = query(db, sql, mailbox, std::int64_t{r.first}, std::int64_t{r.last});
            if (!st) return R(st.error());
            for (;;) {
                auto row = st->step();
                if (!row) return R(row.error());
                if (!*row) break;
                out.push_back(entry_from(*st, options.with_structure));
            }
        }
        return R(std::move(out));
    });
}

namespace {

// Characters (code points) in UTF-8 text: octets that do not continue a sequence.
std::size_t code_points(std::string_view utf8) {
    return static_cast<std::size_t>(
        std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// An FTS5 query matching `needle` as one string: a phrase, its quotes doubled (FTS5's own
// quoting; everything else inside is literal).
std::string fts_phrase(std::string_view needle) {
    std::string out = "\"";
    for (char c : needle) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace

Result<std::optional<std::vector<Uid>>> SqliteStore::text_search_candidates(MailboxId mailbox,
                                                                            std::string_view folded_needle,
                                                                            bool with_header) {
    using R = Result<std::optional<std::vector<Uid>>>;
    // The trigram tokenizer matches nothing for fewer than 3 characters; NUL cannot be bound.
    if (code_points(folded_needle) < 3 || folded_needle.find('\0') != std::string_view::npos)
        return R(std::optional<std::vector<Uid>>{});
    const std::string match = (with_header ? "{header body} : " : "body : ") + fts_phrase(folded_needle);
    return HK_READ({
        auto st = query(db,
                        "SELECT uid FROM entries WHERE mailbox_id = ?1 AND ("
                        "message_id IN (SELECT rowid FROM message_text WHERE message_text MATCH ?2) OR "
                        "message_id IN (SELECT message_id FROM unindexed_text)) ORDER BY uid",
                        mailbox, match);
        if (!st) return R(st.error());
        std::vector<Uid> out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            out.push_back(static_cast<Uid>(st->column_int(0)));
        }
        return R(std::optional<std::vector<Uid>>(std::move(out)));
    });
}

Result<std::string> SqliteStore::read_message(MailboxId mailbox, Uid uid) {
    return HK_READ({
        using R = Result<std::string>;
        auto st = query(db,
                        "SELECT m.raw FROM entries e JOIN messages m ON m.id = e.message_id "
                        "WHERE e.mailbox_id = ?1 AND e.uid = ?2",
                        mailbox, std::int64_t{uid});
        if (!st) return R(st.error());
        auto row = st->step();
        if (!row) return R(row.error());
        if (!*row) return R(not_found("no message with UID " + std::to_string(uid)));
        return R(st->column_blob(0));
    });
}

Result<std::vector<std::optional<std::string>>> SqliteStore::read_messages(MailboxId mailbox,
                                                                           std::span<const Uid> uids) {
    // One transaction and one statement for all: a read transaction's locks and a blob
    // handle's set-up cost more than a small message's bytes.
    return HK_READ({
        using R = Result<std::vector<std::optional<std::string>>>;
        // Each UID's message, 0 for none: one range scan when the UIDs ascend closely (a FETCH
        // of 1:*), else a lookup each.
        std::vector<MessageId> messages(uids.size(), 0);
        const bool ascending = std::is_sorted(uids.begin(), uids.end());
        if (!uids.empty() && ascending && uids.back() - uids.front() <= 2 * uids.size() + 64) {
            auto st = query(db,
                            "SELECT uid, message_id FROM entries WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 "
                            "ORDER BY uid",
                            mailbox, std::int64_t{uids.front()}, std::int64_t{uids.back()});
            if (!st) return R(st.error());
            std::size_t i = 0;
            for (;;) {
                auto row = st->step();
                if (!row) return R(row.error());
                if (!*row) break;
                const Uid uid = static_cast<Uid>(st->column_int(0));
                while (i < uids.size() && uids[i] < uid) ++i;
                if (i < uids.size() && uids[i] == uid) messages[i] = st->column_int(1);
            }
        } else {
            for (std::size_t i = 0; i < uids.size(); ++i) {
                auto message =
                    query_optional_int(db, "SELECT message_id FROM entries WHERE mailbox_id = ?1 AND uid = ?2", mailbox,
                                       std::int64_t{uids[i]});
                if (!message) return R(message.error());
                if (*message) messages[i] = **message;
            }
        }
        std::vector<std::optional<std::string>> out;
        out.reserve(uids.size());
        Connection::BlobCells raw(db, "messages", "raw");
        for (MessageId message : messages) {
            if (message == 0) {
                out.emplace_back(std::nullopt);
                continue;
            }
            auto bytes = raw.read(message);
            if (!bytes) return R(bytes.error());
            out.emplace_back(std::move(*bytes));
        }
        return R(std::move(out));
    });
}

Result<std::string> SqliteStore::read_message_chunk(MailboxId mailbox, Uid uid, std::uint64_t offset,
                                                    std::size_t length) {
    return HK_READ({
        using R = Result<std::string>;
        auto message = query_optional_int(db, "SELECT message_id FROM entries WHERE mailbox_id = ?1 AND uid = ?2",
                                          mailbox, std::int64_t{uid});
        if (!message) return R(message.error());
        if (!*message) return R(not_found("no message with UID " + std::to_string(uid)));
        return db.read_blob_range("messages", "raw", **message, offset, length);
    });
}

void SqliteStore::set_flags_async(MailboxId mailbox, std::span<const Uid> uids, const FlagChange& change,
                                  Completion<FlagResult> done) {
    auto keywords = checked_flag_change(change, uids);
    if (!keywords) return done(keywords.error());
    write_async<FlagResult>(
        std::move(done),
        [mailbox, uids, operation = change.operation, flags_in = change.flags, unchanged_since = change.unchanged_since,
         keywords = std::move(*keywords)](WriteContext& ctx) -> Result<FlagResult> {
            FlagResult result;
            auto box = mailbox_by_id(ctx.db, mailbox);
            if (!box) return box.error();
            ModSeq modseq = 0;
            auto select =
                ctx.db.prepare("SELECT flags, keywords, modseq FROM entries WHERE mailbox_id = ?1 AND uid = ?2");
            if (!select) return select.error();
            for (Uid uid : uids) {
                select->bind(1, mailbox).bind(2, std::int64_t{uid});
                auto row = select->step();
                if (!row) return row.error();
                if (!*row) {
                    select->reset();
                    continue;
                }
                Flags flags = static_cast<Flags>(select->column_int(0));
                std::set<std::string> current = split_keywords(select->column_text(1));
                ModSeq entry_modseq = static_cast<ModSeq>(select->column_int(2));
                select->reset();
                if (unchanged_since && entry_modseq > *unchanged_since) {
                    result.failed.push_back(uid);
                    continue;
                }
                Flags new_flags = flags;
                std::set<std::string> new_keywords = current;
                switch (operation) {
                    case FlagOperation::add:
                        new_flags |= flags_in;
                        new_keywords.insert(keywords.begin(), keywords.end());
                        break;
                    case FlagOperation::remove:
                        new_flags &= ~flags_in;
                        for (const auto& k : keywords) new_keywords.erase(k);
                        break;
                    case FlagOperation::replace:
                        new_flags = flags_in;
                        new_keywords = keywords;
                        break;
                }
                if (new_keywords.size() > kMaxKeywordsPerEntry) return too_many_keywords(uid);
                if (new_flags == flags && new_keywords == current) {
                    result.unchanged.push_back({uid, flags, {current.begin(), current.end()}, entry_modseq});
                    continue;
                }
                if (modseq == 0) {
                    modseq = box->highestmodseq + 1;
                    HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1", mailbox,
                                            static_cast<std::int64_t>(modseq)));
                }
                HK_RETURN_IF_ERROR(exec(ctx.db,
                                        "UPDATE entries SET flags = ?3, keywords = ?4, modseq = ?5 "
                                        "WHERE mailbox_id = ?1 AND uid = ?2",
                                        mailbox, std::int64_t{uid}, std::int64_t{new_flags},
                                        join_keywords(new_keywords), static_cast<std::int64_t>(modseq)));
                result.updated.push_back({uid, new_flags, {new_keywords.begin(), new_keywords.end()}, modseq});
            }
            if (modseq != 0) ctx.changes.push_back({ChangeKind::flags, box->user, mailbox, modseq});
            return result;
        });
}

void SqliteStore::copy_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                     Completion<CopyResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    write_async<CopyResult>(std::move(done), [from, uids, to](WriteContext& ctx) -> Result<CopyResult> {
        return transfer_entries(ctx, from, uids, to, false);
    });
}

void SqliteStore::move_entries_async(MailboxId from, std::span<const Uid> uids, MailboxId to,
                                     Completion<CopyResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    write_async<CopyResult>(std::move(done), [from, uids, to](WriteContext& ctx) -> Result<CopyResult> {
        return transfer_entries(ctx, from, uids, to, true);
    });
}

void SqliteStore::expunge_async(MailboxId mailbox, std::span<const Uid> uids, Completion<ExpungeResult> done) {
    if (auto s = check_uids(uids); !s) return done(s.error());
    write_async<ExpungeResult>(std::move(done), [mailbox, uids](WriteContext& ctx) -> Result<ExpungeResult> {
        auto box = mailbox_by_id(ctx.db, mailbox);
        if (!box) return box.error();
        auto result = remove_entries(ctx.db, mailbox, uids);
        if (!result) return result.error();
        if (!result->expunged.empty())
            ctx.changes.push_back({ChangeKind::expunged, box->user, mailbox, result->modseq});
        return result;
    });
}

void SqliteStore::expunge_deleted_async(MailboxId mailbox, std::optional<std::span<const Uid>> only,
                                        Completion<ExpungeResult> done) {
    if (only) {
        if (auto s = check_uids(*only); !s) return done(s.error());
    }
    write_async<ExpungeResult>(std::move(done), [mailbox, only](WriteContext& ctx) -> Result<ExpungeResult> {
        auto box = mailbox_by_id(ctx.db, mailbox);
        if (!box) return box.error();
        std::vector<Uid> uids;
        auto st = query(ctx.db, "SELECT uid FROM entries WHERE mailbox_id = ?1 AND (flags & ?2) != 0 ORDER BY uid",
                        mailbox, std::int64_t{flag_deleted});
        if (!st) return st.error();
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) break;
            Uid uid = static_cast<Uid>(st->column_int(0));
            if (!only || std::binary_search(only->begin(), only->end(), uid)) uids.push_back(uid);
        }
        st->reset();
        auto result = remove_entries(ctx.db, mailbox, uids);
        if (!result) return result.error();
        if (!result->expunged.empty())
            ctx.changes.push_back({ChangeKind::expunged, box->user, mailbox, result->modseq});
        return result;
    });
}

void SqliteStore::claim_recent_async(MailboxId mailbox, Completion<RecentClaim> done) {
    write_async<RecentClaim>(std::move(done), [mailbox](WriteContext& ctx) -> Result<RecentClaim> {
        auto box = mailbox_by_id(ctx.db, mailbox);
        if (!box) return box.error();
        RecentClaim claim{box->first_recent_uid, box->uidnext};
        if (claim.first < claim.uidnext)
            HK_RETURN_IF_ERROR(exec(ctx.db, "UPDATE mailboxes SET first_recent_uid = uidnext WHERE id = ?1", mailbox));
        return claim;
    });
}

void SqliteStore::append_async(MailboxId mailbox, const StoredMessage& message, Flags flags,
                               std::span<const std::string> keywords_in, TimePoint internal_date,
                               Completion<AppendResult> done) {
    auto keywords = checked_append(message, flags, keywords_in, options_.max_message_size);
    if (!keywords) return done(keywords.error());
    write_async<AppendResult>(
        std::move(done),
        [mailbox, &message, flags, keywords = join_keywords(*keywords),
         internal_date](WriteContext& ctx) -> Result<AppendResult> {
            auto box = mailbox_by_id(ctx.db, mailbox);
            if (!box) return box.error();
            auto stored = insert_message(ctx, message);
            if (!stored) return stored.error();
            NewEntry entry{*stored, flags, keywords, internal_date.time_since_epoch().count(), message.raw.size()};
            auto added = add_entries(ctx.db, mailbox, std::span<const NewEntry>(&entry, 1), true);
            if (!added) return added.error();
            ctx.changes.push_back({ChangeKind::appended, box->user, mailbox, added->modseq});
            return AppendResult{added->uidvalidity, added->uids.front(), added->modseq};
        });
}

void SqliteStore::append_all_async(MailboxId mailbox, std::span<const AppendItem> items,
                                   Completion<std::vector<AppendResult>> done) {
    if (items.empty()) return done(make_error(Errc::invalid_argument, "nothing to append"));
    std::vector<std::string> keywords;
    for (const AppendItem& item : items) {
        auto checked = checked_append(item.message, item.flags, item.keywords, options_.max_message_size);
        if (!checked) return done(checked.error());
        keywords.push_back(join_keywords(*checked));
    }
    write_async<std::vector<AppendResult>>(
        std::move(done),
        [mailbox, items, keywords = std::move(keywords)](WriteContext& ctx) -> Result<std::vector<AppendResult>> {
            auto box = mailbox_by_id(ctx.db, mailbox);
            if (!box) return box.error();
            std::vector<NewEntry> entries;
            for (std::size_t i = 0; i < items.size(); ++i) {
                auto stored = insert_message(ctx, items[i].message);
                if (!stored) return stored.error();
                entries.push_back(NewEntry{*stored, items[i].flags, keywords[i],
                                           items[i].internal_date.time_since_epoch().count(),
                                           items[i].message.raw.size()});
            }
            auto added = add_entries(ctx.db, mailbox, entries, true);
            if (!added) return added.error();
            ctx.changes.push_back({ChangeKind::appended, box->user, mailbox, added->modseq});
            std::vector<AppendResult> out;
            for (Uid uid : added->uids) out.push_back(AppendResult{added->uidvalidity, uid, added->modseq});
            return out;
        });
}

Result<Changes> SqliteStore::changes_since(MailboxId mailbox, ModSeq since) {
    return HK_READ({
        using R = Result<Changes>;
        auto box = mailbox_by_id(db, mailbox);
        if (!box) return R(box.error());
        Changes changes;
        changes.highestmodseq = box->highestmodseq;
        // INDEXED BY: without it SQLite walks the primary key to save the sort, reading every
        // entry of the mailbox; sessions ask this after every change, so it must cost what
        // changed, not the mailbox's size (a few rows sorted, against 100,000 read).
        auto st = query(db,
                        std::string(kEntryColumns) +
                            "FROM entries e INDEXED BY entries_modseq WHERE e.mailbox_id = ?1 AND e.modseq > ?2 "
                            "ORDER BY e.uid",
                        mailbox, static_cast<std::int64_t>(since));
        if (!st) return R(st.error());
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            changes.changed.push_back(entry_from(*st, false));
        }
        auto gone = query(db,
                          "SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ?1 AND modseq > ?2 "
                          "ORDER BY uid",
                          mailbox, static_cast<std::int64_t>(since));
        if (!gone) return R(gone.error());
        for (;;) {
            auto row = gone->step();
            if (!row) return R(row.error());
            if (!*row) break;
            changes.expunged.push_back(static_cast<Uid>(gone->column_int(0)));
        }
        return R(std::move(changes));
    });
}

Result<QuotaUsage> SqliteStore::quota_usage(UserId user) {
    return HK_READ({
        using R = Result<QuotaUsage>;
        auto row = existing_user(db, user);
        if (!row) return R(row.error());
        return R(QuotaUsage{row->used_bytes, row->user.quota_bytes, row->used_messages, row->user.quota_messages});
    });
}

Result<std::unique_ptr<ChangeSubscription>> SqliteStore::subscribe(UserId user, ChangeCallback callback) {
    return notifier_->subscribe(user, std::move(callback));
}

// ---- administration ------------------------------------------------------------------

Result<StoreStats> SqliteStore::stats() {
    auto stats = HK_READ({
        using R = Result<StoreStats>;
        StoreStats s;
        struct Count {
            const char* sql;
            std::uint64_t* out;
        } counts[] = {
            {"SELECT count(*) FROM domains", &s.domains},
            {"SELECT count(*) FROM users", &s.users},
            {"SELECT count(DISTINCT address) FROM aliases", &s.aliases},
            {"SELECT count(*) FROM mailboxes", &s.mailboxes},
            {"SELECT count(*) FROM messages", &s.messages},
            {"SELECT count(*) FROM entries", &s.entries},
            {"SELECT coalesce(sum(size), 0) FROM messages", &s.message_bytes},
            {"SELECT count(*) FROM queue", &s.queued},
            {"SELECT count(*) FROM unindexed_text WHERE pending = 1", &s.unindexed_pending},
        };
        for (auto& c : counts) {
            auto v = query_count(db, c.sql);
            if (!v) return R(v.error());
            *c.out = static_cast<std::uint64_t>(*v);
        }
        auto version = query_count(db, "PRAGMA user_version");
        if (!version) return R(version.error());
        s.schema_version = static_cast<int>(*version);
        return R(s);
    });
    if (!stats) return stats;
    for (const char* suffix : {"", "-wal"}) {
        struct stat st {};
        if (::stat((options_.path + suffix).c_str(), &st) == 0)
            stats->file_bytes += static_cast<std::uint64_t>(st.st_size);
    }
    return stats;
}

namespace {

// Takes up to `max_messages` pending messages into the full-text index, inside the caller's
// write transaction: `mailctl index` (index_pending_text) and the writer's idle time.
Status index_pending_batch(Connection& db, std::size_t max_messages, TextIndexProgress& progress) {
    progress = TextIndexProgress{};
    std::vector<MessageId> pending;
    {
        auto st = query(db, "SELECT message_id FROM unindexed_text WHERE pending = 1 LIMIT ?1",
                        static_cast<std::int64_t>(max_messages));
        if (!st) return st.error();
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) break;
            pending.push_back(st->column_int(0));
        }
    }
    for (MessageId id : pending) {
        auto st = query(db, "SELECT raw FROM messages WHERE id = ?1", id);
        if (!st) return st.error();
        auto row = st->step();
        if (!row) return row.error();
        std::optional<SearchText> text;
        if (*row) {
            const std::string raw = st->column_blob(0);
            text = prepare_search_text(raw);
        }
        if (text) {
            HK_RETURN_IF_ERROR(exec(db, "INSERT INTO message_text(rowid, header, body) VALUES (?1, ?2, ?3)", id,
                                    text->header, text->body));
            HK_RETURN_IF_ERROR(exec(db, "DELETE FROM unindexed_text WHERE message_id = ?1", id));
            ++progress.indexed;
        } else {
            HK_RETURN_IF_ERROR(exec(db, "UPDATE unindexed_text SET pending = 0 WHERE message_id = ?1", id));
            ++progress.unindexable;
        }
    }
    auto left = query_count(db, "SELECT count(*) FROM unindexed_text WHERE pending = 1");
    if (!left) return left.error();
    progress.remaining = static_cast<std::uint64_t>(*left);
    return {};
}

// The writer's idle step ([storage] index on the side: daemons): a few pending messages
// indexed in one short transaction, so a delivery queued meanwhile waits little. Deliveries
// then pay only for a row in unindexed_text; the FTS5 trigram index costs about three times
// what the rest of a 4 KB delivery does (bench/README.md, 2026-12-01).
constexpr std::size_t kIdleIndexBatch = 16;

Result<bool> index_pending_when_idle(Connection& db) {
    // Looked at first without the write lock: most idle moments have nothing pending.
    auto any = query_count(db, "SELECT count(*) FROM (SELECT 1 FROM unindexed_text WHERE pending = 1 LIMIT 1)");
    if (!any) return any.error();
    if (*any == 0) return false;
    auto txn = Transaction::begin(db, Transaction::Kind::write);
    if (!txn) return txn.error();
    TextIndexProgress progress;
    HK_RETURN_IF_ERROR(index_pending_batch(db, kIdleIndexBatch, progress));
    HK_RETURN_IF_ERROR(txn->commit());
    return progress.remaining > 0;
}

}  // namespace

Result<TextIndexProgress> SqliteStore::index_pending_text(std::size_t max_messages) {
    TextIndexProgress progress;
    HK_RETURN_IF_ERROR(
        write([&](WriteContext& ctx) -> Status { return index_pending_batch(ctx.db, max_messages, progress); }));
    return progress;
}

Status SqliteStore::integrity_check() {
    auto report = HK_READ({
        using R = Result<std::string>;
        auto st = query(db, "PRAGMA integrity_check");
        if (!st) return R(st.error());
        std::string out;
        for (;;) {
            auto row = st->step();
            if (!row) return R(row.error());
            if (!*row) break;
            if (!out.empty()) out += "; ";
            out += st->column_text(0);
        }
        auto fk = query(db, "PRAGMA foreign_key_check");
        if (!fk) return R(fk.error());
        auto row = fk->step();
        if (!row) return R(row.error());
        if (*row) out += "; foreign key violation in table " + fk->column_text(0);
        return R(out);
    });
    if (!report) return report.error();
    if (*report != "ok") return make_error(Errc::io_error, "store integrity check failed: " + *report);
    return {};
}

}  // namespace hikyaku::storage
