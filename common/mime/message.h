// message.h: the MIME structure of one message, parsed once at delivery and reused by imapd
// (FETCH ENVELOPE / BODY / BODYSTRUCTURE / BODY[section], partial fetches) and mailcli.
//
// parse_message() is a pure function over the raw bytes: no I/O, every count bounded by
// ParseLimits. Broken MIME parses to a best-effort tree the way Dovecot's lib-mail does:
// missing final boundary (the last part runs to the end of its parent), text around
// boundaries, bare LF line ends, 8-bit headers, no body, unknown encodings, multipart
// without boundary (a multipart with no parts). Over-deep containers and parts past
// max_parts are degraded, never errors. Offsets and sizes are byte positions in `raw`.
// Where RFC 2046 5.1.1 and Dovecot differ we follow the RFC: a delimiter line is the
// boundary followed only by whitespace ("--bbx" is text), and the CRLF between an inner
// close delimiter and an outer delimiter belongs to the outer one. A nested multipart that
// reuses its parent's boundary is split by the parent (Dovecot lets the inner one win).
// Thread-safe: no state outside the call.
//
// Implements RFC 2045 5 (Content-Type and parameters), 6 (Content-Transfer-Encoding),
// 7-8 (Content-ID, Content-Description); RFC 2046 5.1 (multipart: boundary delimiter lines,
// preamble, epilogue, the CRLF before a delimiter belongs to the delimiter, nested
// boundaries, 5.1.5 digest defaults) and 5.2.1 (message/rfc822); RFC 2183 (Content-
// Disposition); RFC 3066/3282 (Content-Language); RFC 2557 (Content-Location); RFC 1864
// (Content-MD5); RFC 3501 7.4.2 (what ENVELOPE and BODYSTRUCTURE need).
// Must never: read outside `raw`, throw on bad input, decode transfer encodings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/address.h"
#include "common/mime/header.h"
#include "common/mime/limits.h"
#include "common/result.h"

namespace hikyaku::mime {

// RFC 3501 7.4.2 ENVELOPE: raw header texts (not decoded) and address lists. An empty
// address list means NIL. sender and reply_to already default to from (RFC 3501 7.4.2).
struct Envelope {
    std::optional<std::string> date;
    std::optional<std::string> subject;
    std::vector<Address> from, sender, reply_to, to, cc, bcc;
    std::optional<std::string> in_reply_to;
    std::optional<std::string> message_id;
    bool operator==(const Envelope&) const = default;
};

struct Param {
    std::string name;   // as written (RFC 2231 "name*" / "name*0*" kept as they are)
    std::string value;  // quoted strings unquoted
    bool operator==(const Param&) const = default;
};

enum class PartKind : std::uint8_t {
    leaf,       // any single part
    multipart,  // children are the body parts (RFC 2046 5.1)
    message,    // message/rfc822: one child, the encapsulated message (RFC 2046 5.2.1)
};

struct Part {
    PartKind kind = PartKind::leaf;
    std::size_t header_offset = 0;  // the part's MIME header (BODY[n.MIME]; for the top-level
    std::size_t header_size = 0;    // part and an encapsulated message, BODY[HEADER])
    std::size_t body_offset = 0;    // BODY[n] / BODY[TEXT]
    std::size_t body_size = 0;
    std::size_t body_lines = 0;  // LF count in the body
    std::string type = "text";   // as written; defaults applied (RFC 2045 5.2, 2046 5.1.5)
    std::string subtype = "plain";
    bool content_type_present = false;
    std::vector<Param> params;
    std::optional<std::string> id;           // Content-ID, raw
    std::optional<std::string> description;  // Content-Description, raw
    std::optional<std::string> encoding;     // Content-Transfer-Encoding token as written
    std::optional<std::string> disposition;  // RFC 2183 type as written
    std::vector<Param> disposition_params;
    std::vector<std::string> language;    // Content-Language tags
    std::optional<std::string> location;  // Content-Location, raw
    std::optional<std::string> md5;       // Content-MD5, raw
    std::vector<Part> children;
    std::optional<Envelope> envelope;  // kind == message: the encapsulated envelope

    bool is_text() const;  // type "text", any case (BODYSTRUCTURE then carries lines)
    bool operator==(const Part&) const = default;
};

struct ParsedMessage {
    std::size_t size = 0;              // RFC822.SIZE (bytes as stored)
    std::vector<HeaderField> headers;  // top-level header fields
    Envelope envelope;
    Part root;                   // root.header_* is the message header
    std::uint32_t degraded = 0;  // Degradation bits: which caps were reached
    bool operator==(const ParsedMessage&) const = default;
};

// Parses `raw`. Fails only when raw.size() > limits.max_message_size.
Result<ParsedMessage> parse_message(std::string_view raw, const ParseLimits& limits = {});

// RFC 2045 5.1: "type/subtype; name=value; ...". Type and subtype empty when unparsable.
struct ContentType {
    std::string type;
    std::string subtype;
    std::vector<Param> params;
    bool params_truncated = false;
};
ContentType parse_content_type(std::string_view value, std::size_t max_params = 100);
// RFC 2183: "disposition; name=value; ...", the disposition type in ContentType::type.
ContentType parse_content_disposition(std::string_view value, std::size_t max_params = 100);

// The value of parameter `name` (case-insensitive), or nullptr.
const std::string* find_param(const std::vector<Param>& params, std::string_view name);

// Envelope of a header block (RFC 3501 7.4.2; the last of repeated fields wins, as Dovecot).
Envelope make_envelope(const std::vector<HeaderField>& fields, std::size_t max_addresses, bool* truncated = nullptr);

// A compact, versioned serialization the store keeps beside each message so readers never
// parse it again. decode_cache() checks every length and count against the blob (it comes
// from disk) and fails with Errc::invalid_argument on a corrupt or truncated blob and with
// Errc::unsupported on an unknown version.
std::string encode_cache(const ParsedMessage& message);
Result<ParsedMessage> decode_cache(std::string_view blob);

// The part addressed by an IMAP section part number ("1.2.3"; empty gives the root),
// following RFC 3501 6.4.5: in a message/rfc822 part, numbers address the parts of the
// encapsulated message; a non-multipart body has part 1 itself. nullptr if absent.
const Part* find_part(const ParsedMessage& message, const std::vector<std::uint32_t>& section);

}  // namespace hikyaku::mime
