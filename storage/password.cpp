// password.cpp: argon2id hashing and constant-time verification through libargon2, and the
// syntax check of a PHC string brought in from elsewhere (is_argon2id_phc).
//
// Must never: use a predictable salt (salts come from getrandom); return a hash that
// libargon2 did not produce; treat a malformed stored hash as a match.
#include "storage/password.h"

#include <argon2.h>
#include <sys/random.h>

#include <cerrno>
#include <optional>
#include <variant>
#include <vector>

#include "common/text/base64.h"

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

// Strips `prefix` from the front of text; false if text does not start with it.
bool take(std::string_view& text, std::string_view prefix) {
    if (text.substr(0, prefix.size()) != prefix) return false;
    text.remove_prefix(prefix.size());
    return true;
}

// A decimal number without leading zeros from the front of text (at most 10 digits).
std::optional<std::uint64_t> take_number(std::string_view& text) {
    constexpr std::size_t kMaxDigits = 10;
    std::size_t n = 0;
    while (n < text.size() && n <= kMaxDigits && text[n] >= '0' && text[n] <= '9') ++n;
    if (n == 0 || n > kMaxDigits || (text[0] == '0' && n > 1)) return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < n; ++i) value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    text.remove_prefix(n);
    return value;
}

// Canonical unpadded standard base64, as libargon2 decodes it: padded here and given to
// the strict decoder, which refuses a length of 4k+1 and non-zero unused bits.
bool is_base64(std::string_view text, std::size_t min_chars, std::size_t max_chars) {
    if (text.size() < min_chars || text.size() > max_chars || text.find('=') != std::string_view::npos) return false;
    std::string padded(text);
    padded.append((4 - padded.size() % 4) % 4, '=');
    return std::holds_alternative<std::string>(text::base64_decode_strict(padded));
}

}  // namespace

bool is_argon2id_phc(std::string_view text) {
    if (text.size() > kMaxPhcLength) return false;
    if (!take(text, "$argon2id$v=19$m=")) return false;
    auto m = take_number(text);
    if (!m || !take(text, ",t=")) return false;
    auto t = take_number(text);
    if (!t || !take(text, ",p=")) return false;
    auto p = take_number(text);
    if (!p || !take(text, "$")) return false;
    if (*p < kMinArgon2Parallelism || *p > kMaxArgon2Parallelism) return false;
    if (*t < kMinArgon2Iterations || *t > kMaxArgon2Iterations) return false;
    if (*m < kMinArgon2MemoryKibPerLane * *p || *m > kMaxArgon2MemoryKib) return false;
    auto dollar = text.find('$');
    if (dollar == std::string_view::npos) return false;
    return is_base64(text.substr(0, dollar), kMinPhcSaltChars, kMaxPhcSaltChars) &&
           is_base64(text.substr(dollar + 1), kMinPhcHashChars, kMaxPhcHashChars);
}

Result<std::string> hash_password(std::string_view password, const PasswordCost& cost) {
    unsigned char salt[kSaltLength];
    if (!fill_random(salt, sizeof salt))
        return make_error(Errc::io_error, "cannot read random bytes for a password salt");
    std::size_t length =
        argon2_encodedlen(cost.iterations, cost.memory_kib, cost.parallelism, kSaltLength, kHashLength, Argon2_id);
    std::vector<char> encoded(length + 1, '\0');
    int rc = argon2id_hash_encoded(cost.iterations, cost.memory_kib, cost.parallelism, password.data(), password.size(),
                                   salt, kSaltLength, kHashLength, encoded.data(), encoded.size());
    if (rc != ARGON2_OK)
        return make_error(Errc::internal, std::string("argon2id hashing failed: ") + argon2_error_message(rc));
    return std::string(encoded.data());
}

bool verify_password(std::string_view password, const std::string& encoded_hash) {
    if (encoded_hash.rfind("$argon2id$", 0) != 0) return false;
    return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace hikyaku::storage
