// scripted_server.cpp: see scripted_server.h.
#include "tests/client/scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

namespace hikyaku::test {

Peer::~Peer() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
}

bool Peer::send(std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const int n = ssl_ ? SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done))
                           : static_cast<int>(::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL));
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

int Peer::read_some(char* buf, int len) {
    pollfd p{fd_, POLLIN, 0};
    if (!(ssl_ && SSL_pending(ssl_) > 0) && ::poll(&p, 1, 5000) <= 0) return -1;
    return ssl_ ? SSL_read(ssl_, buf, len) : static_cast<int>(::recv(fd_, buf, static_cast<std::size_t>(len), 0));
}

std::string Peer::line() {
    for (int reads = 0; reads < 10000; ++reads) {
        const std::size_t lf = buffer_.find('\n');
        if (lf != std::string::npos) {
            std::string out = buffer_.substr(0, lf);
            buffer_.erase(0, lf + 1);
            if (!out.empty() && out.back() == '\r') out.pop_back();
            return out;
        }
        char chunk[4096];
        const int n = read_some(chunk, sizeof chunk);
        if (n <= 0) return {};
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return {};
}

bool Peer::start_tls(SSL_CTX* context) {
    buffer_.clear();
    ssl_ = SSL_new(context);
    SSL_set_fd(ssl_, fd_);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const bool ok = SSL_accept(ssl_) == 1;
    ERR_clear_error();
    return ok;
}

std::string Peer::sni() const {
    const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
    return name ? name : "";
}

bool Peer::closed_by_client(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (::poll(&p, 1, 100) > 0) {
            char c;
            return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
        }
    }
    return false;
}

ScriptedServer::ScriptedServer(Script script, const std::string& address) : script_(std::move(script)) {
    // OpenSSL writes with write(2): a client that has gone must not kill the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    const bool v6 = address.find(':') != std::string::npos;
    listener_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t length;
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
        length = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&storage);
        a->sin_family = AF_INET;
        inet_pton(AF_INET, address.c_str(), &a->sin_addr);
        length = sizeof *a;
    }
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(listener_, 16) != 0) {
        std::perror("scripted server");
        return;
    }
    getsockname(listener_, reinterpret_cast<sockaddr*>(&storage), &length);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& t : sessions_) t.join();
    ::close(listener_);
}

void ScriptedServer::accept_loop() {
    while (!stop_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++accepted_;
        std::lock_guard lock(mutex_);
        sessions_.emplace_back([this, fd] {
            Peer peer(fd);
            script_(peer);
        });
    }
}

bool make_certificate(const std::string& cert_path, const std::string& key_path, const std::string& common_name,
                      const std::string& sans) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) return false;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    bool ok = true;
    for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, sans},
                                     std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        ok = ok && ext && X509_add_ext(cert, ext, -1) == 1;
        X509_EXTENSION_free(ext);
    }
    ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
    if (FILE* f = std::fopen(cert_path.c_str(), "w")) {
        ok = ok && PEM_write_X509(f, cert) == 1;
        std::fclose(f);
    } else {
        ok = false;
    }
    if (FILE* f = std::fopen(key_path.c_str(), "w")) {
        ok = ok && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        std::fclose(f);
    } else {
        ok = false;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

SSL_CTX* make_server_context(const std::string& cert_path, const std::string& key_path) {
    SSL_CTX* context = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_file(context, cert_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(context);
        return nullptr;
    }
    return context;
}

}  // namespace hikyaku::test
