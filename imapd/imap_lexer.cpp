// imap_lexer.cpp: see imap_lexer.h. RFC 9051 4.1-4.3, 9; RFC 3516 4.2.
#include "imapd/imap_lexer.h"
#include "common/text/ascii.h"

namespace hikyaku::imap {
namespace {

constexpr std::uint64_t kMaxNumber32 = 0xFFFFFFFFu;
constexpr std::uint64_t kMaxNumber64 = 0x7FFFFFFFFFFFFFFFull;  // RFC 9051 9 number64

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_atom_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x1F || u >= 0x7F) return false;  // CTL and 8-bit (CHAR is %x01-7F)
    switch (c) {
        case '(':
        case ')':
        case '{':
        case ' ':
        case '%':
        case '*':
        case '"':
        case '\\':
        case ']': return false;
        default: return true;
    }
}

bool is_astring_char(char c) { return is_atom_char(c) || c == ']'; }
bool is_tag_char(char c) { return is_astring_char(c) && c != '+'; }
bool is_list_char(char c) { return is_atom_char(c) || c == '%' || c == '*' || c == ']'; }

std::string ascii_upper(std::string_view s) { return text::ascii_uppercase(s); }

bool iequals(std::string_view a, std::string_view b) { return text::iequals(a, b); }

bool Lexer::at_end() const { return line_ + 1 >= command_.lines.size() && pos_ >= line().size(); }

bool Lexer::at_literal() const { return line_ + 1 < command_.lines.size() && pos_ >= line().size(); }

int Lexer::peek() const {
    if (pos_ >= line().size()) return -1;
    return static_cast<unsigned char>(line()[pos_]);
}

bool Lexer::take(char c) {
    if (pos_ < line().size() && line()[pos_] == c) {
        ++pos_;
        return true;
    }
    return false;
}

bool Lexer::take_word(std::string_view word, bool (*continues)(char)) {
    const std::string& l = line();
    if (l.size() - pos_ < word.size()) return false;
    if (!iequals(std::string_view(l).substr(pos_, word.size()), word)) return false;
    const std::size_t end = pos_ + word.size();
    if (continues != nullptr && end < l.size() && continues(l[end])) return false;
    pos_ = end;
    return true;
}

std::string_view Lexer::take_while(bool (*pred)(char)) {
    const std::string& l = line();
    const std::size_t start = pos_;
    while (pos_ < l.size() && pred(l[pos_])) ++pos_;
    return std::string_view(l).substr(start, pos_ - start);
}

std::string_view Lexer::atom() { return take_while(is_atom_char); }
std::string_view Lexer::astring_atom() { return take_while(is_astring_char); }
std::string_view Lexer::list_atom() { return take_while(is_list_char); }
std::string_view Lexer::tag() { return take_while(is_tag_char); }

std::string_view Lexer::until_any(std::string_view stops) {
    const std::string& l = line();
    const std::size_t start = pos_;
    while (pos_ < l.size() && stops.find(l[pos_]) == std::string_view::npos) ++pos_;
    return std::string_view(l).substr(start, pos_ - start);
}

std::optional<std::string> Lexer::quoted() {
    if (!take('"')) {
        fail("Expected a quoted string");
        return std::nullopt;
    }
    const std::string& l = line();
    std::string out;
    while (pos_ < l.size()) {
        const char c = l[pos_++];
        if (c == '"') return out;
        if (c == '\\') {
            if (pos_ < l.size() && (l[pos_] == '"' || l[pos_] == '\\')) {
                out += l[pos_++];
                continue;
            }
            fail("Invalid escape in quoted string (only \\\" and \\\\ are allowed)");
            return std::nullopt;
        }
        if (c == '\0' || c == '\r' || c == '\n') {
            fail("NUL, CR or LF in quoted string");
            return std::nullopt;
        }
        out += c;
    }
    fail("Unterminated quoted string");
    return std::nullopt;
}

std::optional<std::string> Lexer::literal(bool allow_binary, bool* binary) {
    if (!at_literal()) {
        fail("Expected a literal");
        return std::nullopt;
    }
    Literal& lit = command_.literals[line_];
    if (lit.binary && !allow_binary) {
        fail("literal8 is not allowed here");
        return std::nullopt;
    }
    if (binary != nullptr) *binary = lit.binary;
    std::string out = std::move(lit.data);
    ++line_;
    pos_ = 0;
    return out;
}

std::optional<std::string> Lexer::string() {
    if (peek() == '"') return quoted();
    if (at_literal()) return literal();
    fail("Expected a string");
    return std::nullopt;
}

std::optional<std::string> Lexer::astring() {
    if (peek() == '"' || at_literal()) return string();
    std::string_view a = astring_atom();
    if (a.empty()) {
        fail("Expected an atom or string");
        return std::nullopt;
    }
    return std::string(a);
}

std::optional<std::string> Lexer::nstring(bool* nil) {
    *nil = false;
    if (take_word("NIL", is_atom_char)) {
        *nil = true;
        return std::nullopt;
    }
    return string();
}

std::optional<std::uint64_t> Lexer::number64() {
    const std::string& l = line();
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    bool overflow = false;
    while (pos_ < l.size() && is_digit(l[pos_])) {
        const unsigned digit = static_cast<unsigned>(l[pos_] - '0');
        if (v > (kMaxNumber64 - digit) / 10) overflow = true;  // keep consuming digits; the value is never used
        else v = v * 10 + digit;
        ++pos_;
    }
    if (pos_ == start) {
        fail("Expected a number");
        return std::nullopt;
    }
    if (overflow) {
        fail("Number too large");
        return std::nullopt;
    }
    return v;
}

std::optional<std::uint32_t> Lexer::number() {
    auto v = number64();
    if (!v) return std::nullopt;
    if (*v > kMaxNumber32) {
        fail("Number too large");
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(*v);
}

std::optional<std::uint32_t> Lexer::nz_number() {
    auto v = number();
    if (v && *v == 0) {
        fail("Number must not be zero");
        return std::nullopt;
    }
    return v;
}

}  // namespace hikyaku::imap
