// smtp_policy.h: who may do what on which port (Postfix's smtpd_check, much smaller). Pure.
//
// - No open relay: a recipient outside the local domains is refused unless the client
//   authenticated (submission); an authenticated client's remote recipients go into the
//   outbound queue for deliverd. Address literals are never relayed to. Address tricks (percent hack, source routes, quoted local parts,
//   IP literals) are not special here: the parser drops routes and keeps '%' in the local
//   part, so the domain decides and the store's lookup does the rest.
// - Submission: AUTH before MAIL; the envelope sender must be one of the user's addresses.
// - Plaintext AUTH only over TLS or from loopback (RFC 4954 4, as Dovecot and Postfix do).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtpd/reply.h"

namespace hikyaku::smtp {

enum class Role { inbound, submission, submissions };
const char* role_name(Role role);

struct ClientFacts {
    Role role = Role::inbound;
    bool tls = false;
    bool plaintext_allowed = false;  // TLS or loopback (server::AuthService::plaintext_allowed)
    bool authenticated = false;
};

// AUTH is offered on the submission ports only, and only where plaintext is safe.
bool auth_offered(const ClientFacts& client);
bool auth_allowed_on_port(const ClientFacts& client);
// nullopt: MAIL may proceed; otherwise the refusal (530 5.7.0 on submission without AUTH).
std::optional<Reply> check_mail_allowed(const ClientFacts& client);
// Submission: is `sender` (canonical, lower-case domain) one of `owned` addresses?
std::optional<Reply> check_sender(const ClientFacts& client, const std::string& sender,
                                  const std::vector<std::string>& owned);
// May this client send to a recipient in a domain that is not ours (a domain name)?
bool relay_allowed(const ClientFacts& client);
// The reply for a recipient in a domain that is not ours, when relay_allowed() says no or
// the domain is an address literal.
Reply relay_refused(const ClientFacts& client, std::string_view recipient);

}  // namespace hikyaku::smtp
