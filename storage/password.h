// password.h: argon2id password hashing for the SQLite backend (kept out of store.h), and
// the syntactic check of a stored hash that an import brings in.
//
// Must never: compare hashes with memcmp (argon2id_verify compares in constant time);
// log or keep a password after the call; skip the work for unknown users (callers use
// verify_dummy so timing does not reveal which addresses exist); accept in
// is_argon2id_phc a string that argon2id_verify could never match (that user would be
// locked out without a word).
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

// Bounds of a stored hash accepted by is_argon2id_phc (libargon2's own limits, where it
// has them: at least 8 KiB of memory per lane, an 8-byte salt).
inline constexpr std::uint32_t kMinArgon2Parallelism = 1;
inline constexpr std::uint32_t kMaxArgon2Parallelism = 16;
inline constexpr std::uint32_t kMinArgon2Iterations = 1;
inline constexpr std::uint32_t kMaxArgon2Iterations = 64;
inline constexpr std::uint32_t kMinArgon2MemoryKibPerLane = 8;  // times p
inline constexpr std::uint32_t kMaxArgon2MemoryKib = 4194304;   // 4 GiB
inline constexpr std::size_t kMinPhcSaltChars = 11;             // base64 of 8 bytes
inline constexpr std::size_t kMaxPhcSaltChars = 88;             // base64 of 66 bytes
inline constexpr std::size_t kMinPhcHashChars = 22;             // base64 of 16 bytes
inline constexpr std::size_t kMaxPhcHashChars = 128;            // base64 of 96 bytes
inline constexpr std::size_t kMaxPhcLength = 300;

// true for exactly "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH": M, T, P decimal without leading
// zeros within the bounds above (m from 8*p), SALT and HASH canonical unpadded standard
// base64 (A-Z a-z 0-9 + /, no length of the form 4k+1, unused low bits zero) of the
// lengths above, at most kMaxPhcLength bytes in all. Syntax only: no hashing.
bool is_argon2id_phc(std::string_view text);

}  // namespace hikyaku::storage
