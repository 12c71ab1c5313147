// pop3_reply.h: typed POP3 responses and the functions that write them: status lines
// ("+OK ...", "-ERR [CODE] ..."), SASL continuations ("+ base64"), and multi-line bodies with
// byte-stuffing.
//
// RFC 1939 3 (responses, multi-line responses, byte-stuffing, the ".\r\n" terminator),
// RFC 2449 4 and 8 (512-octet response lines, extended response codes [IN-USE], [LOGIN-DELAY]),
// RFC 3206 ([SYS/TEMP], [SYS/PERM], [AUTH]), RFC 5034 4 (continuations).
// Never writes a CR, LF or control byte from the text of a status line; never lets a body
// line that starts with "." reach the wire unstuffed, and always ends a body with CRLF ".\r\n".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::pop3 {

// RFC 2449 4: a response line is at most 512 octets including the CRLF.
inline constexpr std::size_t kMaxResponseLineLength = 512;

enum class ResponseCode {
    none,
    in_use,       // [IN-USE]      maildrop locked by another session (RFC 2449 8.1.1)
    login_delay,  // [LOGIN-DELAY] logging in too soon (RFC 2449 8.1.2)
    sys_temp,     // [SYS/TEMP]    transient system failure (RFC 3206 4)
    sys_perm,     // [SYS/PERM]    permanent system failure (RFC 3206 4)
    auth,         // [AUTH]        credentials problem (RFC 3206 5)
};
const char* to_string(ResponseCode c);  // "IN-USE", ... ; "" for none

struct Reply {
    bool ok = true;
    ResponseCode code = ResponseCode::none;
    std::string text;

    static Reply positive(std::string text) { return Reply{true, ResponseCode::none, std::move(text)}; }
    static Reply negative(std::string text, ResponseCode code = ResponseCode::none) {
        return Reply{false, code, std::move(text)};
    }
    friend bool operator==(const Reply&, const Reply&) = default;
};

// "+OK text\r\n" or "-ERR [CODE] text\r\n". Bytes outside %d32-126 in the text become '?';
// the line is truncated to kMaxResponseLineLength.
std::string format_reply(const Reply& reply);

// A SASL server challenge (RFC 5034 4): "+ " base64 "\r\n", or "+ \r\n" when empty.
std::string format_continuation(std::string_view base64_challenge);

// Byte-stuffing for a multi-line body streamed in pieces (RETR of a large message): a line
// that starts with "." gets one more "." (RFC 1939 3). A line starts after every LF, so a stray
// bare LF cannot smuggle a terminator either.
class DotStuffer {
public:
    void append(std::string& out, std::string_view chunk);
    // Ends the body: CRLF if the body did not end with one (and is not empty), then ".\r\n".
    void finish(std::string& out);

private:
    // A line starts at the beginning of the body and after every LF.
    bool at_line_start() const { return empty_ || last_ == '\n'; }

    bool empty_ = true;
    char last_ = 0;
    char before_last_ = 0;
};

// A complete multi-line response: status line, stuffed body, terminator.
std::string format_multiline(const Reply& status, std::string_view body);
// A multi-line response whose body is a list of lines (CAPA, LIST, UIDL); each line gets CRLF.
std::string format_multiline(const Reply& status, const std::vector<std::string>& lines);

// TOP (RFC 1939 7): the headers, the blank line after them, and the first `body_lines` lines of
// the body, as a prefix of `message`. The whole message when it has fewer lines, or no body.
std::string_view top_excerpt(std::string_view message, std::uint64_t body_lines);

}  // namespace hikyaku::pop3
