// imap_url.h: the IMAP URLs CATENATE accepts (RFC 4469 3, RFC 5092): a URL naming one message,
// or a section or a partial range of one, in a mailbox of the logged-in user on this server.
// Pure: a URL in, its typed parts or a reason out; whether the user, host and port name this
// server and this user is the session's call (it knows them), and so is finding the message.
//
// Accepted forms (keywords ASCII case-insensitive, RFC 5092 11):
//   /MAILBOX[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]       (relative to the server)
//   imap://[user[;AUTH=mech]@]host[:port]/MAILBOX...                      (absolute)
// MAILBOX and SECTION are percent-encoded (RFC 5092 3.1: the mailbox as UTF-8); SECTION is an
// IMAP section-spec (RFC 9051 6.4.5), parsed by the FETCH grammar. Refused: anything else of
// RFC 5092 (a message list "?search", a mailbox without ";UID=", URLAUTH ";EXPIRE="/";URLAUTH=",
// a fragment), a character RFC 5092 does not allow where it stands, a percent escape that is
// not two hex digits or decodes to NUL, a URL over GrammarLimits::max_catenate_url_length
// octets (the grammar refuses those first), a section nested deeper than max_section_parts.
// Must never: read past the URL, accept a number that overflows, or decode without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "imapd/imap_command.h"

namespace hikyaku::imap {

// ";PARTIAL=offset[.length]" (RFC 5092 partial-range); no length: to the end.
struct UrlPartial {
    std::uint32_t offset = 0;
    std::optional<std::uint32_t> length;  // never 0
    bool operator==(const UrlPartial&) const = default;
};

struct ImapUrl {
    bool absolute = false;
    // Absolute form only: the user (percent-decoded; nullopt when absent), the host (lower
    // case as written, "[::1]" kept in brackets) and the port when given.
    std::optional<std::string> user;
    std::string host;
    std::optional<std::uint16_t> port;
    std::string mailbox;  // percent-decoded UTF-8, as the client named it
    std::optional<std::uint32_t> uidvalidity;
    std::uint32_t uid = 0;
    std::optional<Section> section;  // absent: the whole message
    std::optional<UrlPartial> partial;
    bool operator==(const ImapUrl&) const = default;
};

struct UrlError {
    std::string reason;  // one line, for the NO text and the log
    bool operator==(const UrlError&) const = default;
};

std::variant<ImapUrl, UrlError> parse_imap_url(std::string_view url, const GrammarLimits& limits = {});

// The URL as it may stand in "[BADURL url]" (RFC 4469 5 url-resp-text, errata 2002: no "]"):
// octets outside %x21-7E and "]" percent-encoded, at most kMaxCatenateUrlLength octets of it.
std::string badurl_text(std::string_view url);

}  // namespace hikyaku::imap
