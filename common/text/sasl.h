// sasl.h: decoding of the client side of the SASL mechanisms hikyaku offers, PLAIN (RFC 4616)
// and LOGIN (draft-murchison-sasl-login), as carried by SMTP AUTH (RFC 4954) and POP3 AUTH
// (RFC 5034). Pure: base64 text in, credentials or a typed error out.
//
// Never accepts a PLAIN message with a NUL inside a field, a missing separator, an empty
// authcid or password, a field over 255 octets (RFC 4616 2) or invalid UTF-8; never treats a
// malformed response as a cancellation or the reverse. It does not check credentials.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hikyaku::sasl {

// RFC 4616 2: authzid, authcid and passwd are each at most 255 octets (UTF-8).
inline constexpr std::size_t kMaxPlainField = 255;
// Bound on one base64 client response line (RFC 4954 4: 12288 octets for the AUTH line).
inline constexpr std::size_t kMaxResponseLength = 12288;

enum class SaslError {
    bad_base64,  // not strict base64 (RFC 4954 4: 501 5.5.2; RFC 5034: -ERR)
    malformed,   // decoded, but not a valid message for the mechanism
    cancelled,   // the client sent "*" (RFC 4954 4: 501 5.0.0; RFC 5034 4)
    too_long,    // response line over kMaxResponseLength
};
const char* to_string(SaslError e);

enum class Mechanism { plain, login };

// Parses a mechanism name (case-insensitive, RFC 4422 3.1); nullopt for any other.
std::optional<Mechanism> parse_mechanism(std::string_view name);
const char* mechanism_name(Mechanism m);

struct PlainCredentials {
    std::string authzid;  // empty when the client did not ask to act as someone else
    std::string authcid;
    std::string password;
};

// The decoded PLAIN message: [authzid] NUL authcid NUL passwd (RFC 4616 2).
std::variant<PlainCredentials, SaslError> parse_plain_message(std::string_view decoded);

// A client response line (initial response or reply to a challenge) for PLAIN: "*" cancels,
// otherwise strict base64 of the message. "=" (the empty initial response, RFC 4954 4) is
// an empty message and therefore malformed for PLAIN.
std::variant<PlainCredentials, SaslError> decode_plain_response(std::string_view line);

// One LOGIN step: the client's base64 answer to "Username:" or "Password:". "*" cancels.
// The decoded value must be valid UTF-8, free of NUL, at most kMaxPlainField octets;
// the user name must not be empty.
enum class LoginStep { username, password };
std::variant<std::string, SaslError> decode_login_response(std::string_view line, LoginStep step);

// The base64 challenges LOGIN sends: "VXNlcm5hbWU6" ("Username:"), "UGFzc3dvcmQ6" ("Password:").
std::string_view login_challenge(LoginStep step);

// True when a response line is the cancellation "*" (RFC 4954 4, RFC 5034 4).
bool is_cancellation(std::string_view line);

// Decodes any response line as strict base64 with "=" meaning empty; for mechanisms parsed
// elsewhere. "*" gives cancelled.
std::variant<std::string, SaslError> decode_response(std::string_view line);

}  // namespace hikyaku::sasl
