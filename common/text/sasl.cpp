// sasl.cpp: see sasl.h. RFC 4616 (PLAIN), RFC 4954 4 (SMTP AUTH responses, "=" and "*"),
// RFC 5034 4 (POP3 AUTH), RFC 4648 (base64, strict).
#include "common/text/sasl.h"

#include "common/text/ascii.h"
#include "common/text/base64.h"
#include "common/text/utf8.h"

namespace hikyaku::sasl {

namespace {

// RFC 4616 2: SAFE = UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4 without NUL, at most 255 octets.
bool safe_field(std::string_view f) {
    return f.size() <= kMaxPlainField && f.find('\0') == std::string_view::npos && text::is_valid_utf8(f);
}

}  // namespace

const char* to_string(SaslError e) {
    switch (e) {
        case SaslError::bad_base64: return "invalid base64 in SASL response";
        case SaslError::malformed: return "malformed SASL message";
        case SaslError::cancelled: return "authentication cancelled by client";
        case SaslError::too_long: return "SASL response too long";
    }
    return "SASL error";
}

std::optional<Mechanism> parse_mechanism(std::string_view name) {
    if (text::iequals(name, "PLAIN")) return Mechanism::plain;
    if (text::iequals(name, "LOGIN")) return Mechanism::login;
    return std::nullopt;
}

const char* mechanism_name(Mechanism m) { return m == Mechanism::plain ? "PLAIN" : "LOGIN"; }

bool is_cancellation(std::string_view line) { return line == "*"; }

std::variant<std::string, SaslError> decode_response(std::string_view line) {
    if (line.size() > kMaxResponseLength) return SaslError::too_long;
    if (is_cancellation(line)) return SaslError::cancelled;
    if (line == "=") return std::string();
    // An empty line is strict base64 of nothing: the empty answer to an empty challenge.
    auto decoded = text::base64_decode_strict(line);
    if (auto* s = std::get_if<std::string>(&decoded)) return std::move(*s);
    return SaslError::bad_base64;
}

std::variant<PlainCredentials, SaslError> parse_plain_message(std::string_view m) {
    const auto first = m.find('\0');
    if (first == std::string_view::npos) return SaslError::malformed;
    const auto second = m.find('\0', first + 1);
    if (second == std::string_view::npos) return SaslError::malformed;
    // A third NUL would land inside passwd, which SAFE forbids.
    std::string_view authzid = m.substr(0, first);
    std::string_view authcid = m.substr(first + 1, second - first - 1);
    std::string_view passwd = m.substr(second + 1);
    if (authcid.empty() || passwd.empty()) return SaslError::malformed;
    if (!safe_field(authzid) || !safe_field(authcid) || !safe_field(passwd)) return SaslError::malformed;
    return PlainCredentials{std::string(authzid), std::string(authcid), std::string(passwd)};
}

std::variant<PlainCredentials, SaslError> decode_plain_response(std::string_view line) {
    auto decoded = decode_response(line);
    if (auto* e = std::get_if<SaslError>(&decoded)) return *e;
    return parse_plain_message(std::get<std::string>(decoded));
}

std::variant<std::string, SaslError> decode_login_response(std::string_view line, LoginStep step) {
    auto decoded = decode_response(line);
    if (auto* e = std::get_if<SaslError>(&decoded)) return *e;
    std::string& value = std::get<std::string>(decoded);
    if (!safe_field(value)) return SaslError::malformed;
    if (step == LoginStep::username && value.empty()) return SaslError::malformed;
    return std::move(value);
}

std::string_view login_challenge(LoginStep step) {
    return step == LoginStep::username ? "VXNlcm5hbWU6" : "UGFzc3dvcmQ6";
}

}  // namespace hikyaku::sasl
