// date.cpp: see date.h. RFC 5322 3.3, 4.3.
#include "common/mime/date.h"

#include <array>
#include <string>
#include <vector>

#include "common/mime/header.h"

namespace hikyaku::mime {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

struct NamedZone {
    std::string_view name;
    int minutes;
};
constexpr std::array<NamedZone, 10> kZones{{
    {"UT", 0},
    {"GMT", 0},
    {"EST", -300},
    {"EDT", -240},
    {"CST", -360},
    {"CDT", -300},
    {"MST", -420},
    {"MDT", -360},
    {"PST", -480},
    {"PDT", -420},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<unsigned> number(std::string_view s, std::size_t min_digits, std::size_t max_digits) {
    if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

// Whitespace- and comma-separated tokens, comments (nested, with quoted-pairs) removed.
std::vector<std::string_view> tokens(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0, start = std::string_view::npos;
    int depth = 0;
    auto flush = [&](std::size_t end) {
        if (start != std::string_view::npos) out.push_back(s.substr(start, end - start));
        start = std::string_view::npos;
    };
    while (i < s.size() && out.size() < 16) {
        const char c = s[i];
        if (depth > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++depth;
            else if (c == ')') --depth;
        } else if (c == '(') {
            flush(i);
            depth = 1;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
            flush(i);
        } else if (start == std::string_view::npos) {
            start = i;
        }
        ++i;
    }
    if (depth == 0) flush(std::min(i, s.size()));
    return out;
}

std::optional<unsigned> month_of(std::string_view s) {
    if (s.size() < 3) return std::nullopt;
    for (unsigned m = 0; m < kMonths.size(); ++m)
        if (iequals(s.substr(0, 3), kMonths[m])) return m + 1;
    return std::nullopt;
}

std::optional<int> zone_of(std::string_view s) {
    if (s.size() == 5 && (s[0] == '+' || s[0] == '-')) {
        auto hh = number(s.substr(1, 2), 2, 2), mm = number(s.substr(3, 2), 2, 2);
        if (!hh || !mm || *mm > 59) return std::nullopt;
        return (s[0] == '-' ? -1 : 1) * static_cast<int>(*hh * 60 + *mm);
    }
    for (const NamedZone& z : kZones)
        if (iequals(s, z.name)) return z.minutes;
    // RFC 5322 4.3: military zones are unreliable; read as +0000.
    if (s.size() == 1 && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return 0;
    return std::nullopt;
}

}  // namespace

std::optional<MessageDate> parse_rfc5322_date(std::string_view value) {
    std::vector<std::string_view> t = tokens(value);
    std::size_t i = 0;
    // [day-of-week ","]
    if (i < t.size() && !t[i].empty() && !is_digit(t[i][0])) ++i;
    if (t.size() < i + 4) return std::nullopt;
    auto d = number(t[i], 1, 2);
    auto m = month_of(t[i + 1]);
    auto y = number(t[i + 2], 2, 4);
    if (!d || !m || !y) return std::nullopt;
    unsigned year = *y;
    if (t[i + 2].size() == 2) year += year < 50 ? 2000 : 1900;  // RFC 5322 4.3
    else if (t[i + 2].size() == 3) year += 1900;
    const year_month_day ymd{std::chrono::year{static_cast<int>(year)}, month{*m}, day{*d}};
    if (!ymd.ok()) return std::nullopt;
    // time-of-day = hour ":" minute [":" second]
    const std::string_view time = t[i + 3];
    if (time.size() != 5 && time.size() != 8) return std::nullopt;
    auto hh = number(time.substr(0, 2), 2, 2), mi = number(time.substr(3, 2), 2, 2);
    std::optional<unsigned> ss = 0u;
    if (time[2] != ':' || (time.size() == 8 && time[5] != ':')) return std::nullopt;
    if (time.size() == 8) ss = number(time.substr(6, 2), 2, 2);
    if (!hh || !mi || !ss || *hh > 23 || *mi > 59 || *ss > 60) return std::nullopt;
    int zone = 0;
    if (t.size() > i + 4) {
        auto z = zone_of(t[i + 4]);
        if (!z) return std::nullopt;
        zone = *z;
    }
    const auto local = sys_days(ymd) + hours(*hh) + minutes(*mi) + seconds(*ss == 60 ? 59 : *ss);
    return MessageDate{local - minutes(zone), zone};
}

}  // namespace hikyaku::mime
