// output.h: how mailcli prints results: aligned columns for people (colors only on a
// terminal and never with NO_COLOR), JSON for scripts, a progress bar on a terminal.
// Must never: emit escape sequences when stdout is not a terminal or NO_COLOR is set,
// produce invalid JSON (strings are escaped, invalid UTF-8 replaced).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::mailcli {

struct OutputStyle {
    bool color = false;  // ANSI colors
    bool tty = false;    // stdout is a terminal: columns fit its width
    std::size_t width = 0;
};

// Decides the style for stdout from isatty and NO_COLOR.
OutputStyle detect_style();

// A JSON string literal (with quotes) for UTF-8 text.
std::string json_string(std::string_view text);

// Columns: a header row and data rows; the last column is cut to the terminal width on a
// TTY. Numeric columns (right_aligned) align right.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned, const OutputStyle& style);

// Display width of UTF-8 text (code points; East Asian wide characters count 2).
std::size_t display_width(std::string_view text);

// A progress bar on stderr when it is a terminal: "[#####.....] 3/10 label".
class ProgressBar {
public:
    ProgressBar(std::size_t total, bool enabled);
    void update(std::size_t done, std::string_view label);
    void finish();

private:
    std::size_t total_;
    bool enabled_;
};

}  // namespace hikyaku::mailcli
