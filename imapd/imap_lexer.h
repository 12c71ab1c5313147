// imap_lexer.h: the framed form of one IMAP command (its lines and literals, as the framer
// assembled them) and the tokens of IMAP's formal syntax read from it: atoms, quoted strings,
// literals, astrings, nstrings, numbers. The grammar (imap_command) and the framer (for the
// tag, the verb and APPEND's mailbox) both read commands through it.
//
// RFC 9051 4.1-4.3 and 9 (atom, ATOM-CHAR, atom-specials, ASTRING-CHAR, quoted, QUOTED-CHAR,
// literal, literal8 (RFC 3516 4.2), astring, nstring, number, number64, nz-number, tag).
// Pure: no I/O. Must never: accept a NUL, CR or LF inside an atom or a quoted string, a
// backslash in a quoted string before anything but '"' or '\', a literal8 where the grammar
// asks for a string, or a number that overflows (numbers saturate to "too large", never wrap).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::imap {

struct Literal {
    std::string data;
    bool binary = false;        // literal8 "~{N}" (RFC 3516)
    bool synchronizing = true;  // "{N}" rather than "{N+}" (RFC 7888)
    bool operator==(const Literal&) const = default;
};

// One command as framed: lines[i] is the text before literal i (its "{N}" marker removed),
// lines.back() the text after the last literal; line ends removed. Always
// lines.size() == literals.size() + 1.
struct FramedCommand {
    std::vector<std::string> lines{std::string()};
    std::vector<Literal> literals;
    bool operator==(const FramedCommand&) const = default;
};

// RFC 9051 9 character classes.
bool is_atom_char(char c);     // ATOM-CHAR: CHAR except atom-specials
bool is_astring_char(char c);  // ASTRING-CHAR: ATOM-CHAR / "]"
bool is_tag_char(char c);      // ASTRING-CHAR except "+"
bool is_list_char(char c);     // ATOM-CHAR / list-wildcards / resp-specials

char ascii_upper(char c);
std::string ascii_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

class Lexer {
public:
    explicit Lexer(FramedCommand& command) : command_(command) {}

    // Position queries.
    bool at_end() const;      // nothing left (end of the last line)
    bool at_literal() const;  // the next token is a literal
    int peek() const;         // the next octet of the current line, or -1 (line end / literal)
    std::size_t line_index() const { return line_; }
    std::size_t offset() const { return pos_; }

    // Consumes `c` if it is next.
    bool take(char c);
    // Consumes `word` (ASCII case-insensitive) if it is next and not followed by another
    // octet for which `continues(c)` holds (so "BODY" does not match "BODY.PEEK").
    bool take_word(std::string_view word, bool (*continues)(char) = nullptr);

    // 1*ATOM-CHAR (or 1*ASTRING-CHAR, 1*list-char, 1*tag-char). Empty when none is next.
    std::string_view atom();
    std::string_view astring_atom();
    std::string_view list_atom();
    std::string_view tag();
    // Octets up to the next one in `stops` (or the line end), at least one.
    std::string_view until_any(std::string_view stops);
    // The longest run of octets of the current line for which pred holds (may be empty).
    std::string_view take_while(bool (*pred)(char));

    // Strings. On failure these return nullopt and set error().
    std::optional<std::string> quoted();  // DQUOTE ... DQUOTE
    std::optional<std::string> literal(bool allow_binary = false, bool* binary = nullptr);
    std::optional<std::string> string();   // quoted / literal
    std::optional<std::string> astring();  // atom (ASTRING-CHAR) / string
    // nstring: nullopt with no error for NIL.
    std::optional<std::string> nstring(bool* nil);
    // number (32-bit), number64 (63-bit), nz-number: digits only, no sign; set error() when
    // absent, too large or (nz) zero.
    std::optional<std::uint32_t> number();
    std::optional<std::uint64_t> number64();
    std::optional<std::uint32_t> nz_number();

    const std::string& error() const { return error_; }
    void fail(std::string reason) {
        if (error_.empty()) error_ = std::move(reason);
    }

private:
    const std::string& line() const { return command_.lines[line_]; }

    FramedCommand& command_;
    std::size_t line_ = 0;
    std::size_t pos_ = 0;
    std::string error_;
};

}  // namespace hikyaku::imap
