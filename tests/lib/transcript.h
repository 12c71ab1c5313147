// transcript.h: protocol transcripts (STYLE 12) run by C++ tests in process, in the same
// format tests/lib/harness.py runs against daemons:
//     C: text              a line the client sends (CRLF added)
//     C+ raw\r\n           bytes sent as they are, after C-style escapes (\r \n \t \\ \xHH)
//     S: text              the next server line, exactly
//     S~ regex             the next server line matches (ECMAScript, searched)
//     S* regex             zero or more server lines matching, then the next S line
//     S? text              the next server line, exactly, when the server offers TLS (a
//                          STARTTLS/STLS capability); skipped where it has no certificate
//     CLOSED               the server has closed the connection
//     ! words              a directive for the test (count, big-data, ...)
//     TLS                  the client starts TLS here (not possible in process)
//     # comment / #! key args (file-level directives) / blank lines
// Must never: wait without a bound (the client Connection's timeout applies).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/connection.h"

namespace hikyaku::test {

struct TranscriptStep {
    enum class Kind { send, send_raw, expect, expect_if_tls, expect_regex, skip_matching, closed, directive, tls };
    Kind kind;
    std::string text;
    int line = 0;
};

struct Transcript {
    std::string name;
    std::vector<TranscriptStep> steps;
    std::vector<std::pair<std::string, std::string>> file_directives;  // "#! key args" and "# role: x"
    std::string directive(const std::string& key) const;               // the first one's args, or ""
    std::vector<std::string> directives(const std::string& key) const;
    bool uses_tls() const;
};

Transcript parse_transcript(std::string_view text, const std::string& name);
Transcript load_transcript(const std::string& path);
std::vector<std::string> transcript_files(const std::string& folder);  // *.txt, sorted
std::string unescape(std::string_view text);

// Runs the steps over `client`; returns "" when every step held, else what failed (with the
// transcript line). `directive` handles "! ..." lines and returns "" or a failure;
// `substitute` rewrites S:/S~ lines first (placeholders such as {total}).
using DirectiveHandler = std::function<boost::asio::awaitable<std::string>(net::Connection&, const std::string&)>;
// `server_has_tls` decides the S? lines (in process there is no TLS).
boost::asio::awaitable<std::string> run_transcript(net::Connection& client, const Transcript& transcript,
                                                   DirectiveHandler directive = {},
                                                   std::function<std::string(const std::string&)> substitute = {},
                                                   bool server_has_tls = false);

}  // namespace hikyaku::test
