// output.cpp: tables, JSON strings and progress for mailcli (see output.h).
// Must never: color output that is not a terminal, or write invalid JSON.
#include "mailcli/output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/text/charset.h"
#include "common/text/json.h"

namespace hikyaku::mailcli {

namespace {

std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    i += n;
    return cp;
}

bool is_wide(std::uint32_t cp) {
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

// Cuts text to at most `width` display columns, with "…" when cut.
std::string cut_to_width(std::string_view s, std::size_t width) {
    if (display_width(s) <= width) return std::string(s);
    if (width == 0) return {};
    std::string out;
    std::size_t used = 0, i = 0;
    while (i < s.size()) {
        std::size_t start = i;
        std::uint32_t cp = next_code_point(s, i);
        std::size_t w = is_wide(cp) ? 2 : 1;
        if (used + w + 1 > width) break;
        out.append(s.substr(start, std::min(i, s.size()) - start));
        used += w;
    }
    return out + "\xE2\x80\xA6";
}

}  // namespace

OutputStyle detect_style() {
    OutputStyle style;
    style.tty = isatty(STDOUT_FILENO) == 1;
    const char* no_color = std::getenv("NO_COLOR");
    style.color = style.tty && !(no_color && *no_color);
    if (style.tty) {
        winsize ws{};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) style.width = ws.ws_col;
        else style.width = 80;
    }
    return style;
}

std::size_t display_width(std::string_view s) {
    std::size_t width = 0, i = 0;
    while (i < s.size()) width += is_wide(next_code_point(s, i)) ? 2 : 1;
    return width;
}

std::string json_string(std::string_view text) { return text::json_string(text); }

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned, const OutputStyle& style) {
    const std::size_t n = header.size();
    std::vector<std::size_t> widths(n, 0);
    for (std::size_t c = 0; c < n; ++c) widths[c] = display_width(header[c]);
    for (const auto& r : rows) {
        for (std::size_t c = 0; c < n && c < r.size(); ++c) {
            widths[c] = std::max(widths[c], display_width(r[c]));
        }
    }
    if (style.tty && style.width > 0 && n > 0) {
        std::size_t fixed = 0;
        for (std::size_t c = 0; c + 1 < n; ++c) fixed += widths[c] + 2;
        const std::size_t last = style.width > fixed + 10 ? style.width - fixed - 1 : 10;
        widths[n - 1] = std::min(widths[n - 1], last);
    }
    auto row_text = [&](const std::vector<std::string>& r, bool is_header) {
        std::string line;
        if (is_header && style.color) line += "\x1b[1m";
        for (std::size_t c = 0; c < n; ++c) {
            std::string cell = cut_to_width(c < r.size() ? r[c] : "", widths[c]);
            std::size_t pad = widths[c] - display_width(cell);
            const bool right = c < right_aligned.size() && right_aligned[c];
            if (right) line.append(pad, ' ');
            line += cell;
            if (c + 1 < n) {
                if (!right) line.append(pad, ' ');
                line += "  ";
            }
        }
        if (is_header && style.color) line += "\x1b[0m";
        return line + "\n";
    };
    std::string out = row_text(header, true);
    for (const auto& r : rows) out += row_text(r, false);
    return out;
}

ProgressBar::ProgressBar(std::size_t total, bool enabled)
    : total_(total), enabled_(enabled && isatty(STDERR_FILENO) == 1) {}

void ProgressBar::update(std::size_t done, std::string_view label) {
    if (!enabled_ || total_ == 0) return;
    constexpr std::size_t kBar = 30;
    const std::size_t filled = done * kBar / total_;
    std::string bar(filled, '#');
    bar.append(kBar - filled, '.');
    std::string shown(label.substr(0, 30));
    std::fprintf(stderr, "\r[%s] %zu/%zu %-30s", bar.c_str(), done, total_, shown.c_str());
    std::fflush(stderr);
}

void ProgressBar::finish() {
    if (enabled_ && total_ > 0) std::fprintf(stderr, "\n");
}

}  // namespace hikyaku::mailcli
