// store.h: the mailbox store every daemon and mailctl use, as the sum of its roles.
//
// Each daemon sees only the roles it needs (STYLE 7): smtpd the Directory and Delivery,
// pop3d the Mailboxes and MaildropLocking, imapd the Mailboxes and ChangeFeed, deliverd the
// QueueRole, Delivery's submissions and the ChangeFeed, mailctl the Administration and the
// QueueRole; every daemon logs users in through storage/authenticate.h over the
// Directory. One backend exists (SQLite, sqlite_store.cpp) and one in-memory implementation
// for tests (memory_store.h); a PostgreSQL backend would implement the same roles. Logic that
// does not depend on the backend (MIME parsing at delivery, recipient de-duplication, UID-set
// normalising, the password check and its timing equaliser) lives above the roles
// (storage/message.h, storage/authenticate.h), so a second backend does not repeat it.
//
// Reads never wait for a write. Writes complete asynchronously (storage/completion.h).
// A thread that must not wait for the disk (an event loop) reads inside a CacheOnlyReads
// scope: a read whose data is not in memory then fails with Errc::would_block, and the
// caller retries it on a thread that may wait (common/server/async_store.h does this).
//
// Must never: expose SQL or sqlite/argon2 types; acknowledge a write before it is durable;
// half-apply a call; report "database is locked".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/limits.h"
#include "common/result.h"
#include "storage/administration.h"
#include "storage/change_feed.h"
#include "storage/delivery.h"
#include "storage/directory.h"
#include "storage/mailboxes.h"
#include "storage/maildrop.h"
#include "storage/queue.h"
#include "storage/types.h"

namespace hikyaku {
struct Config;
}

namespace hikyaku::storage {

struct StoreOptions {
    std::string path;     // the SQLite file; "<path>.notify/" and
                          // "<path>.locks/" are created beside it
    bool create = false;  // true: create and migrate (mailctl init);
                          // false: the store must exist (daemons)
    std::uint64_t max_message_size = kDefaultMaxMessageSize + kTraceHeaderAllowance;  // bytes; deliver/append
        // refuse larger (the client limit plus trace headers)
    std::uint64_t default_quota = 0;                // bytes for users added with quota 0; 0 = none
    std::uint64_t default_quota_messages = 0;       // messages for users added without a limit; 0 = none
    std::chrono::milliseconds busy_timeout{30000};  // wait this long for other writers
    std::uint32_t argon2_memory_kib = 19456;        // argon2id cost (OWASP 2023 minimum)
    std::uint32_t argon2_iterations = 2;
    std::size_t group_commit_max_batch = 256;             // deliveries sharing one commit at most
    std::chrono::milliseconds change_poll_interval{250};  // data_version fallback poll
    // New messages enter the full-text index in the writer's idle time instead of in their
    // delivery's transaction (the daemons: ProcessServices); searches are right either way.
    bool index_text_when_idle = false;
};

// The one place that turns the configuration into StoreOptions (every daemon and mailctl).
StoreOptions store_options(const Config& config);

class Store : public Directory,
              public Delivery,
              public Mailboxes,
              public MaildropLocking,
              public ChangeFeed,
              public Administration,
              public QueueRole {
public:
    ~Store() override = default;
};

// Opens (or with options.create, creates) the store. unsupported if its schema is newer than
// this build; not_found if it does not exist and options.create is false.
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

// While one is alive on a thread, reads made by that thread fail with Errc::would_block
// rather than wait for the disk (data not in the page cache). Nestable; thread-local.
class CacheOnlyReads {
public:
    CacheOnlyReads();
    ~CacheOnlyReads();
    CacheOnlyReads(const CacheOnlyReads&) = delete;
    CacheOnlyReads& operator=(const CacheOnlyReads&) = delete;
    static bool active();
};

// Store::hash_password without a store: the cost (argon2_memory_kib, argon2_iterations) and
// password checks that a store opened with these options applies (`mailctl pw`).
Result<std::string> hash_password(std::string_view password, const StoreOptions& options);

// Validation shared with the protocols (pure, no store access).
Status validate_domain(std::string_view domain);
Status validate_address(std::string_view address);  // local@domain, dot-atom local part
Status validate_mailbox_name(std::string_view name);
Status validate_keyword(std::string_view keyword);        // IMAP atom, not starting with '\'
std::string normalize_address(std::string_view address);  // lower case
// Canonical mailbox name: "INBOX" for any case of inbox (also as first segment), else as is.
std::string normalize_mailbox_name(std::string_view name);

}  // namespace hikyaku::storage
