// test_config.cpp: the configuration loader: a valid file, defaults, and each kind of error.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

#include "common/config.h"

using namespace hikyaku;

TEST_CASE("defaults when the file is empty") {
    auto c = parse_config("", "empty.toml");
    REQUIRE(c.ok());
    CHECK(c->storage.path == "/var/lib/hikyaku/store.db");
    CHECK(c->storage.max_message_size == 25u * 1024 * 1024);
    CHECK(c->storage.default_quota_messages == 0);
    CHECK(c->server.model == ServerModel::concurrent);
    CHECK(c->server.workers >= 1);
    CHECK(c->server.max_connections == 10000);
    CHECK(c->server.max_connections_per_ip == 100);
    CHECK(c->server.message_reads == MessageReads::worker);
    CHECK(c->smtpd.max_recipients == 100);
    CHECK(c->smtpd.max_line_length == 512);
    CHECK(c->smtpd.bare_linefeed == BareLinefeedPolicy::reject);
    CHECK(c->smtpd.command_timeout == std::chrono::seconds(300));
    CHECK(c->pop3d.autologout == std::chrono::seconds(600));
    CHECK(c->imapd.autologout == std::chrono::seconds(1800));
    CHECK(c->imapd.max_search_contexts == 8);
    CHECK(c->smtpd.listen.empty());
    CHECK(c->log.level == "info");
    CHECK(!c->smtpd.hostname.empty());
}

TEST_CASE("a full valid file") {
    auto c = parse_config(R"(
[storage]
path = "/tmp/x.db"
max_message_size = 1048576
default_quota = 0
default_quota_messages = 5000
[tls]
cert = "/c.pem"
key = "/k.pem"
[server]
model = "iterative"
workers = 3
max_connections = 50
max_connections_per_ip = 5
blocking_threads = 2
message_reads = "pool"
shutdown_grace = 7
user = "mail"
[smtpd]
hostname = "mx.example.org"
listen = ["127.0.0.1:2525", "[::1]:2526"]
submission = []
submissions = ["*:465"]
bare_linefeed = "normalize"
[pop3d]
listen = [":1110"]
[imapd]
listen_tls = ["0.0.0.0:993"]
[log]
level = "debug"
)",
                          "full.toml");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->storage.path == "/tmp/x.db");
    CHECK(c->storage.default_quota_messages == 5000);
    CHECK(c->server.model == ServerModel::iterative);
    CHECK(c->server.workers == 3);
    CHECK(c->server.shutdown_grace == std::chrono::seconds(7));
    CHECK(c->server.message_reads == MessageReads::pool);
    REQUIRE(c->smtpd.listen.size() == 2);
    CHECK(c->smtpd.listen[0].host == "127.0.0.1");
    CHECK(c->smtpd.listen[0].port == 2525);
    CHECK(c->smtpd.listen[1].host == "::1");
    CHECK(c->smtpd.listen[1].text() == "[::1]:2526");
    CHECK(c->smtpd.submissions[0].host == "0.0.0.0");
    CHECK(c->pop3d.listen[0].port == 1110);
    CHECK(c->smtpd.bare_linefeed == BareLinefeedPolicy::normalize);
    CHECK(c->log.level == "debug");
}

static std::string error_of(const std::string& text) {
    auto c = parse_config(text, "bad.toml");
    REQUIRE(!c.ok());
    return c.error().message;
}

