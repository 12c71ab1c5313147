// authenticate.cpp: the password check over the Directory (authenticate.h).
#include "storage/authenticate.h"

#include "storage/store.h"

namespace hikyaku::storage {

const std::string& PasswordVerifier::dummy_hash() {
    std::call_once(dummy_once_, [this] {
        auto hash = hash_password("hikyaku dummy password for unknown users", cost_);
        dummy_hash_ = hash ? *hash : std::string();
    });
    return dummy_hash_;
}

Result<std::optional<Credentials>> PasswordVerifier::look_up(Directory& directory, std::string_view address_in,
                                                             std::string_view password) {
    const std::string address = normalize_address(address_in);
    if (!validate_address(address) || password.empty() || password.size() > kMaxPasswordLength)
        return std::optional<Credentials>();
    auto credentials = directory.find_credentials(address);
    if (credentials) return std::optional<Credentials>(std::move(*credentials));
    if (credentials.error().code == Errc::not_found || credentials.error().code == Errc::invalid_argument)
        return std::optional<Credentials>();
    return credentials.error();
}

Result<User> PasswordVerifier::verify(std::optional<Credentials> found, std::string_view password) {
    const std::string& dummy = dummy_hash();
    const Error failed = make_error(Errc::auth_failed, "authentication failed");
    if (!found) {
        (void)verify_password(password, dummy);  // the same cost as a real verification
        return failed;
    }
    if (!verify_password(password, found->password_hash)) return failed;
    return std::move(found->user);
}

Result<User> PasswordVerifier::authenticate(Directory& directory, std::string_view address, std::string_view password) {
    auto found = look_up(directory, address, password);
    if (!found) return found.error();
    return verify(std::move(*found), password);
}

}  // namespace hikyaku::storage
