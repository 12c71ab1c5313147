// compose.h: building RFC 5322 / MIME messages from UTF-8 text and files (mailcli send, and
// later anything that writes mail: bounces, Sent copies). Pure: strings in, bytes out; the
// caller supplies Date, Message-ID and the multipart boundary, so output is reproducible.
//
// Implements RFC 5322 2.1.1 (lines at most 78 characters where folding can achieve it, never
// over 998), 2.2.3 (folding at whitespace), 3.3 (date-time), 3.4 (address lists); RFC 2045
// 6.7/6.8 (quoted-printable and base64 bodies), RFC 2046 5.1 (multipart/mixed), RFC 2047 5
// (B-encoded words for non-ASCII unstructured text and display names, each word at most 75
// characters, never splitting a UTF-8 character), RFC 2183 and RFC 2231 (attachment file
// names, extended and continued when non-ASCII or long), RFC 6532 (a non-ASCII address
// itself is kept as UTF-8: it cannot be encoded).
// Must never: emit a bare CR or LF, a body line over 998 octets, a header line over 998
// octets, a Bcc field, or a boundary that occurs in an encoded part.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::mime {

inline constexpr std::size_t kFoldWidth = 78;       // RFC 5322 2.1.1 SHOULD
inline constexpr std::size_t kMaxLineLength = 998;  // RFC 5322 2.1.1 MUST

struct ComposeAttachment {
    std::string filename;      // UTF-8, without directories
    std::string content_type;  // "type/subtype" (libmagic's guess); empty: application/octet-stream
    std::string data;          // raw bytes
};

struct ComposeInput {
    std::string from;                 // "Name <addr>" or "addr", UTF-8
    std::vector<std::string> to, cc;  // same forms; Bcc is never a header
    std::string subject;              // UTF-8
    std::string date;                 // RFC 5322 date-time (format_rfc5322_date)
    std::string message_id;           // "<id@host>"
    std::string body;                 // UTF-8 text, LF or CRLF line ends
    std::vector<ComposeAttachment> attachments;
    std::string boundary;    // used only with attachments; must be 1..70 chars
    std::string user_agent;  // optional User-Agent field
};

// A composed message: the bytes (CRLF line ends) and whether they contain 8-bit octets (only
// when an address is non-ASCII; bodies and other headers are always 7-bit).
struct ComposedMessage {
    std::string bytes;
    bool eight_bit = false;
};

ComposedMessage compose_message(const ComposeInput& input);

// "Name: value" folded at whitespace to kFoldWidth, with CRLF at the end. The value must
// already be 7-bit or UTF-8 header text (no CR/LF; any found are replaced by spaces).
std::string fold_header(std::string_view name, std::string_view value);

// RFC 2047 unstructured text: returned as it is when printable ASCII without "=?", otherwise
// as B-encoded UTF-8 words separated by spaces.
std::string encode_unstructured(std::string_view utf8);

// One address as "display <addr>" / "addr" made header-safe: the display name quoted or
// encoded (RFC 2047 5(3)), the address kept as given.
std::string encode_address(std::string_view address);

// The addr-spec of "Name <addr>" or "addr" (what SMTP RCPT TO needs), trimmed.
std::string address_spec(std::string_view address);

// RFC 5322 3.3 date-time in the local time zone, e.g. "Thu, 26 Nov 2026 15:25:00 +0000".
std::string format_rfc5322_date(std::time_t when);

}  // namespace hikyaku::mime
