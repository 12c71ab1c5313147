// date.h: the one RFC 5322 3.3 date-time writer: "Thu, 26 Nov 2026 15:25:00 +0100".
//
// Pure: the instant and the zone offset are arguments (no clock, no time-zone database), so
// one input always gives one text. A caller that wants local time passes its offset.
// Must never: write a field outside RFC 5322 3.3's grammar (a year of other than four digits,
// a zone of other than four digits after the sign).
#pragma once

#include <chrono>
#include <string>

namespace hikyaku::text {

// The date-time of `when` as seen in the zone `utc_offset` east of UTC, with that offset as
// the zone ("+0000" for UTC). The day is written with two digits ("01 Jan"). `when` is
// clamped to the years 1900-9999 (RFC 5322 3.3: year is four digits, at least 1900) and the
// offset to +-23:59.
std::string rfc5322_date(std::chrono::sys_seconds when, std::chrono::minutes utc_offset = std::chrono::minutes{0});

}  // namespace hikyaku::text
