// pop3_client.h: the client side of POP3 (RFC 1939): greeting, CAPA (RFC 2449), STLS
// (RFC 2595), USER/PASS or AUTH PLAIN (RFC 5034), STAT, LIST, UIDL, TOP, RETR, DELE, QUIT.
// Responses are read by common/client/pop3_response.h (bounded, un-dot-stuffed).
// Must never: send a password before TLS when STLS was asked for, accept a multi-line
// response past its size bound, read a line past its bound, print a password.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/client/pop3_response.h"
#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

using client::Pop3Drop;
using client::Pop3Listing;
using client::Pop3Uid;

// mailcli's bounds on a response (common/client/pop3_response.h documents them).
inline constexpr client::Pop3Limits kPop3Limits{};

class Pop3Client {
public:
    // Connects, upgrades with STLS when asked, logs in. Throws CliError.
    explicit Pop3Client(const ServerSettings& settings);
    ~Pop3Client();

    Pop3Drop stat();
    std::vector<Pop3Listing> list();
    std::vector<Pop3Uid> uidl();  // CliError(protocol) when the server has no UIDL
    std::string top(std::uint32_t number, std::uint32_t lines);
    std::string retr(std::uint32_t number);
    void dele(std::uint32_t number);
    void quit();  // commits deletions (RFC 1939 6, UPDATE state)

private:
    // Sends `line` and reads its response; -ERR and garbage throw CliError(protocol) naming
    // the command (`trace_as` when given, so a password never shows).
    const client::Pop3ResponseParser& exchange(std::string_view line, client::Pop3Body body,
                                               std::string_view trace_as = {});
    // Reads one response whole and traces it; the caller judges its status.
    const client::Pop3ResponseParser& read_response(client::Pop3Body body);

    ServerSettings settings_;
    std::unique_ptr<ServerConnection> connection_;
    client::Pop3ResponseParser parser_{client::Pop3Body::none, kPop3Limits};
    bool quit_sent_ = false;
};

}  // namespace hikyaku::mailcli
