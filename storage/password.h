// password.h: argon2id password hashing for the SQLite backend (kept out of store.h).
//
// Must never: compare hashes with memcmp (argon2id_verify compares in constant time);
// log or keep a password after the call; skip the work for unknown users (callers use
// verify_dummy so timing does not reveal which addresses exist).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hikyaku::storage {

struct PasswordCost {
    std::uint32_t memory_kib = 19456;
    std::uint32_t iterations = 2;
    std::uint32_t parallelism = 1;
};

// PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash" with a fresh 16-byte salt.
Result<std::string> hash_password(std::string_view password, const PasswordCost& cost);
// true if the password matches; false if not or if the stored hash is unusable.
bool verify_password(std::string_view password, const std::string& encoded_hash);

}  // namespace hikyaku::storage
