// tls.h: the server's TLS context, reloadable on SIGHUP.
//
// Sessions take a shared_ptr to the current context when they start TLS, so a reload
// (new certificate after renewal) affects only new handshakes and never frees a context
// in use. TLS 1.2 is the minimum (RFC 8996 deprecates 1.0 and 1.1).
//
// A reload after the privilege drop reads the files as the service user, so the key must be
// readable by it. We use Debian's layout (key root:ssl-cert 0640 in /etc/ssl/private, the
// service user in group ssl-cert; the package sets it up, as Dovecot's and Exim's do) rather
// than a privileged parent that keeps root to read keys and bind, as Postfix's and Dovecot's
// masters do. The daemon holds the key in memory once loaded, so letting it read the file
// gives a compromised daemon nothing it does not have already; a parent would add a process
// running as root for the daemon's whole life and a channel to pass key material over, to
// save one file read per certificate renewal. A failed reload keeps the old context and is
// logged at error level with the cause and the user that tried.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"

namespace boost::asio::ssl {
class context;
}

namespace hikyaku::net {

class TlsContextHolder {
public:
    // Loads cert (PEM chain) and key; fails with a one-line reason.
    static Result<std::shared_ptr<TlsContextHolder>> load(const std::string& cert, const std::string& key);
    std::shared_ptr<boost::asio::ssl::context> current() const;
    // Re-reads the files; keeps the old context if they are broken.
    Status reload();

private:
    static Result<std::shared_ptr<boost::asio::ssl::context>> make(const std::string& cert, const std::string& key);
    std::string cert_, key_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> context_;
};

// A client context for mailcli and the tests: verifies against the system store, or
// against `ca_file` when given; `insecure` turns verification off (explicitly).
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& ca_file, bool insecure);

}  // namespace hikyaku::net
