// imap_date.cpp: see imap_date.h. RFC 9051 9 (date, date-time, zone).
#include "imapd/imap_date.h"
#include "common/text/ascii.h"

#include <array>
#include <cstdio>

namespace hikyaku::imap {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr char lower(char c) { return text::ascii_lower(c); }

std::optional<unsigned> parse_month(std::string_view s) {
    if (s.size() != 3) return std::nullopt;
    for (unsigned m = 0; m < kMonths.size(); ++m) {
        bool same = true;
        for (std::size_t i = 0; i < 3; ++i) same = same && lower(s[i]) == lower(kMonths[m][i]);
        if (same) return m + 1;
    }
    return std::nullopt;
}

// Exactly `n` digits.
std::optional<unsigned> digits(std::string_view s, std::size_t n) {
    if (s.size() != n) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

std::optional<year_month_day> make_day(unsigned d, unsigned m, unsigned y) {
    year_month_day ymd{year{static_cast<int>(y)}, month{m}, day{d}};
    if (!ymd.ok()) return std::nullopt;
    return ymd;
}

// "d-Mon-yyyy" with the day already split off.
std::optional<year_month_day> parse_day_month_year(unsigned d, std::string_view rest) {
    // rest = "-Mon-yyyy"
    if (rest.size() != 9 || rest[0] != '-' || rest[4] != '-') return std::nullopt;
    auto m = parse_month(rest.substr(1, 3));
    auto y = digits(rest.substr(5, 4), 4);
    if (!m || !y) return std::nullopt;
    return make_day(d, *m, *y);
}

}  // namespace

sys_days DateTime::local_day() const { return floor<days>(utc + minutes(zone_minutes)); }

std::optional<Date> parse_date(std::string_view text) {
    // date-day = 1*2DIGIT
    std::size_t n = 0;
    while (n < text.size() && n < 3 && is_digit(text[n])) ++n;
    if (n == 0 || n > 2) return std::nullopt;
    auto d = digits(text.substr(0, n), n);
    auto ymd = parse_day_month_year(*d, text.substr(n));
    if (!ymd) return std::nullopt;
    return Date{*ymd};
}

std::optional<DateTime> parse_date_time(std::string_view text) {
    // "dd-Mon-yyyy hh:mm:ss +zzzz" = 26 octets; date-day-fixed may be SP DIGIT.
    if (text.size() != 26) return std::nullopt;
    std::optional<unsigned> d;
    if (text[0] == ' ') d = digits(text.substr(1, 1), 1);
    else d = digits(text.substr(0, 2), 2);
    if (!d) return std::nullopt;
    auto ymd = parse_day_month_year(*d, text.substr(2, 9));
    if (!ymd || text[11] != ' ' || text[14] != ':' || text[17] != ':' || text[20] != ' ') return std::nullopt;
    auto hh = digits(text.substr(12, 2), 2), mm = digits(text.substr(15, 2), 2), ss = digits(text.substr(18, 2), 2);
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
    const char sign = text[21];
    auto zh = digits(text.substr(22, 2), 2), zm = digits(text.substr(24, 2), 2);
    if ((sign != '+' && sign != '-') || !zh || !zm || *zm > 59) return std::nullopt;
    const int zone = (sign == '-' ? -1 : 1) * static_cast<int>(*zh * 60 + *zm);
    const auto local = sys_days(*ymd) + hours(*hh) + minutes(*mm) + seconds(*ss == 60 ? 59 : *ss);
    return DateTime{local - minutes(zone), zone};
}

std::string format_date_time(const DateTime& when) {
    const auto local = when.utc + minutes(when.zone_minutes);
    const auto day = floor<days>(local);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> tod{local - day};
    const int zone = when.zone_minutes < 0 ? -when.zone_minutes : when.zone_minutes;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%02u-%s-%04d %02d:%02d:%02d %c%02d%02d", static_cast<unsigned>(ymd.day()),
                  kMonths[static_cast<unsigned>(ymd.month()) - 1].data(), static_cast<int>(ymd.year()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()), when.zone_minutes < 0 ? '-' : '+', zone / 60, zone % 60);
    return buf;
}

}  // namespace hikyaku::imap
