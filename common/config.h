// config.h: the suite's one configuration file (TOML), loaded once at start.
//
// Every daemon, mailctl and the tests read the same file (-c/--config). Loading is strict:
// an unknown table or key, or a value of the wrong type or out of range, is an error that
// names the file, the line and the key, and the program refuses to start (Postfix's
// "unknown parameter" warnings taught people to ignore typos; we do not).
// Defaults are documented here and in conf/hikyaku.toml. No global state: the Config value
// is passed to whoever needs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/limits.h"
#include "common/result.h"

namespace hikyaku {

// One "host:port" endpoint from a listen-like key; host is an IP literal or "localhost".
struct ListenAddress {
    std::string host;  // without brackets for IPv6
    uint16_t port = 0;
    std::string text() const;  // "host:port" / "[v6]:port"
};

// Parses "127.0.0.1:25", "[::1]:143", "*:110" (all IPv4 addresses) or ":110".
Result<ListenAddress> parse_listen_address(const std::string& text);

struct StorageConfig {
    std::string path = "/var/lib/hikyaku/store.db";
    uint64_t max_message_size = kDefaultMaxMessageSize;  // octets; SMTP SIZE, IMAP APPEND
    uint64_t default_quota = 0;                          // octets per user, 0 = unlimited
    uint64_t default_quota_messages = 0;                 // messages per user, 0 = unlimited
};

struct TlsConfig {
    std::string cert;  // PEM chain; empty = no TLS listeners, no STARTTLS
    std::string key;
};

enum class ServerModel { concurrent, iterative };

// Where a session reads from the store (RETR, FETCH, lookups). "worker": first on the
// session's own thread, from memory only (a read that would wait for the disk is retried on
// the blocking pool, so a miss stalls only that session); each trip to the pool costs two
// thread hand-offs, which were half of POP3 RETR's CPU. "pool": always on the pool.
enum class MessageReads { worker, pool };

struct ServerConfig {
    ServerModel model = ServerModel::concurrent;
    unsigned workers = 0;              // 0 = number of cores
    unsigned max_connections = 10000;  // per daemon process
    unsigned max_connections_per_ip = 100;
    unsigned blocking_threads = 4;             // pool for reads that missed the page cache, big parses
    unsigned auth_threads = 2;                 // password checks (argon2id) at once, on their own threads
    std::chrono::seconds auth_cache_ttl{300};  // a verified password is recognised this long; 0: off
    MessageReads message_reads = MessageReads::worker;
    // Messages in flight (SMTP DATA/BDAT, IMAP APPEND): held in memory up to this total for the
    // process, spooled to files beside the store past it, and refused with a temporary error
    // once spool_limit bytes are on disk.
    uint64_t message_memory = 256ull << 20;
    uint64_t spool_limit = 8ull << 30;
    std::chrono::seconds shutdown_grace{10};
    std::string user;  // drop to this user after binding when root
};

enum class BareLinefeedPolicy { reject, normalize };

struct SmtpdConfig {
    std::string hostname;                    // default: the machine's host name
    std::vector<ListenAddress> listen;       // port 25 role
    std::vector<ListenAddress> submission;   // port 587 role
    std::vector<ListenAddress> submissions;  // port 465 role (implicit TLS)
    unsigned max_recipients = 100;           // RFC 5321 4.5.3.1.8 minimum is 100
    unsigned max_errors = 10;                // then 421 and close
    unsigned max_line_length = 512;          // command line incl. CRLF, RFC 5321 4.5.3.1.4
    BareLinefeedPolicy bare_linefeed = BareLinefeedPolicy::reject;
    std::chrono::seconds command_timeout{300};  // RFC 5321 4.5.3.2.7 server timeout: 5 min
    std::chrono::seconds data_timeout{180};     // RFC 5321 4.5.3.2.5 data block: 3 min
};

struct Pop3dConfig {
    std::vector<ListenAddress> listen;      // port 110 role (STLS)
    std::vector<ListenAddress> listen_tls;  // port 995 role (implicit TLS)
    std::chrono::seconds autologout{600};   // RFC 1939 3: at least 10 minutes
};

struct ImapdConfig {
    std::vector<ListenAddress> listen;      // port 143 role (STARTTLS)
    std::vector<ListenAddress> listen_tls;  // port 993 role (implicit TLS)
    std::chrono::seconds autologout{1800};  // RFC 3501 5.4: at least 30 minutes
    unsigned max_search_contexts = 8;       // RFC 5267 4.3: results kept up to date, per session
    // SELECT's starting views kept in memory across sessions (12 bytes a message; 0: none).
    std::uint64_t view_cache_messages = 2'000'000;
};

// [relay]: a smarthost that every remote recipient is sent through, when host is set.
enum class RelayTls { none, starttls, tls };
struct RelayConfig {
    std::string host;  // empty: route by DNS (MX records)
    uint16_t port = 25;
    RelayTls tls = RelayTls::starttls;
    std::string user;           // AUTH PLAIN/LOGIN as this user when set (needs TLS)
    std::string password_file;  // its first line is the password; never in this file
};

// [delivery]: the delivery agent (deliverd).
enum class DeliveryTls { may, encrypt, dane };
struct DeliveryConfig {
    std::string resolver;                       // "IP:PORT" of a DNS resolver; empty: /etc/resolv.conf
    DeliveryTls tls = DeliveryTls::may;         // STARTTLS when offered / required and verified / DANE
    std::chrono::seconds retry_min{300};        // first retry after a temporary failure
    std::chrono::seconds retry_max{14400};      // longest wait between tries (doubling from retry_min)
    std::chrono::seconds max_age{432000};       // then a bounce (5 days)
    std::chrono::seconds delay_warning{14400};  // tell the sender once after this long; 0 = never
    unsigned concurrency_per_destination = 20;  // connections to one domain (or the relay) at once
    std::chrono::seconds connect_timeout{30};   // one DNS query; one TCP connection
    std::chrono::seconds command_timeout{300};  // RFC 5321 4.5.3.2: greeting, each command's reply
    std::chrono::seconds data_timeout{600};     // RFC 5321 4.5.3.2.6: the reply to the final dot
};

struct LogConfig {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
    std::string file;            // empty = stderr
};

struct Config {
    std::string source;  // the file it came from, for messages
    StorageConfig storage;
    TlsConfig tls;
    ServerConfig server;
    SmtpdConfig smtpd;
    Pop3dConfig pop3d;
    ImapdConfig imapd;
    RelayConfig relay;
    DeliveryConfig delivery;
    LogConfig log;
};

// Loads and validates a file. Errors read "FILE:LINE: key 'a.b': what is wrong".
Result<Config> load_config(const std::string& path);
// The same from text (tests); `name` stands for the file name in messages.
Result<Config> parse_config(const std::string& text, const std::string& name);

}  // namespace hikyaku
