// smtp_command.h: the SMTP command parser. One command line (without its CRLF) in, a typed
// Command or a typed CommandError out. Pure: no I/O, no session state beyond the ParseContext
// the caller passes, every length bounded by a named limit.
//
// RFC 5321 4.1.1 (commands), 4.1.2 (syntax), 4.1.4 (case-insensitive verbs), 4.5.3.1.4
// (512-octet command lines); RFC 1869 / RFC 5321 4.1.1.11 (unknown MAIL/RCPT parameters: 555);
// RFC 1870 (SIZE), RFC 6152 (BODY=8BITMIME), RFC 3030 (BDAT, BODY=BINARYMIME), RFC 6531
// (SMTPUTF8), RFC 4954 (AUTH, MAIL AUTH=), RFC 3207 (STARTTLS), RFC 3463 / RFC 5248
// (enhanced status codes of the error replies).
//
// Never accepts a NUL, CR or LF inside a line, a non-ASCII address without SMTPUTF8, a
// MAIL/RCPT without angle brackets, or a parameter it does not know (555, never ignored).
// Tolerates, as Postfix does, spaces after "FROM:"/"TO:", repeated spaces between
// parameters, lower-case verbs and keywords, and trailing spaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/text/address.h"
#include "common/text/sasl.h"
#include "smtpd/reply.h"

namespace hikyaku::smtp {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including the CRLF.
inline constexpr std::size_t kMaxCommandLineLength = 512;
// RFC 4954 4: an AUTH command line (with its initial response) may be 12288 octets.
inline constexpr std::size_t kMaxAuthLineLength = 12288;

struct CommandLimits {
    std::size_t max_line_length = kMaxCommandLineLength;    // including CRLF
    std::size_t max_auth_line_length = kMaxAuthLineLength;  // including CRLF
};

// What the parser needs to know about the session.
struct ParseContext {
    bool smtputf8 = false;  // the current transaction's MAIL carried SMTPUTF8 (RFC 6531 3.4)
};

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth };
const char* verb_name(Verb v);  // upper-case, as on the wire

enum class BodyType { seven_bit, eight_bit_mime, binary_mime };  // RFC 6152, RFC 3030

struct HeloCommand {
    std::string domain;  // as received (a domain, or an address literal with brackets)
    bool address_literal = false;
};

struct MailCommand {
    text::Path reverse_path;            // may be null ("<>")
    std::optional<std::uint64_t> size;  // SIZE=n (RFC 1870); saturates at UINT64_MAX
    std::optional<BodyType> body;       // BODY=
    bool smtputf8 = false;              // SMTPUTF8 (RFC 6531)
    std::optional<std::string> auth;    // AUTH= (RFC 4954 5), xtext-decoded; "<>" kept as is
};

struct RcptCommand {
    text::Path forward_path;  // never null; may be the bare "<Postmaster>"
};

struct BdatCommand {
    std::uint64_t size = 0;  // chunk size in octets (saturates at UINT64_MAX)
    bool last = false;
};

struct AuthCommand {
    sasl::Mechanism mechanism = sasl::Mechanism::plain;
    std::optional<std::string> initial_response;  // raw token ("=" means empty), not decoded
};

struct Command {
    Verb verb = Verb::noop;
    std::variant<std::monostate, HeloCommand, MailCommand, RcptCommand, BdatCommand, AuthCommand> args;
    std::string argument;  // the rest of the line for NOOP, VRFY, EXPN, HELP (may be empty)

    const HeloCommand* helo() const { return std::get_if<HeloCommand>(&args); }
    const MailCommand* mail() const { return std::get_if<MailCommand>(&args); }
    const RcptCommand* rcpt() const { return std::get_if<RcptCommand>(&args); }
    const BdatCommand* bdat() const { return std::get_if<BdatCommand>(&args); }
    const AuthCommand* auth() const { return std::get_if<AuthCommand>(&args); }
};

enum class CommandErrorKind {
    unknown_command,         // 500 5.5.1
    line_too_long,           // 500 5.5.2 "Line too long" (RFC 5321 4.5.3.1.4)
    invalid_character,       // 500 5.5.2 NUL, CR or LF inside the line
    syntax_error,            // 501 5.5.4 missing, extra or malformed arguments
    bad_sender_address,      // 501 5.1.7
    bad_recipient_address,   // 501 5.1.3
    path_too_long,           // 501 5.1.7 / 5.1.3 "Path too long" (RFC 5321 4.5.3.1.3)
    non_ascii_address,       // 553 5.6.7 (RFC 6531 3.5)
    bad_parameter_value,     // 501 5.5.4 known parameter, bad value (SIZE=x, BODY=9BIT, dup)
    unrecognized_parameter,  // 555 5.5.4 (RFC 5321 4.1.1.11)
    unrecognized_mechanism,  // 504 5.5.4 (RFC 4954 4)
};
const char* to_string(CommandErrorKind k);

struct CommandError {
    CommandErrorKind kind = CommandErrorKind::syntax_error;
    std::optional<Verb> verb;  // the recognised verb, when the error is in its arguments
    std::string detail;        // one line for the reply text and the log
};

// The reply the session sends for a parse error. A BDAT error is special: the session
// cannot know how many octets follow, so it must close after replying (RFC 3030 2).
Reply to_reply(const CommandError& error);

std::variant<Command, CommandError> parse_command(std::string_view line, const ParseContext& context = {},
                                                  const CommandLimits& limits = {});

}  // namespace hikyaku::smtp
