// test_client.h: a blocking loopback client for core tests (POSIX sockets + OpenSSL),
// with a receive timeout so no test can hang.
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace hikyaku::test {

class TestClient {
public:
    TestClient() = default;
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;
    TestClient(TestClient&& other) noexcept;

    bool connect(const std::string& host, int port, int timeout_ms = 5000, const std::string& source = "");
    bool send(const std::string& bytes);
    // One line including its CRLF; "" on timeout or close.
    std::string line();
    // Everything until the peer closes (or timeout).
    std::string rest();
    // True if the peer closed the connection (read returns 0).
    bool closed_by_peer(int timeout_ms = 3000);
    bool start_tls();  // client handshake without verification (tests only)
    void close();
    int fd() const { return fd_; }

private:
    int read_some(char* buf, int len);
    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string buffer_;
};

// Writes a throwaway self-signed certificate and key; returns false on failure.
bool make_self_signed(const std::string& cert_path, const std::string& key_path);

}  // namespace hikyaku::test
