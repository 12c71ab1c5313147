// test_client.cpp: see test_client.h.
#include "tests/core/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace hikyaku::test {

TestClient::~TestClient() { close(); }

TestClient::TestClient(TestClient&& other) noexcept
    : fd_(other.fd_), ctx_(other.ctx_), ssl_(other.ssl_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
    other.ctx_ = nullptr;
    other.ssl_ = nullptr;
}

void TestClient::close() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool TestClient::connect(const std::string& host, int port, int timeout_ms, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!source.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        inet_pton(AF_INET, source.c_str(), &local.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

bool TestClient::send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        int n = ssl_ ? SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done))
                     : static_cast<int>(::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL));
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

int TestClient::read_some(char* buf, int len) {
    if (ssl_) return SSL_read(ssl_, buf, len);
    return static_cast<int>(::recv(fd_, buf, static_cast<std::size_t>(len), 0));
}

std::string TestClient::line() {
    for (;;) {
        auto pos = buffer_.find('\n');
        if (pos != std::string::npos) {
            std::string out = buffer_.substr(0, pos + 1);
            buffer_.erase(0, pos + 1);
            return out;
        }
        char buf[4096];
        int n = read_some(buf, sizeof buf);
        if (n <= 0) return {};
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

std::string TestClient::rest() {
    std::string out = std::move(buffer_);
    buffer_.clear();
    char buf[4096];
    int n;
    while ((n = read_some(buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

bool TestClient::closed_by_peer(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char c;
    int n = read_some(&c, 1);
    return n == 0 || (n < 0 && !ssl_);
}

bool TestClient::start_tls() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
}

bool make_self_signed(const std::string& cert_path, const std::string& key_path) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) return false;
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    bool ok = false;
    if (FILE* f = std::fopen(cert_path.c_str(), "w")) {
        ok = PEM_write_X509(f, cert) == 1;
        std::fclose(f);
    }
    if (FILE* f = std::fopen(key_path.c_str(), "w")) {
        ok = ok && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        std::fclose(f);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

}  // namespace hikyaku::test
