// smtp_policy.cpp: see smtp_policy.h.
#include "smtpd/smtp_policy.h"

#include "common/text/address.h"

namespace hikyaku::smtp {

const char* role_name(Role role) {
    switch (role) {
        case Role::inbound: return "smtp";
        case Role::submission: return "submission";
        case Role::submissions: return "submissions";
    }
    return "?";
}

bool auth_allowed_on_port(const ClientFacts& client) { return client.role != Role::inbound; }

bool auth_offered(const ClientFacts& client) { return auth_allowed_on_port(client) && client.plaintext_allowed; }

std::optional<Reply> check_mail_allowed(const ClientFacts& client) {
    if (client.role != Role::inbound && !client.authenticated)
        return Reply(530, EnhancedCode{5, 7, 0}, "Authentication required");
    return std::nullopt;
}

std::optional<Reply> check_sender(const ClientFacts& client, const std::string& sender,
                                  const std::vector<std::string>& owned) {
    if (client.role == Role::inbound) return std::nullopt;
    std::string wanted = text::ascii_lowercase(sender);
    for (auto& address : owned)
        if (text::ascii_lowercase(address) == wanted) return std::nullopt;
    return Reply(553, EnhancedCode{5, 7, 1}, "Sender address rejected: not owned by the authenticated user");
}

bool relay_allowed(const ClientFacts& client) { return client.role != Role::inbound && client.authenticated; }

Reply relay_refused(const ClientFacts& client, std::string_view recipient) {
    // std::string("<") first: g++ 12 -O3 gives a false -Wrestrict for "<" + std::string
    if (client.authenticated)
        return Reply(550, EnhancedCode{5, 7, 1},
                     std::string("<") + std::string(recipient) + ">: Relaying to address literals is not supported");
    return Reply(554, EnhancedCode{5, 7, 1}, std::string("<") + std::string(recipient) + ">: Relay access denied");
}

}  // namespace hikyaku::smtp
