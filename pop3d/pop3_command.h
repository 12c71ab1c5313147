// pop3_command.h: the POP3 command parser. One command line (without its CRLF) in, a typed
// Command or a typed CommandError out. Pure: no I/O, no session state, every length bounded by
// a named limit.
//
// RFC 1939 3, 5-7 (USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL, APOP),
// RFC 2449 4-5 (CAPA; keywords case-insensitive; 255-octet command lines, 40-octet arguments),
// RFC 2595 4 (STLS), RFC 5034 4 (AUTH).
//
// Never accepts a NUL, CR or LF inside a line, a sign, a "+", a non-digit or an out-of-range
// value as a message number (and never overflows reading one), or an argument longer than the
// limit. The two exceptions to the 40-octet argument bound are deliberate and documented at
// CommandLimits: PASS (a password is the rest of the line and may contain spaces) and the AUTH
// initial response (base64); both are still bounded by the line limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/text/sasl.h"
#include "pop3d/pop3_reply.h"

namespace hikyaku::pop3 {

// RFC 2449 4: a command line is at most 255 octets including the CRLF; an argument at most 40.
inline constexpr std::size_t kMaxCommandLineLength = 255;
inline constexpr std::size_t kMaxArgumentLength = 40;
// Message numbers and TOP line counts are at most this (larger is "out of range", never wraps).
inline constexpr std::uint32_t kMaxNumber = 0xFFFFFFFFu;

struct CommandLimits {
    std::size_t max_line_length = kMaxCommandLineLength;  // including CRLF
    // Applies to every argument except PASS's password and AUTH's initial response: passwords
    // longer than 40 octets are common and only the line bound is needed against abuse.
    std::size_t max_argument_length = kMaxArgumentLength;
};

enum class Verb { user, pass, apop, stat, list, retr, dele, noop, rset, quit, top, uidl, capa, stls, auth };
const char* verb_name(Verb v);  // upper-case, as on the wire

struct Command {
    Verb verb = Verb::noop;
    // LIST [n], UIDL [n], RETR n, DELE n, TOP n m: the message number (1-based, never 0).
    std::optional<std::uint32_t> message;
    std::uint32_t lines = 0;  // TOP's m (0 allowed: headers only)
    // USER: the name; PASS: the password, everything after "PASS " verbatim (spaces kept);
    // APOP: the name.
    std::string argument;
    std::string digest;  // APOP: the digest (the session refuses APOP anyway)
    // AUTH: the mechanism, nullopt for a bare "AUTH" (which lists the mechanisms, as clients
    // expect from RFC 1734 servers); the initial response as sent ("=" means empty).
    std::optional<sasl::Mechanism> mechanism;
    std::optional<std::string> initial_response;
};

enum class CommandErrorKind {
    unknown_command,        // -ERR unknown command
    syntax_error,           // missing or extra arguments, a non-number where one is needed
    out_of_range,           // a number that is 0 or above kMaxNumber
    line_too_long,          // over max_line_length
    argument_too_long,      // an argument over max_argument_length
    invalid_character,      // NUL, CR or LF inside the line
    unsupported_mechanism,  // AUTH with a mechanism other than PLAIN and LOGIN
};
const char* to_string(CommandErrorKind k);

struct CommandError {
    CommandErrorKind kind = CommandErrorKind::syntax_error;
    std::optional<Verb> verb;  // the recognised verb, when the error is in its arguments
    std::string detail;        // one line for the reply text and the log
};

// The -ERR reply for a parse error.
Reply to_reply(const CommandError& error);

std::variant<Command, CommandError> parse_command(std::string_view line, const CommandLimits& limits = {});

}  // namespace hikyaku::pop3
