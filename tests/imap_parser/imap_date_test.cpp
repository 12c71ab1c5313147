// imap_date_test.cpp: IMAP dates and date-times (RFC 9051 9): the forms accepted (one- or
// two-digit days, SP-padded days in date-time, any case of month names, zones), the ones
// refused (impossible days, hours, minutes, zones, lengths), zones applied both ways, leap
// seconds, and INTERNALDATE written back.
#include <doctest/doctest.h>

#include "imapd/imap_date.h"

using namespace hikyaku::imap;
using namespace std::chrono;

TEST_CASE("date: d-Mon-yyyy") {
    CHECK(parse_date("1-Feb-1994")->day == year{1994} / February / 1);
    CHECK(parse_date("01-feb-1994")->day == year{1994} / February / 1);
    CHECK(parse_date("29-FEB-2024")->day == year{2024} / February / 29);
    CHECK(parse_date("31-Dec-9999")->day == year{9999} / December / 31);
    for (const char* bad : {"", "1-Feb-94", "001-Feb-1994", "1-Febr-1994", "1 Feb 1994", "29-Feb-2023", "31-Apr-2024",
                            "0-Jan-2024", "32-Jan-2024", "1-Feb-1994 ", "x-Feb-1994", "1-Feb-19a4", "-Feb-1994"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_date(bad));
    }
}

TEST_CASE("date-time: fixed form, zones, leap seconds") {
    auto dt = parse_date_time("17-Jul-1996 02:44:25 -0700");
    REQUIRE(dt);
    CHECK(dt->zone_minutes == -420);
    CHECK(dt->utc == sys_days(year{1996} / July / 17) + hours(9) + minutes(44) + seconds(25));
    CHECK(dt->local_day() == sys_days(year{1996} / July / 17));
    CHECK(format_date_time(*dt) == "17-Jul-1996 02:44:25 -0700");
    auto sp = parse_date_time(" 7-Jul-1996 23:59:59 +0130");
    REQUIRE(sp);
    CHECK(sp->zone_minutes == 90);
    CHECK(format_date_time(*sp) == "07-Jul-1996 23:59:59 +0130");
    CHECK(floor<days>(sp->utc) == sys_days(year{1996} / July / 7));
    // The day in the writer's zone can differ from the UTC day.
    auto late = parse_date_time("01-Jan-2024 23:30:00 -0100");
    CHECK(late->local_day() == sys_days(year{2024} / January / 1));
    CHECK(floor<days>(late->utc) == sys_days(year{2024} / January / 2));
    CHECK(parse_date_time("31-Dec-2016 23:59:60 +0000")->utc ==
          sys_days(year{2016} / December / 31) + hours(23) + minutes(59) + seconds(59));
    for (const char* bad :
         {"17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000",
          "17-Jul-1996 02:44:61 +0000", "17-Jul-1996 02:44:25 +0060", "17-Jul-1996 02:44:25 0700",
          "7-Jul-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700", "31-Jun-1996 02:44:25 -0700",
          "17-Jul-1996T02:44:25 -0700", "17-Jul-1996 2:44:25  -0700", "17-Jul-1996 02:44:25 -07000"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_date_time(bad));
    }
}
