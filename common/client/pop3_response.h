// pop3_response.h: the client side's reading of POP3 responses (RFC 1939 3): a status line
// ("+OK" or "-ERR" and its text) and, after "+OK" to a command with a multi-line answer
// (LIST, UIDL, TOP, RETR, CAPA), the lines up to the one holding a single ".", with the
// byte-stuffing undone. And the pure readings of what those lines hold: scan listings
// (RFC 1939 5 LIST, 7 UIDL), STAT's drop listing, CAPA tags (RFC 2449 5).
// Used by mailcli and the load generator.
//
// Pop3ResponseParser is incremental and holds no partial line: feed() gets everything that
// has arrived and not yet been consumed, takes whole lines only and says how many octets it
// took; the caller drops those and feeds the rest again once more has arrived. So the result
// does not depend on how the bytes were split into reads.
// Must never: look past its input, accept a status line over limits.max_status_line, a body
// line over limits.max_data_line or a body over limits.max_body octets, read past the
// terminating "." (what follows belongs to the next response), or take "-ERR" for "+OK".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::client {

struct Pop3Limits {
    std::size_t max_status_line = 4096;        // octets before CRLF; RFC 1939 3 says 512 with CRLF
    std::size_t max_data_line = 1024 * 1024;   // one body line; lenient for broken mail (RFC 5322 says 998)
    std::size_t max_body = 256 * 1024 * 1024;  // one multi-line body after un-stuffing, CRLFs counted
};

enum class Pop3Status {
    incomplete,      // feed more
    ok,              // "+OK": status_text(), and body() when a body was expected
    err,             // "-ERR": status_text() says why; no body follows (RFC 1939 3)
    not_pop3,        // a status line that is neither (bad_line() shows it)
    line_too_long,   // a status or body line over its limit
    body_too_large,  // the body over limits.max_body
};
const char* to_string(Pop3Status status);

// What to do with the body of a multi-line response.
enum class Pop3Body {
    none,   // a single-line response (USER, PASS, STAT, DELE, QUIT, ...)
    keep,   // keep the un-stuffed lines, each ending in CRLF
    count,  // only count them (the load generator): body() stays empty
};

class Pop3ResponseParser {
public:
    explicit Pop3ResponseParser(Pop3Body body = Pop3Body::none, Pop3Limits limits = {})
        : limits_(limits), body_mode_(body) {}

    // Takes whole lines from the front of `input` until the response is complete or wrong;
    // returns the octets taken. Once done(), takes nothing more.
    std::size_t feed(std::string_view input);
    bool done() const { return status_ != Pop3Status::incomplete; }
    Pop3Status status() const { return status_; }
    const std::string& status_text() const { return status_text_; }
    // The un-stuffed body, every line ending in CRLF (a line that ended in a bare LF too).
    const std::string& body() const { return body_; }
    std::string take_body() { return std::move(body_); }
    std::size_t body_octets() const { return body_octets_; }
    std::size_t body_lines() const { return body_lines_; }
    // The start (at most 80 octets) of a status line that is not POP3.
    const std::string& bad_line() const { return bad_line_; }
    // A one-line description of a failure (not for Pop3Status::err: the caller says which
    // command the server refused).
    std::string error_message() const;
    // Ready for the next response, expecting `body`.
    void reset(Pop3Body body);

private:
    // Each takes one line; false once the response is done (or wrong).
    bool take_status_line(std::string_view line);
    bool take_body_line(std::string_view line);

    Pop3Limits limits_;
    Pop3Body body_mode_;
    Pop3Status status_ = Pop3Status::incomplete;
    bool in_body_ = false;
    std::string status_text_;
    std::string body_;
    std::size_t body_octets_ = 0;
    std::size_t body_lines_ = 0;
    std::string bad_line_;
};

// "+OK" / "+OK text" / "-ERR" / "-ERR text" (RFC 1939 3). nullopt for anything else; the
// text (possibly empty) otherwise, with `ok` saying which.
std::optional<std::string_view> parse_status_line(std::string_view line, bool& ok);

struct Pop3Listing {
    std::uint32_t number = 0;
    std::uint64_t size = 0;
};
struct Pop3Uid {
    std::uint32_t number = 0;
    std::string uid;
};
struct Pop3Drop {
    std::uint64_t messages = 0;
    std::uint64_t octets = 0;
};

// A LIST scan line "N SIZE" (RFC 1939 5; text after SIZE is allowed); nullopt when malformed.
std::optional<Pop3Listing> parse_scan_line(std::string_view line);
// A UIDL line "N UID", UID 1 to 70 characters 0x21 to 0x7E (RFC 1939 7).
std::optional<Pop3Uid> parse_uid_line(std::string_view line);
// The text of STAT's "+OK" reply: "N SIZE" and anything after (RFC 1939 5).
std::optional<Pop3Drop> parse_drop_listing(std::string_view status_text);

// The lines of a body kept by Pop3ResponseParser, without their CRLFs.
std::vector<std::string_view> body_lines(std::string_view body);

// CAPA (RFC 2449 5): whether `capabilities` (the body lines) hold the tag `name` (any case),
// and whether SASL lists `mechanism`.
bool has_capability(const std::vector<std::string_view>& capabilities, std::string_view name);
bool has_sasl_mechanism(const std::vector<std::string_view>& capabilities, std::string_view mechanism);

}  // namespace hikyaku::client
