// log.h: logging setup and the masking of secrets in protocol lines.
//
// Logs go through spdlog: stderr by default (daemons run in the foreground), or a file that
// SIGHUP reopens. Protocol lines are logged at debug level only, and never with a password:
// mask_secrets() blanks the arguments of AUTH, PASS and LOGIN before a line is logged.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hikyaku {

struct LogConfig;

// Installs the default logger for a program named `program`. Safe to call again (reload).
Status setup_logging(const std::string& program, const LogConfig& config);
// Reopens the log file after rotation (SIGHUP); a no-op when logging to stderr. A file that
// cannot be opened is logged at error level, in the old file and on stderr.
void reopen_logs();

// Returns `line` with credentials replaced by "***": "PASS x" -> "PASS ***",
// "AUTH PLAIN abc" -> "AUTH PLAIN ***", "a1 LOGIN user pass" -> "a1 LOGIN user ***",
// "a1 AUTHENTICATE PLAIN abc" -> "a1 AUTHENTICATE PLAIN ***".
std::string mask_secrets(std::string_view line);

// True when debug lines are logged. Sessions ask before building a protocol line's log
// arguments (the connection prefix, the masked line): formatting them for every command and
// reply only to drop them cost a few allocations per POP3 RETR.
bool debug_logging();

}  // namespace hikyaku
