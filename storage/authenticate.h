// authenticate.h: checking a password against the Directory, the same way for every backend
// and every protocol (the auth service in common/server calls it on its own thread pool).
//
// An unknown address costs the same argon2id verification as a known one (against a dummy
// hash made once at the store's cost), and both fail with the same error, so neither the
// reply nor its timing tells whether an address exists.
// Must never: log or keep the password; return early for an unknown user; compare hashes
// other than through argon2id_verify (constant time).
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/directory.h"
#include "storage/password.h"

namespace hikyaku::storage {

class PasswordVerifier {
public:
    explicit PasswordVerifier(PasswordCost cost) : cost_(cost) {}
    // auth_failed for an unknown address, a malformed one, an over-long password or a wrong
    // password, with the same message; io_error (or another kind) when the directory fails.
    // Slow by design (argon2id): never on an event loop.
    Result<User> authenticate(Directory& directory, std::string_view address, std::string_view password);
    // The lookup alone: the user's credentials, nullopt (not an error) for an unknown or
    // malformed address or an over-long password, or the directory's error.
    Result<std::optional<Credentials>> look_up(Directory& directory, std::string_view address,
                                               std::string_view password);
    // The check alone, against what look_up() found (nullopt: the dummy hash, same cost).
    Result<User> verify(std::optional<Credentials> found, std::string_view password);

private:
    const std::string& dummy_hash();
    PasswordCost cost_;
    std::once_flag dummy_once_;
    std::string dummy_hash_;
};

}  // namespace hikyaku::storage
