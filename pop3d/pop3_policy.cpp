// pop3_policy.cpp: see pop3_policy.h. RFC 2449 5-6 (CAPA), RFC 2595 4 (STLS), RFC 3206 5
// ([AUTH]), RFC 5034 (SASL capability).
#include "pop3d/pop3_policy.h"

namespace hikyaku::pop3 {

const char* role_name(Role role) {
    switch (role) {
        case Role::pop3: return "pop3";
        case Role::pop3s: return "pop3s";
    }
    return "?";
}

bool plaintext_auth_allowed(const ClientFacts& client) { return client.plaintext_allowed; }

Reply plaintext_auth_refused(const ClientFacts& client) {
    if (client.tls_available)
        return Reply::negative("Plaintext authentication disallowed on non-secure connections; use STLS first",
                               ResponseCode::auth);
    return Reply::negative("Plaintext authentication disallowed on non-secure connections; use port 995 (POP3S)",
                           ResponseCode::auth);
}

std::vector<std::string> capabilities(const ClientFacts& client) {
    std::vector<std::string> lines{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"};
    if (!client.authenticated) {
        if (plaintext_auth_allowed(client)) {
            lines.emplace_back("USER");
            lines.emplace_back("SASL PLAIN LOGIN");
        }
        if (client.tls_available && !client.tls) lines.emplace_back("STLS");
    }
    lines.emplace_back("IMPLEMENTATION hikyaku");
    return lines;
}

}  // namespace hikyaku::pop3
