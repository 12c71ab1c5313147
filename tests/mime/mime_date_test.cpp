// mime_date_test.cpp: the Date header (RFC 5322 3.3 and the obsolete forms of 4.3): with and
// without day-of-week and seconds, comments, named and military zones, two- and three-digit
// years, and refusal of impossible values.
#include <doctest/doctest.h>

#include "common/mime/date.h"

using namespace hikyaku::mime;
using namespace std::chrono;

namespace {
sys_seconds at(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
    return sys_days(year{y} / month{m} / day{d}) + hours(hh) + minutes(mm) + seconds(ss);
}
}  // namespace

TEST_CASE("RFC 5322 dates") {
    auto d = parse_rfc5322_date("Mon, 1 Jan 2024 23:30:00 -0100");
    REQUIRE(d);
    CHECK(d->utc == at(2024, 1, 2, 0, 30, 0));
    CHECK(d->zone_minutes == -60);
    CHECK(parse_rfc5322_date("1 Jan 2024 23:30 +0000")->utc == at(2024, 1, 1, 23, 30, 0));
    CHECK(parse_rfc5322_date("Tue, 01 Jul 2003 10:52:37 +0200 (CEST)")->utc == at(2003, 7, 1, 8, 52, 37));
    CHECK(parse_rfc5322_date(" (comment (nested)) Tue,1 jul 2003 10:52:37 GMT")->utc == at(2003, 7, 1, 10, 52, 37));
    CHECK(parse_rfc5322_date("Thu, 13 Feb 69 23:32:54 -0330")->utc == at(1969, 2, 14, 3, 2, 54));  // 2-digit year
    CHECK(parse_rfc5322_date("Thu, 13 Feb 49 23:32:54 +0000")->utc == at(2049, 2, 13, 23, 32, 54));
    CHECK(parse_rfc5322_date("Thu, 13 Feb 103 23:32:54 +0000")->utc == at(2003, 2, 13, 23, 32, 54));
    CHECK(parse_rfc5322_date("1 Jan 2024 12:00:00 EST")->zone_minutes == -300);
    CHECK(parse_rfc5322_date("1 Jan 2024 12:00:00 pdt")->zone_minutes == -420);
    CHECK(parse_rfc5322_date("1 Jan 2024 12:00:00 Z")->zone_minutes == 0);
    CHECK(parse_rfc5322_date("1 Jan 2024 12:00:00")->zone_minutes == 0);
    CHECK(parse_rfc5322_date("31 Dec 2016 23:59:60 +0000")->utc == at(2016, 12, 31, 23, 59, 59));
    CHECK(parse_rfc5322_date("1 January 2024 12:00 +0000")->utc == at(2024, 1, 1, 12, 0, 0));
    for (const char* bad : {"", "garbage", "Mon, 32 Jan 2024 10:00 +0000", "29 Feb 2023 10:00 +0000",
                            "1 Jan 2024 24:00 +0000", "1 Jan 2024 10:60 +0000", "1 Jan 2024 10:00:61 +0000",
                            "1 Foo 2024 10:00 +0000", "1 Jan 2024 10:00 +0060", "1 Jan 2024 10:00 XYZ",
                            "1 Jan 2024 1000 +0000", "1 Jan 2024", "(unterminated comment 1 Jan 2024 10:00 +0000"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_rfc5322_date(bad));
    }
}
