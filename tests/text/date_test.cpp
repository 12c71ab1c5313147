// date_test.cpp: the shared RFC 5322 3.3 date-time writer (common/text/date.h): known dates,
// zone offsets on both sides of UTC and across a date line, leap days, the clamps, and a
// sweep over two centuries checked against the C library's gmtime_r and strftime.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "common/text/date.h"

using namespace hikyaku::text;
using namespace std::chrono;

namespace {
sys_seconds at(long long unix_seconds) { return sys_seconds{seconds{unix_seconds}}; }
}  // namespace

TEST_CASE("known instants in UTC") {
    CHECK(rfc5322_date(at(0)) == "Thu, 01 Jan 1970 00:00:00 +0000");
    CHECK(rfc5322_date(sys_days{2026y / November / 26} + 15h + 25min) == "Thu, 26 Nov 2026 15:25:00 +0000");
    CHECK(rfc5322_date(at(1709210096)) == "Thu, 29 Feb 2024 12:34:56 +0000");  // leap day
    CHECK(rfc5322_date(at(-1)) == "Wed, 31 Dec 1969 23:59:59 +0000");
}

TEST_CASE("zone offsets: the wall-clock time of the zone, and the zone written") {
    CHECK(rfc5322_date(at(0), minutes{60}) == "Thu, 01 Jan 1970 01:00:00 +0100");
    CHECK(rfc5322_date(at(0), minutes{-210}) == "Wed, 31 Dec 1969 20:30:00 -0330");
    CHECK(rfc5322_date(at(0), minutes{330}) == "Thu, 01 Jan 1970 05:30:00 +0530");
    CHECK(rfc5322_date(at(0), minutes{14 * 60}) == "Thu, 01 Jan 1970 14:00:00 +1400");
    CHECK(rfc5322_date(at(0), minutes{-12 * 60}) == "Wed, 31 Dec 1969 12:00:00 -1200");
}

TEST_CASE("clamps: years 1900 to 9999, offsets within +-23:59") {
    CHECK(rfc5322_date(at(-2208988800)) == "Mon, 01 Jan 1900 00:00:00 +0000");   // the first
    CHECK(rfc5322_date(at(-2208988801)) == "Mon, 01 Jan 1900 00:00:00 +0000");   // one before
    CHECK(rfc5322_date(at(253402300799)) == "Fri, 31 Dec 9999 23:59:59 +0000");  // the last
    CHECK(rfc5322_date(at(253402300800)) == "Fri, 31 Dec 9999 23:59:59 +0000");  // one after
    CHECK(rfc5322_date(at(0), minutes{23 * 60 + 59}) == "Thu, 01 Jan 1970 23:59:00 +2359");
    CHECK(rfc5322_date(at(0), minutes{24 * 60}) == "Thu, 01 Jan 1970 23:59:00 +2359");
    CHECK(rfc5322_date(at(0), minutes{-24 * 60}) == "Wed, 31 Dec 1969 00:01:00 -2359");
}

TEST_CASE("two centuries, every 7 days and 11,111 seconds, agree with gmtime_r + strftime") {
    const long long step = 7 * 86400 + 11111;
    int checked = 0;
    for (long long t = -2208988800LL; t < 4102444800LL; t += step) {  // 1900 to 2100
        std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        REQUIRE(gmtime_r(&tt, &tm) != nullptr);
        char expected[64];
        std::strftime(expected, sizeof expected, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        if (rfc5322_date(at(t)) != expected) FAIL(t, ": ", rfc5322_date(at(t)), " != ", expected);
        ++checked;
    }
    CHECK(checked > 10000);
}
