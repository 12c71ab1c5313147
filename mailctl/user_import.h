// user_import.h: what mailctl reads from the administrator without the store: sizes
// ("25M") and the user list of `mailctl user import`, one user a line:
//
//   ADDRESS HASH [QUOTA]      fields separated by spaces or tabs
//   # comment                 skipped, as are blank lines
//
// HASH is an argon2id PHC string, optionally with Dovecot's "{ARGON2ID}" scheme prefix
// (stripped here); QUOTA is a size as parse_size reads it (0 or absent: the default).
//
// Must never: read a line past kMaxImportLineBytes into memory, or more users than asked;
// accept a hash the store would refuse (so a typo fails with FILE:LINE, not later);
// return part of a file: a bad line fails the whole read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/store.h"

namespace hikyaku::mailctl {

inline constexpr std::size_t kMaxImportLineBytes = 1000;  // without the line end
inline constexpr std::size_t kMaxImportUsers = 1000000;

// "1048576", "512K", "25M", "2G" (powers of 1024) -> bytes; nullopt if malformed or too big.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "0", "100": a count in decimal digits only, at most kMaxCount (what the store keeps in a
// signed 64-bit column); nullopt if empty, malformed or too big.
inline constexpr std::uint64_t kMaxCount = 0x7fffffffffffffffull;
std::optional<std::uint64_t> parse_count(std::string_view text);

// One line without its line end: nullopt for a blank or comment line, else the user
// (address normalised). The error says what is wrong, without file or line number.
Result<std::optional<storage::UserImport>> parse_import_line(std::string_view line);

// Every line of `in` (LF or CRLF ends; the last line may lack one). Errors read
// "NAME:LINE: reason": a bad line, a line over kMaxImportLineBytes, an address twice, more
// than max_users users.
Result<std::vector<storage::UserImport>> read_import(std::istream& in, const std::string& name,
                                                     std::size_t max_users = kMaxImportUsers);

}  // namespace hikyaku::mailctl
