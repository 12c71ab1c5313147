// tls.cpp: server and client TLS contexts (see tls.h).
#include "common/net/tls.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>

namespace hikyaku::net {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL reports an unreadable file as "system lib"; name the cause and who tried. After the
// privilege drop a SIGHUP reload reads as the service user: the key must be readable by a
// group it is in (Debian: root:ssl-cert 0640 under /etc/ssl/private, as the package sets up).
Status check_readable(const std::string& path, const char* what) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return {};
    }
    int err = errno;
    std::string user = std::to_string(::geteuid());
    if (const passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
    return make_error(Errc::io_error,
                      std::string(what) + " " + path + ": " + std::strerror(err) + " (reading as user " + user + ")");
}

}  // namespace

Result<std::shared_ptr<ssl::context>> TlsContextHolder::make(const std::string& cert, const std::string& key) {
    if (auto s = check_readable(cert, "TLS certificate"); !s) return s.error();
    if (auto s = check_readable(key, "TLS key"); !s) return s.error();
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                         ec);
    context->use_certificate_chain_file(cert, ec);
    if (ec) return make_error(Errc::io_error, "TLS certificate " + cert + ": " + ec.message());
    context->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) return make_error(Errc::io_error, "TLS key " + key + ": " + ec.message());
    if (SSL_CTX_check_private_key(context->native_handle()) != 1)
        return make_error(Errc::invalid_argument, "TLS key " + key + " does not match certificate " + cert);
    // Idle TLS connections give their record buffers back (memory per idle connection).
    SSL_CTX_set_mode(context->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    return context;
}

Result<std::shared_ptr<TlsContextHolder>> TlsContextHolder::load(const std::string& cert, const std::string& key) {
    auto context = make(cert, key);
    if (!context) return context.error();
    auto holder = std::make_shared<TlsContextHolder>();
    holder->cert_ = cert;
    holder->key_ = key;
    holder->context_ = *context;
    return holder;
}

std::shared_ptr<ssl::context> TlsContextHolder::current() const {
    std::lock_guard lock(mutex_);
    return context_;
}

Status TlsContextHolder::reload() {
    auto context = make(cert_, key_);
    if (!context) return context.error();
    std::lock_guard lock(mutex_);
    context_ = *context;
    return {};
}

std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file, bool insecure) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                         ec);
    if (insecure) {
        context->set_verify_mode(ssl::verify_none, ec);
    } else {
        if (ca_file.empty()) context->set_default_verify_paths(ec);
        else context->load_verify_file(ca_file, ec);
        context->set_verify_mode(ssl::verify_peer, ec);
    }
    return context;
}

}  // namespace hikyaku::net
