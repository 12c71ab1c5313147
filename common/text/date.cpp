// date.cpp: see date.h. RFC 5322 3.3.
#include "common/text/date.h"

#include <algorithm>
#include <cstdlib>

namespace hikyaku::text {

namespace {

using namespace std::chrono;

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr minutes kMaxOffset = hours{23} + minutes{59};
constexpr sys_seconds kFirst = sys_days{year{1900} / January / 1};
constexpr sys_seconds kLast = sys_days{year{9999} / December / 31} + hours{23} + minutes{59} + seconds{59};

// `value` (0 <= value < 10^width, which the clamps guarantee) in exactly `width` digits.
void append_digits(std::string& out, int value, int width) {
    char digits[4];
    for (int i = width - 1; i >= 0; --i, value /= 10) digits[i] = static_cast<char>('0' + value % 10);
    out.append(digits, static_cast<std::size_t>(width));
}

}  // namespace

std::string rfc5322_date(sys_seconds when, minutes utc_offset) {
    utc_offset = std::clamp(utc_offset, -kMaxOffset, kMaxOffset);
    const sys_seconds local = std::clamp(when + utc_offset, kFirst, kLast);
    const sys_days day = floor<days>(local);
    const year_month_day date{day};
    const hh_mm_ss time{local - day};
    const int zone = static_cast<int>(std::abs(utc_offset.count()));
    std::string out;
    out.reserve(31);
    out += kDays[weekday{day}.c_encoding()];
    out += ", ";
    append_digits(out, static_cast<int>(static_cast<unsigned>(date.day())), 2);
    out += ' ';
    out += kMonths[static_cast<unsigned>(date.month()) - 1];
    out += ' ';
    append_digits(out, static_cast<int>(date.year()), 4);
    out += ' ';
    append_digits(out, static_cast<int>(time.hours().count()), 2);
    out += ':';
    append_digits(out, static_cast<int>(time.minutes().count()), 2);
    out += ':';
    append_digits(out, static_cast<int>(time.seconds().count()), 2);
    out += utc_offset.count() < 0 ? " -" : " +";
    append_digits(out, zone / 60, 2);
    append_digits(out, zone % 60, 2);
    return out;
}

}  // namespace hikyaku::text
