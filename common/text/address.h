// address.h: RFC 5321 mail paths as they appear in MAIL FROM and RCPT TO, and the ESMTP
// parameter list that follows them. Pure: bytes in, a typed Path or a typed error out.
//
// Implements RFC 5321 4.1.2 (Reverse-path, Forward-path, Mailbox, Local-part, Domain,
// address literals 4.1.3), source routes parsed and dropped (4.1.1.3, Appendix C), the size
// limits of 4.5.3.1.1-3, and RFC 6531 3.3 (UTF-8 in local part and domain, only when the
// SMTPUTF8 parameter was given).
//
// Never accepts: a trailing or doubled dot, an empty label or local part, a label over 63
// octets, a non-ASCII byte without SMTPUTF8, invalid UTF-8 (overlong forms, surrogates),
// a control character, an address literal that is not a valid IPv4 or IPv6 address, or
// anything after the closing '>' inside the path. It never interprets '%', '!' or quoted
// '@' as routing: they are local-part characters (no percent hack).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// The shared helpers this interface's callers use with it (is_valid_utf8, ascii_lowercase).
#include "common/text/ascii.h"
#include "common/text/utf8.h"

namespace hikyaku::text {

// RFC 5321 4.5.3.1.1-3.
inline constexpr std::size_t kMaxLocalPartLength = 64;
inline constexpr std::size_t kMaxDomainLength = 255;
inline constexpr std::size_t kMaxPathLength = 256;  // including '<', '>' and any source route
inline constexpr std::size_t kMaxLabelLength = 63;  // RFC 1035 2.3.4

enum class DomainKind { name, ipv4_literal, ipv6_literal };

struct Mailbox {
    // The local part's value: for a quoted string, without the quotes and with quoted-pairs
    // resolved ("a\"b" gives a"b). Case is kept (RFC 5321 2.4: local parts are case-sensitive).
    std::string local_part;
    bool local_part_quoted = false;  // the client used the quoted-string form
    // As received; address literals keep their brackets ("[192.0.2.1]", "[IPv6:::1]").
    // Empty only for the bare "<Postmaster>" forward-path (RFC 5321 4.1.1.3).
    std::string domain;
    DomainKind domain_kind = DomainKind::name;
    bool non_ascii = false;  // contains UTF-8 (RFC 6531)

    // local part (quoted again only when it is not a dot-string) "@" lower-cased domain.
    std::string canonical() const;
    bool is_bare_postmaster() const { return domain.empty(); }
};

struct Path {
    std::optional<Mailbox> mailbox;  // nullopt: the null reverse-path "<>"
    bool had_source_route = false;   // "<@a,@b:user@c>" was given; the route was dropped
    bool is_null() const { return !mailbox.has_value(); }
};

enum class PathError {
    syntax,                   // 501
    local_part_too_long,      // 501 (RFC 5321 4.5.3.1.1)
    domain_too_long,          // 501 (4.5.3.1.2)
    path_too_long,            // 501 "Path too long" (4.5.3.1.3)
    non_ascii_not_permitted,  // 553 5.6.7 (RFC 6531 3.5: UTF-8 address without SMTPUTF8)
    invalid_utf8,             // 501
    null_not_allowed,         // "<>" where a forward-path is required
};
const char* to_string(PathError e);

struct PathOptions {
    bool allow_null = false;             // true for the reverse-path of MAIL FROM
    bool allow_bare_postmaster = false;  // true for RCPT TO:<Postmaster>
    bool smtputf8 = false;               // the transaction was opened with SMTPUTF8
};

struct ParsedPath {
    Path path;
    std::size_t consumed = 0;  // octets of the input taken by the path, '<' through '>'
};

// Parses a path at the start of `input` (which must begin with '<'); whatever follows the
// closing '>' is left to the caller (the ESMTP parameters).
std::variant<ParsedPath, PathError> parse_path(std::string_view input, const PathOptions& options);

// Parses a whole "local@domain" (no brackets, nothing around it): for configuration and
// administration input. Same rules and limits as inside a path.
std::variant<Mailbox, PathError> parse_mailbox(std::string_view input, bool allow_utf8);

// A domain name: sub-domain *("." sub-domain), LDH labels of 1..63 octets (U-labels with
// allow_utf8), at most 255 octets, no trailing dot.
bool is_valid_domain(std::string_view domain, bool allow_utf8);

// An address literal with its brackets: "[IPv4]" or "[IPv6:...]" (RFC 5321 4.1.3).
// General-address-literals with other tags are refused (none is standardised).
std::optional<DomainKind> parse_address_literal(std::string_view literal);

// ESMTP parameters (RFC 5321 4.1.2 Mail-parameters / Rcpt-parameters).
struct EsmtpParam {
    std::string keyword;               // upper-cased
    std::optional<std::string> value;  // as received
};

enum class ParamError {
    syntax,     // not keyword[=value] (501 5.5.4)
    duplicate,  // the same keyword twice (501 5.5.4)
    non_ascii,  // 8-bit in a value without SMTPUTF8
};
const char* to_string(ParamError e);

// Parses "KEY=value KEY2 ..." (what follows a path). Leading and repeated spaces are tolerated.
std::variant<std::vector<EsmtpParam>, ParamError> parse_esmtp_params(std::string_view input, bool allow_utf8);

}  // namespace hikyaku::text
