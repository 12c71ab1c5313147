// dsn.h: what deliverd reads from a queued message and the notices it writes about one.
//
// Reading (the message was accepted and stored by smtpd, but its content came from a
// client): the header block, the number of Received fields (a loop: more than 100 and the
// message is refused, RFC 5321 6.3), whether it has 8-bit octets, and the message as it is
// sent on: without the Return-Path field smtpd put at its top for local delivery (RFC 5321
// 4.4: Return-Path is added at final delivery only; the receiver adds its own).
// Writing: delivery status notifications (RFC 3464) for failed and delayed recipients, as
// multipart/report (RFC 6522) with a text part for people, the message/delivery-status part
// (one per-message block, one block per recipient) and the original header block as
// text/rfc822-headers; sent from MAILER-DAEMON with the null reverse-path and
// Auto-Submitted: auto-replied (RFC 3834), so no notice is ever sent about a notice.
// Pure functions.
// Must never: put a CR or LF from a reply or an address into a header or a DSN field
// unfolded; include the original body (only its headers).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.h"

namespace hikyaku::deliverd {

inline constexpr std::size_t kMaxReceivedHeaders = 100;  // RFC 5321 6.3 suggests 100

// The header block of a message, up to and including the empty line (or all of it).
std::string_view header_block(std::string_view message);
// How many Received fields its header block has.
std::size_t count_received(std::string_view message);
// The message without a Return-Path field at its very top.
std::string_view without_return_path(std::string_view message);
bool has_eight_bit(std::string_view bytes);

// The enhanced status code (RFC 3463) a reply starts with ("5.1.1"), else one made from its
// code ("5.0.0", "4.0.0").
std::string status_of_reply(int code, std::string_view reply);

struct DsnRecipient {
    std::string address;
    bool failed = true;              // failed (action "failed") or delayed (action "delayed")
    std::string status;              // "5.1.1"
    std::string diagnostic;          // the remote reply ("550 5.1.1 no such user"), or ours
    std::string remote_mta;          // host name of the receiver, if one answered
    bool diagnostic_is_smtp = true;  // Diagnostic-Code type "smtp", else "x-unix" style local text
};

struct DsnReport {
    std::string reporting_mta;  // our host name
    std::string to;             // the envelope sender of the original message
    storage::TimePoint arrival{};
    storage::TimePoint now{};
    std::string queue_id;  // for X-Postfix-style identification in the text part
    std::vector<DsnRecipient> recipients;
    std::string original_headers;
    std::string boundary_seed;  // makes the MIME boundary and Message-ID unique
};

// The whole notice, CRLF lines, ready to be stored or queued.
std::string build_dsn(const DsnReport& report);

}  // namespace hikyaku::deliverd
