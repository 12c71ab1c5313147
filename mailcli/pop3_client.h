// pop3_client.h: the client side of POP3 (RFC 1939): greeting, CAPA (RFC 2449), STLS
// (RFC 2595), USER/PASS or AUTH PLAIN (RFC 5034), STAT, LIST, UIDL, TOP, RETR, DELE, QUIT,
// with multi-line responses un-dot-stuffed and bounded.
// Must never: send a password before TLS when STLS was asked for, accept a multi-line
// response past its size bound, read a line past its bound, print a password.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mailcli/line_stream.h"

namespace hikyaku::mailcli {

inline constexpr std::size_t kMaxPop3StatusLine = 4096;         // RFC 1939 says 512
inline constexpr std::size_t kMaxPop3DataLine = 1024 * 1024;    // lenient for broken mail
inline constexpr std::size_t kMaxPop3Message = 256 * 1024 * 1024;

struct Pop3Listing {
    std::uint32_t number = 0;
    std::uint64_t size = 0;
};

struct Pop3Uid {
    std::uint32_t number = 0;
    std::string uid;
};

// Parses a "N SIZE" or "N UID" scan line; nullopt when malformed.
std::optional<Pop3Listing> parse_scan_line(std::string_view line);
std::optional<Pop3Uid> parse_uid_line(std::string_view line);

// Undoes byte-stuffing of one multi-line response line (RFC 1939 3).
std::string_view unstuff(std::string_view line);

class Pop3Client {
public:
    // Connects, upgrades with STLS when asked, logs in. Throws CliError.
    explicit Pop3Client(const ServerSettings& settings);
    ~Pop3Client();

    std::vector<Pop3Listing> list();
    std::vector<Pop3Uid> uidl();  // CliError(protocol) when the server has no UIDL
    std::string top(std::uint32_t number, std::uint32_t lines);
    std::string retr(std::uint32_t number);
    void dele(std::uint32_t number);
    void quit();  // commits deletions (RFC 1939 6, UPDATE state)

private:
    std::string status(std::string_view line, std::string_view trace_as = {});
    std::string multiline(std::size_t max_bytes);

    ServerSettings settings_;
    std::unique_ptr<LineStream> stream_;
    bool quit_sent_ = false;
};

}  // namespace hikyaku::mailcli
