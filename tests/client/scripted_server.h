// scripted_server.h: a loopback server for the client stack's tests: it accepts on 127.0.0.1
// or ::1 and serves each connection on its own thread with a script (send these bytes, read
// a line, start TLS, ...), with plain POSIX sockets and OpenSSL so that it shares no code
// with the client under test. And a throwaway certificate with chosen subjectAltNames.
// Must never: block without a bound (every read has a 5 s timeout), outlive its test (the
// destructor stops accepting and joins every thread), or listen beyond loopback.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hikyaku::test {

class Peer {
public:
    explicit Peer(int fd) : fd_(fd) {}
    ~Peer();
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    bool send(std::string_view bytes);
    // One line without its CRLF; empty on timeout or close.
    std::string line();
    // Server side of a TLS handshake over the connection.
    bool start_tls(SSL_CTX* context);
    // The name the client sent as SNI ("" for none).
    std::string sni() const;
    // True once the client has closed its end (or after `timeout_ms`: false).
    bool closed_by_client(int timeout_ms = 5000);

private:
    int read_some(char* buf, int len);
    int fd_;
    SSL* ssl_ = nullptr;
    std::string buffer_;
};

class ScriptedServer {
public:
    using Script = std::function<void(Peer&)>;
    explicit ScriptedServer(Script script, const std::string& address = "127.0.0.1");
    ~ScriptedServer();
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    std::uint16_t port() const { return port_; }
    int accepted() const { return accepted_; }

private:
    void accept_loop();
    Script script_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> sessions_;
};

// A self-signed certificate (its own CA) for CN=`common_name` with subjectAltName `sans`
// (e.g. "DNS:localhost,IP:127.0.0.1"), valid for an hour.
bool make_certificate(const std::string& cert_path, const std::string& key_path, const std::string& common_name,
                      const std::string& sans);

// A TLS server context with that certificate; nullptr on failure.
SSL_CTX* make_server_context(const std::string& cert_path, const std::string& key_path);

}  // namespace hikyaku::test
