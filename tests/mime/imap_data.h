// imap_data.h: a small reader of IMAP response data (RFC 3501 4, 9) for tests: atoms,
// numbers, quoted strings, literals {N}CRLF, NIL and parenthesized lists.
// Used to compare our FETCH data with the Dovecot oracle as data, not as bytes.
// Must never: read past the input (a literal longer than the rest is an error).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::test {

struct ImapValue {
    enum class Kind { atom, string, nil, list };
    Kind kind = Kind::atom;
    std::string text;              // atom or string contents
    std::vector<ImapValue> items;  // list members
    bool literal = false;          // string was sent as a literal
};

// Parses a sequence of space-separated values. Returns false with `error` set on bad syntax.
bool parse_imap_data(std::string_view in, std::vector<ImapValue>& out, std::string& error);

// The values as IMAP text again (quoted strings, literals kept as literals), for messages.
std::string to_string(const ImapValue& v);

}  // namespace hikyaku::test
