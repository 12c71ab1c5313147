// password.cpp: argon2id hashing and constant-time verification through libargon2.
//
// Must never: use a predictable salt (salts come from getrandom); return a hash that
// libargon2 did not produce; treat a malformed stored hash as a match.
#include "storage/password.h"

#include <argon2.h>
#include <sys/random.h>

#include <cerrno>
#include <vector>

namespace hikyaku::storage {

namespace {

constexpr std::size_t kSaltLength = 16;
constexpr std::size_t kHashLength = 32;

bool fill_random(unsigned char* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        got += static_cast<std::size_t>(r);
    }
    return true;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const PasswordCost& cost) {
    unsigned char salt[kSaltLength];
    if (!fill_random(salt, sizeof salt))
        return make_error(Errc::io_error, "cannot read random bytes for a password salt");
    std::size_t length = argon2_encodedlen(cost.iterations, cost.memory_kib, cost.parallelism,
                                           kSaltLength, kHashLength, Argon2_id);
    std::vector<char> encoded(length + 1, '\0');
    int rc = argon2id_hash_encoded(cost.iterations, cost.memory_kib, cost.parallelism,
                                   password.data(), password.size(), salt, kSaltLength,
                                   kHashLength, encoded.data(), encoded.size());
    if (rc != ARGON2_OK)
        return make_error(Errc::internal, std::string("argon2id hashing failed: ") + argon2_error_message(rc));
    return std::string(encoded.data());
}

bool verify_password(std::string_view password, const std::string& encoded_hash) {
    if (encoded_hash.rfind("$argon2id$", 0) != 0) return false;
    return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace hikyaku::storage
