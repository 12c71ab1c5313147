// imap_date.h: IMAP dates ("1-Feb-2024", SEARCH SINCE etc.) and date-times
// ("01-Feb-2024 13:05:09 +0100", APPEND and INTERNALDATE), parsed into values a session can
// compare and store, and the INTERNALDATE text written back.
//
// RFC 9051 9 (date, date-text, date-day, date-month, date-year, date-time, date-day-fixed,
// time, zone; month names are case-insensitive, as every ABNF string). Pure.
// Must never: accept a day that does not exist in its month (31-Apr, 29-Feb-2023), an hour
// above 23, a minute or second above 59 (a leap second 60 is read as 59), or a zone whose
// minutes are above 59.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hikyaku::imap {

// A calendar day (SEARCH BEFORE/ON/SINCE and SENT*: no time, no zone; RFC 9051 6.4.4).
struct Date {
    std::chrono::year_month_day day{};
    std::chrono::sys_days days() const { return std::chrono::sys_days(day); }
    bool operator==(const Date&) const = default;
};

// An instant and the zone it was written in (APPEND date-time, INTERNALDATE).
struct DateTime {
    std::chrono::sys_seconds utc{};
    int zone_minutes = 0;  // east of UTC: "+0100" is 60, "-0730" is -450
    // The calendar day in the writer's own zone.
    std::chrono::sys_days local_day() const;
    bool operator==(const DateTime&) const = default;
};

// date-text: "d-Mon-yyyy" or "dd-Mon-yyyy" (no quotes).
std::optional<Date> parse_date(std::string_view text);
// date-time without its DQUOTEs: date-day-fixed ("dd" or SP "d") "-" Mon "-" yyyy SP
// hh:mm:ss SP zone.
std::optional<DateTime> parse_date_time(std::string_view text);
// "dd-Mon-yyyy hh:mm:ss +zzzz" (no quotes), as Dovecot writes INTERNALDATE.
std::string format_date_time(const DateTime& when);

}  // namespace hikyaku::imap
