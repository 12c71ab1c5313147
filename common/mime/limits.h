// limits.h: the bounds of the MIME structure parser (STYLE 2, 9).
//
// Every buffer and count the parser keeps is capped by a field of ParseLimits. Exceeding a
// cap never fails the parse: the parser keeps what fits, degrades the rest the way Dovecot
// does (over-deep or over-many parts become text/plain leaves or are left unparsed), and
// records what it dropped in ParsedMessage::degraded. The one hard error is a message larger
// than max_message_size, whose sizes IMAP could not even express (RFC 3501 4.2: a number is
// an unsigned 32-bit integer).
// Must never: hold an unbounded count of anything derived from the message.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hikyaku::mime {

struct ParseLimits {
    // Whole message; larger input is refused with Errc::limit_exceeded.
    std::size_t max_message_size = 0xFFFFFFFFu;
    // One header field including its folded continuation lines (RFC 5322 2.2.3). A longer
    // field keeps only its first max_header_field_size bytes of value (OpenSMTPD caps at 64 KB).
    std::size_t max_header_field_size = 64 * 1024;
    // Bytes of one header block from which fields are recorded; fields starting after it are
    // skipped (the block's extent is still found, so offsets stay exact).
    std::size_t max_header_block_size = 1024 * 1024;
    // Fields recorded per header block.
    std::size_t max_header_fields = 2000;
    // Levels of multipart / message/rfc822 nesting below the top-level part. A container at
    // depth max_depth is kept as a text/plain leaf.
    std::size_t max_depth = 100;
    // Parts in the whole tree, the top-level part included.
    std::size_t max_parts = 10000;
    // Length of a multipart boundary. RFC 2046 5.1.1 allows 70; real mail is sloppier.
    // A longer boundary is treated like a missing one.
    std::size_t max_boundary_length = 200;
    // Parameters kept per Content-Type / Content-Disposition field; more are dropped.
    std::size_t max_params = 100;
    // Addresses (group markers included) kept per address header of the envelope.
    std::size_t max_addresses = 2000;
};

// Bits of ParsedMessage::degraded: which caps were reached.
enum Degradation : std::uint32_t {
    degraded_field_truncated = 1u << 0,
    degraded_header_block = 1u << 1,
    degraded_header_fields = 1u << 2,
    degraded_depth = 1u << 3,
    degraded_parts = 1u << 4,
    degraded_boundary = 1u << 5,
    degraded_params = 1u << 6,
    degraded_addresses = 1u << 7,
};

}  // namespace hikyaku::mime
