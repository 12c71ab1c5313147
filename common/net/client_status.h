// client_status.h: what the client connection (client.h, blocking_client.h) reports and is
// told, without any Asio header, so a command-line program's files include only this and
// blocking_client.h.
// Must never: carry a secret in a message (a NetStatus message is printed as it is).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::net {

// Why a client operation failed. Every failure also ends the connection.
enum class NetErrc {
    ok,
    resolve,   // the host name did not resolve
    connect,   // no address of the host accepted the connection
    timeout,   // the operation's deadline passed
    closed,    // the server closed (or reset) the connection
    too_long,  // a line longer than the caller's maximum
    tls,       // TLS set-up or handshake failed, or the certificate was not accepted
    not_tls,   // the server answered the TLS handshake with something that is not TLS
    io,        // another socket error, or the connection is not open
};

struct [[nodiscard]] NetStatus {
    NetErrc code = NetErrc::ok;
    std::string message;  // one line for the user, e.g. "timed out after 30 s waiting for the server"
    bool ok() const { return code == NetErrc::ok; }
    explicit operator bool() const { return ok(); }
};

// How the server's certificate is checked (RFC 6125: the name given to start_tls, or the
// host connected to, against the certificate's DNS or IP subjectAltNames).
struct ClientTlsOptions {
    std::string ca_file;    // trust this PEM file instead of the system store
    bool insecure = false;  // verify nothing (an explicit --insecure); the trace says so
    // A context for DANE (RFC 6698, RFC 7671): no CA store at all, so only the TLSA records
    // of a TlsPeerCheck given to start_tls can vouch for a certificate.
    bool dane = false;
};

// One TLSA record (RFC 6698 2.1) as the caller has validated and chosen it.
struct DaneTlsa {
    std::uint8_t usage = 0;          // 2 DANE-TA, 3 DANE-EE (0 and 1 are PKIX usages)
    std::uint8_t selector = 0;       // 0 the whole certificate, 1 its SubjectPublicKeyInfo
    std::uint8_t matching_type = 0;  // 0 full, 1 SHA2-256, 2 SHA2-512
    std::string data;                // binary
};

// How start_tls checks the server instead of the context's CA store: with `tlsa` not empty,
// the certificate chain must match one of the records (OpenSSL's DANE, RFC 7671), the name
// given to start_tls being the TLSA base domain (the reference identifier for the names of a
// DANE-TA chain; DANE-EE ignores names and dates, RFC 7672 3.1.1). The context must have been
// made with ClientTlsOptions::dane.
struct TlsPeerCheck {
    std::vector<DaneTlsa> tlsa;
    bool empty() const { return tlsa.empty(); }
};

// The trace hook sees every line a connection sends or frames (read_line), the bytes of
// write() calls, and notes such as the TLS version; callers pass the masked text of a line
// that holds a secret, and report lines they parse themselves with trace().
enum class TraceEvent {
    sent,      // one command line, without CRLF
    received,  // one line from the server, without its line end
    data,      // bulk bytes sent (a message): the hook decides how much to show
    note,      // "TLSv1.3, TLS_AES_256_GCM_SHA384, certificate verified", ...
};
using TraceHook = std::function<void(TraceEvent, std::string_view)>;

}  // namespace hikyaku::net
