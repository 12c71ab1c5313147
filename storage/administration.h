// administration.h: the store's administration role, for mailctl (and test set-up): domains,
// users, passwords, quotas, aliases, statistics. Blocking calls: never from an event loop.
//
// Must never: store a password other than as an argon2id hash; leave a user half-created
// (add_user creates INBOX, Sent, Drafts, Trash and Junk, subscribed, in the same
// transaction); remove a domain that still has users or aliases.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::storage {

class Administration {
public:
    virtual ~Administration() = default;

    // Domains. remove_domain refuses while users or aliases remain in it.
    virtual Status add_domain(std::string_view domain) = 0;
    virtual Status remove_domain(std::string_view domain) = 0;

    // Users. quota 0 means the store's default_quota; the message quota of a new user is the
    // store's default_quota_messages. remove_user deletes their mailboxes, entries and aliases.
    virtual Result<User> add_user(std::string_view address, std::string_view password,
                                  std::uint64_t quota_bytes = 0) = 0;
    virtual Status remove_user(std::string_view address) = 0;
    virtual Status set_password(std::string_view address, std::string_view password) = 0;
    // Sets the byte quota and, when given, the message quota (RFC 9208 5.2); nullopt keeps
    // the message quota as it is. 0 is unlimited. One transaction.
    virtual Status set_quota(std::string_view address, std::uint64_t quota_bytes,
                             std::optional<std::uint64_t> quota_messages = std::nullopt) = 0;
    // The argon2id PHC string add_user would store for this password (the store's cost;
    // the same password checks). Slow (argon2).
    virtual Result<std::string> hash_password(std::string_view password) = 0;
    // Adds every user, with add_user's mailboxes and subscriptions, in one write
    // transaction: all or none. invalid_argument for a malformed address, a hash that is
    // not an argon2id PHC string, or an address twice in the batch; not_found for a domain
    // that is not local; already_exists for an existing user or alias. The error names the
    // address. Returns the users in the order given. Hashes are stored as given.
    virtual Result<std::vector<User>> import_users(std::span<const UserImport> users) = 0;
    virtual Result<std::vector<User>> list_users(std::string_view domain = {}) = 0;  // all if empty

    // Aliases: an address in a local domain expanding to one or more users.
    virtual Status add_alias(std::string_view alias, std::string_view target_user) = 0;
    // Removes one target, or every target when target_user is empty.
    virtual Status remove_alias(std::string_view alias, std::string_view target_user = {}) = 0;
    virtual Result<std::vector<Alias>> list_aliases(std::string_view domain = {}) = 0;

    virtual Result<StoreStats> stats() = 0;
    virtual Status integrity_check() = 0;
    // Takes up to max_messages of the messages stored before the full-text index existed into
    // it (one transaction); `mailctl index` repeats it until none remain. Searches are right
    // meanwhile, only slower: a message without an index row is always read.
    virtual Result<TextIndexProgress> index_pending_text(
        std::size_t max_messages) = 0;  // io_error with the backend's report if not "ok"
};

}  // namespace hikyaku::storage
