// user_import.cpp: sizes and the `mailctl user import` list format (see user_import.h).
//
// Must never: grow a line buffer past kMaxImportLineBytes + 2 bytes; echo a password hash
// back in an error.
#include "mailctl/user_import.h"

#include <unordered_map>

#include "common/text/ascii.h"
#include "storage/password.h"

namespace hikyaku::mailctl {

namespace {

constexpr std::string_view kDovecotScheme = "{ARGON2ID}";
constexpr const char* kLineShape = " (a line is: ADDRESS HASH [QUOTA])";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The next field of `line` (from `pos`, skipping spaces and tabs); empty at the end.
std::string_view next_field(std::string_view line, std::size_t& pos) {
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    std::size_t start = pos;
    while (pos < line.size() && !is_blank(line[pos])) ++pos;
    return line.substr(start, pos - start);
}

bool starts_with_ignoring_case(std::string_view line, std::string_view prefix) {
    return line.size() >= prefix.size() && text::iequals(line.substr(0, prefix.size()), prefix);
}

Error line_error(const std::string& name, std::size_t line, const std::string& reason) {
    return make_error(Errc::invalid_argument, name + ":" + std::to_string(line) + ": " + reason);
}

}  // namespace

std::optional<std::uint64_t> parse_count(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMaxCount - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (value > (UINT64_MAX - 9) / 10) return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (i == 0) return std::nullopt;
    std::uint64_t unit = 1;
    if (i < text.size()) {
        if (i + 1 != text.size()) return std::nullopt;
        switch (text[i]) {
            case 'k':
            case 'K': unit = 1ull << 10; break;
            case 'm':
            case 'M': unit = 1ull << 20; break;
            case 'g':
            case 'G': unit = 1ull << 30; break;
            default: return std::nullopt;
        }
    }
    if (value > UINT64_MAX / unit) return std::nullopt;
    return value * unit;
}

Result<std::optional<storage::UserImport>> parse_import_line(std::string_view line) {
    using R = Result<std::optional<storage::UserImport>>;
    if (line.size() > kMaxImportLineBytes)
        return R(
            make_error(Errc::limit_exceeded, "line longer than " + std::to_string(kMaxImportLineBytes) + " bytes"));
    std::size_t pos = 0;
    std::string_view address = next_field(line, pos);
    if (address.empty() || address.front() == '#') return R(std::nullopt);
    std::string_view hash = next_field(line, pos);
    std::string_view quota = next_field(line, pos);
    if (!next_field(line, pos).empty())
        return R(make_error(Errc::invalid_argument, std::string("too many fields") + kLineShape));
    if (hash.empty()) return R(make_error(Errc::invalid_argument, std::string("no password hash") + kLineShape));

    storage::UserImport user;
    user.address = storage::normalize_address(address);
    if (auto s = storage::validate_address(user.address); !s)
        return R(make_error(Errc::invalid_argument, "bad address: " + s.error().message));
    if (starts_with_ignoring_case(hash, kDovecotScheme)) hash.remove_prefix(kDovecotScheme.size());
    if (!storage::is_argon2id_phc(hash))
        return R(make_error(Errc::invalid_argument,
                            "the password hash is not an argon2id PHC string "
                            "($argon2id$v=19$m=M,t=T,p=P$SALT$HASH, optionally after {ARGON2ID})"));
    user.password_hash = std::string(hash);
    if (!quota.empty()) {
        auto bytes = parse_size(quota);
        if (!bytes) return R(make_error(Errc::invalid_argument, "bad quota (bytes, or a number with K, M or G)"));
        user.quota_bytes = *bytes;
    }
    return R(std::move(user));
}

Result<std::vector<storage::UserImport>> read_import(std::istream& in, const std::string& name, std::size_t max_users) {
    using R = Result<std::vector<storage::UserImport>>;
    std::vector<storage::UserImport> users;
    std::unordered_map<std::string, std::size_t> line_of;  // address -> line it is on
    std::streambuf* buffer = in.rdbuf();
    std::string line;
    line.reserve(kMaxImportLineBytes + 2);
    for (std::size_t number = 1;; ++number) {
        line.clear();
        int c = EOF;
        // A CR may still go before the LF, so one byte past the limit is kept before failing.
        while ((c = buffer->sbumpc()) != EOF && c != '\n') {
            if (line.size() > kMaxImportLineBytes)
                return R(
                    line_error(name, number, "line longer than " + std::to_string(kMaxImportLineBytes) + " bytes"));
            line += static_cast<char>(c);
        }
        if (c == EOF && line.empty()) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto parsed = parse_import_line(line);
        if (!parsed) return R(line_error(name, number, parsed.error().message));
        if (*parsed) {
            if (users.size() == max_users)
                return R(line_error(name, number, "more than " + std::to_string(max_users) + " users in one import"));
            auto [at, fresh] = line_of.emplace((*parsed)->address, number);
            if (!fresh)
                return R(
                    line_error(name, number, (*parsed)->address + " is already on line " + std::to_string(at->second)));
            users.push_back(std::move(**parsed));
        }
        if (c == EOF) break;
    }
    return R(std::move(users));
}

}  // namespace hikyaku::mailctl