TEST_CASE("errors name the file, the line and the key") {
    CHECK(error_of("[server]\nworkers = 2\nwrokers = 3\n") == "bad.toml:3: key 'server.wrokers': unknown key");
    CHECK(error_of("[server]\nworkers = \"two\"\n") == "bad.toml:2: key 'server.workers': expected an integer");
    CHECK(error_of("[server]\nworkers = 0\n") == "bad.toml:2: key 'server.workers': out of range [1, 1024]");
    CHECK(error_of("[storage]\ndefault_quota_messages = -1\n").find("storage.default_quota_messages': out of range") !=
          std::string::npos);
    CHECK(error_of("\n[servre]\n").find("bad.toml:2: unknown table or key 'servre'") == 0);
    CHECK(error_of("[server]\nmodel = \"forking\"\n") ==
          "bad.toml:2: key 'server.model': must be one of \"concurrent\", \"iterative\"");
    CHECK(error_of("[server]\nmessage_reads = \"disk\"\n") ==
          "bad.toml:2: key 'server.message_reads': must be one of \"worker\", \"pool\"");
    CHECK(error_of("[smtpd]\nlisten = \"127.0.0.1:25\"\n") ==
          "bad.toml:2: key 'smtpd.listen': expected a list of \"host:port\" strings");
    CHECK(error_of("[smtpd]\nlisten = [\"127.0.0.1\"]\n").find("bad.toml:2: key 'smtpd.listen': expected") == 0);
    CHECK(error_of("[smtpd]\nlisten = [\"127.0.0.1:99999\"]\n").find("bad port") != std::string::npos);
    CHECK(error_of("[smtpd]\nlisten = [\"::1:25\"]\n").find("brackets") != std::string::npos);
    CHECK(error_of("[storage]\npath = 3\n") == "bad.toml:2: key 'storage.path': expected a string");
    CHECK(error_of("storage = 1\n").find("'storage' must be a table") != std::string::npos);
    CHECK(error_of("[tls]\ncert = \"/c.pem\"\n").find("both cert and key") != std::string::npos);
    // A TOML syntax error is reported with its line too.
    CHECK(error_of("[server]\nworkers = = 2\n").find("bad.toml:2:") == 0);
    CHECK(error_of("[smtpd]\nmax_line_length = 511\n").find("out of range") != std::string::npos);
    // [imapd] max_search_contexts: 0 (no result kept) to 1000.
    CHECK(parse_config("[imapd]\nmax_search_contexts = 0\n", "ok.toml")->imapd.max_search_contexts == 0);
    CHECK(parse_config("[imapd]\nmax_search_contexts = 1000\n", "ok.toml")->imapd.max_search_contexts == 1000);
    CHECK(error_of("[imapd]\nmax_search_contexts = 1001\n") ==
          "bad.toml:2: key 'imapd.max_search_contexts': out of range [0, 1000]");
    CHECK(error_of("[imapd]\nmax_search_contexts = -1\n").find("out of range") != std::string::npos);
}

TEST_CASE("load_config reads a file and reports a missing one") {
    std::string path = "/tmp/hikyaku-test-config-" + std::to_string(::getpid()) + ".toml";
    {
        std::ofstream out(path);
        out << "[log]\nlevel = \"warn\"\n";
    }
    auto c = load_config(path);
    REQUIRE(c.ok());
    CHECK(c->log.level == "warn");
    CHECK(c->source == path);
    std::remove(path.c_str());
    auto missing = load_config(path);
    REQUIRE(!missing.ok());
    CHECK(missing.error().code == Errc::not_found);
    CHECK(missing.error().message.find(path) == 0);
}

TEST_CASE("listen addresses") {
    CHECK(parse_listen_address("127.0.0.1:25")->port == 25);
    CHECK(parse_listen_address("localhost:0")->host == "localhost");
    CHECK(!parse_listen_address("127.0.0.1:").ok());
    CHECK(!parse_listen_address("127.0.0.1:-1").ok());
    CHECK(!parse_listen_address("127.0.0.1:65536").ok());
    CHECK(parse_listen_address("127.0.0.1:65535")->port == 65535);
    CHECK(!parse_listen_address("[::1]25").ok());
}

TEST_CASE("[relay] and [delivery]: defaults") {
    auto c = parse_config("", "empty.toml");
    REQUIRE(c.ok());
    CHECK(c->relay.host.empty());
    CHECK(c->relay.port == 25);
    CHECK(c->relay.tls == RelayTls::starttls);
    CHECK(c->relay.user.empty());
    CHECK(c->delivery.resolver.empty());
    CHECK(c->delivery.tls == DeliveryTls::may);
    CHECK(c->delivery.retry_min == std::chrono::seconds(300));
    CHECK(c->delivery.retry_max == std::chrono::seconds(4 * 3600));
    CHECK(c->delivery.max_age == std::chrono::seconds(5 * 24 * 3600));
    CHECK(c->delivery.delay_warning == std::chrono::seconds(4 * 3600));
    CHECK(c->delivery.concurrency_per_destination == 20);
    CHECK(c->delivery.connect_timeout == std::chrono::seconds(30));
    CHECK(c->delivery.command_timeout == std::chrono::seconds(300));
    CHECK(c->delivery.data_timeout == std::chrono::seconds(600));
}

