// directory.h: the store's directory role: which domains are local, who the users are,
// where an address leads, and what a login is checked against. smtpd routes with it; every
// daemon logs users in through it (via storage/authenticate.h, never directly).
//
// Reads only; each call sees one consistent snapshot. Thread-safe. A read may fail with
// Errc::would_block when the caller asked not to wait for the disk (see ReadMode in
// storage/store.h); retrying it without that request succeeds.
// Must never: reveal through an error's words which addresses exist beyond what the method
// is for (find_credentials of an unknown user is not_found, nothing more).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::storage {

class Directory {
public:
    virtual ~Directory() = default;

    virtual Result<std::vector<std::string>> list_domains() = 0;
    // false (not an error) for a malformed domain.
    virtual Result<bool> is_local_domain(std::string_view domain) = 0;
    virtual Result<User> find_user(std::string_view address) = 0;
    // The users an address reaches (a user, or an alias expanded); invalid_argument for a
    // malformed address, not_found for an unknown one.
    virtual Result<std::vector<User>> resolve_recipient(std::string_view address) = 0;
    // The user's own address and every alias reaching them (submission sender check).
    virtual Result<std::vector<std::string>> addresses_of(UserId user) = 0;
    // The user and their password hash; not_found for an unknown or malformed address.
    virtual Result<Credentials> find_credentials(std::string_view address) = 0;
};

}  // namespace hikyaku::storage
