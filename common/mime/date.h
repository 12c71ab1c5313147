// date.h: the Date header of a message (RFC 5322 3.3) as an instant and the zone it was
// written in, for IMAP SEARCH SENTBEFORE/SENTON/SENTSINCE (and sorting by date later).
//
// Implements RFC 5322 3.3 (date-time, with or without day-of-week and seconds, comments
// anywhere as CFWS), 4.3 (obsolete forms: two- and three-digit years, the zone names UT, GMT,
// EST, EDT, CST, CDT, MST, MDT, PST, PDT; military one-letter zones and "-0000" read as +0000).
// Lenient like mail readers: month names in any case, extra whitespace, a missing comma.
// Must never: accept a day that does not exist, an hour above 23, minutes above 59 (a leap
// second 60 is read as 59), or read outside the value.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hikyaku::mime {

struct MessageDate {
    std::chrono::sys_seconds utc{};
    int zone_minutes = 0;  // east of UTC
    bool operator==(const MessageDate&) const = default;
};

std::optional<MessageDate> parse_rfc5322_date(std::string_view value);

}  // namespace hikyaku::mime