TEST_CASE("[relay] and [delivery]: every key") {
    auto c = parse_config(R"(
[relay]
host = "smtp.example.net"
port = 587
tls = "tls"
user = "me@example.org"
password_file = "/etc/hikyaku/relay.password"
[delivery]
resolver = "127.0.0.1:5353"
tls = "encrypt"
retry_min = 60
retry_max = 600
max_age = 3600
delay_warning = 0
concurrency_per_destination = 1
connect_timeout = 2
command_timeout = 3
data_timeout = 4
)",
                          "outbound.toml");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->relay.host == "smtp.example.net");
    CHECK(c->relay.port == 587);
    CHECK(c->relay.tls == RelayTls::tls);
    CHECK(c->relay.user == "me@example.org");
    CHECK(c->relay.password_file == "/etc/hikyaku/relay.password");
    CHECK(c->delivery.resolver == "127.0.0.1:5353");
    CHECK(c->delivery.tls == DeliveryTls::encrypt);
    CHECK(c->delivery.retry_min == std::chrono::seconds(60));
    CHECK(c->delivery.retry_max == std::chrono::seconds(600));
    CHECK(c->delivery.max_age == std::chrono::seconds(3600));
    CHECK(c->delivery.delay_warning == std::chrono::seconds(0));
    CHECK(c->delivery.concurrency_per_destination == 1);
    CHECK(c->delivery.connect_timeout == std::chrono::seconds(2));
    CHECK(c->delivery.command_timeout == std::chrono::seconds(3));
    CHECK(c->delivery.data_timeout == std::chrono::seconds(4));
    CHECK(parse_config("[delivery]\ntls = \"dane\"\n", "d.toml")->delivery.tls == DeliveryTls::dane);
    CHECK(parse_config("[relay]\ntls = \"none\"\n", "d.toml")->relay.tls == RelayTls::none);
}

TEST_CASE("[relay] and [delivery]: errors") {
    CHECK(error_of("[relay]\nhots = \"x\"\n") == "bad.toml:2: key 'relay.hots': unknown key");
    CHECK(error_of("[relay]\npassword = \"secret\"\n") == "bad.toml:2: key 'relay.password': unknown key");
    CHECK(error_of("[relay]\ntls = \"ssl\"\n") ==
          "bad.toml:2: key 'relay.tls': must be one of \"none\", \"starttls\", \"tls\"");
    CHECK(error_of("[relay]\nport = 0\n") == "bad.toml:2: key 'relay.port': out of range [1, 65535]");
    CHECK(error_of("[relay]\nport = 65536\n") == "bad.toml:2: key 'relay.port': out of range [1, 65535]");
    CHECK(error_of("[relay]\nuser = \"me\"\n").find("password_file") != std::string::npos);
    CHECK(error_of("[relay]\nuser = \"me\"\npassword_file = \"/p\"\ntls = \"none\"\n").find("in the clear") !=
          std::string::npos);
    CHECK(error_of("[delivery]\ntls = \"none\"\n") ==
          "bad.toml:2: key 'delivery.tls': must be one of \"may\", \"encrypt\", \"dane\"");
    CHECK(error_of("[delivery]\nretry_min = 0\n") ==
          "bad.toml:2: key 'delivery.retry_min': out of range [1, 4294967295]");
    CHECK(error_of("[delivery]\nretry_min = 600\nretry_max = 60\n").find("retry_min is larger") != std::string::npos);
    CHECK(error_of("[delivery]\nconcurrency_per_destination = 0\n") ==
          "bad.toml:2: key 'delivery.concurrency_per_destination': out of range [1, 1000]");
    CHECK(parse_config("[delivery]\nconcurrency_per_destination = 1000\n", "d.toml").ok());
    CHECK(error_of("[delivery]\nconcurrency_per_destination = 1001\n").find("out of range") != std::string::npos);
    CHECK(error_of("[delivery]\nresolver = \"127.0.0.1\"\n").find("delivery.resolver") != std::string::npos);
    CHECK(error_of("[delivery]\nresolver = \"127.0.0.1:0\"\n").find("delivery.resolver") != std::string::npos);
    CHECK(error_of("[delivery]\ndelay_warning = \"4h\"\n") ==
          "bad.toml:2: key 'delivery.delay_warning': expected an integer");
}

TEST_CASE("the shipped example conf/hikyaku.toml loads, and its values are the defaults") {
    const char* source = std::getenv("HIKYAKU_SOURCE_DIR");
    REQUIRE_MESSAGE(source != nullptr, "HIKYAKU_SOURCE_DIR is not set (run through CTest)");
    auto shipped = load_config(std::string(source) + "/conf/hikyaku.toml");
    REQUIRE_MESSAGE(shipped.ok(), (shipped.ok() ? std::string() : shipped.error().message));
    auto defaults = parse_config("", "empty.toml");
    REQUIRE(defaults.ok());
    // The example says "every key with its default": spot-check keys of each table.
    CHECK(shipped->server.auth_threads == defaults->server.auth_threads);
    CHECK(shipped->server.auth_cache_ttl == defaults->server.auth_cache_ttl);
    CHECK(shipped->server.message_memory == defaults->server.message_memory);
    CHECK(shipped->storage.max_message_size == defaults->storage.max_message_size);
    CHECK(shipped->storage.default_quota_messages == defaults->storage.default_quota_messages);
    CHECK(shipped->imapd.autologout == defaults->imapd.autologout);
    CHECK(shipped->imapd.max_search_contexts == defaults->imapd.max_search_contexts);
}
