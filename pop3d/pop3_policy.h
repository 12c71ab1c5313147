// pop3_policy.h: who may do what in a POP3 session, and how hard we make password guessing.
// Pure decisions; no I/O, no store, no Asio.
//
// - Plaintext credentials (USER/PASS, AUTH PLAIN/LOGIN) only over TLS or from loopback
//   (RFC 2595 2.1 and 4, RFC 5034 4; Dovecot's disable_plaintext_auth default; DESIGN.md);
//   elsewhere the refusal is "-ERR [AUTH]" (RFC 3206 5) with a hint to use STLS.
// - The CAPA list (RFC 2449 5, 6): what this client may use now. EXPIRE and LOGIN-DELAY are
//   not announced because they are not enforced.
// Failed logins are throttled by the process's shared auth service (common/server).
// Never: offers SASL or USER where it would refuse them.
#pragma once

#include <string>
#include <vector>

#include "pop3d/pop3_reply.h"

namespace hikyaku::pop3 {

enum class Role { pop3, pop3s };   // port 110 role (STLS), port 995 role (implicit TLS)
const char* role_name(Role role);  // "pop3", "pop3s" (the listener roles in logs)

struct ClientFacts {
    bool tls = false;                // the link is encrypted now
    bool tls_available = false;      // STLS could be started (a certificate is loaded, not yet TLS)
    bool plaintext_allowed = false;  // TLS or loopback (server::AuthService::plaintext_allowed)
    bool authenticated = false;      // TRANSACTION state
};

bool plaintext_auth_allowed(const ClientFacts& client);
// The refusal for USER, PASS and AUTH when plaintext_auth_allowed() is false.
Reply plaintext_auth_refused(const ClientFacts& client);
// The CAPA lines (without the "+OK" status line), in the order RFC 2449 lists them.
std::vector<std::string> capabilities(const ClientFacts& client);

}  // namespace hikyaku::pop3
