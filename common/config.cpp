// config.cpp: strict TOML loading (see config.h). Never accepts a key it does not know.
#include "common/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include <toml++/toml.h>

namespace hikyaku {

std::string ListenAddress::text() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(const std::string& text) {
    ListenAddress out;
    std::string port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return make_error(Errc::invalid_argument, "expected \"[ipv6]:port\", got \"" + text + "\"");
        out.host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos)
            return make_error(Errc::invalid_argument, "expected \"host:port\", got \"" + text + "\"");
        out.host = text.substr(0, colon);
        if (out.host.find(':') != std::string::npos)
            return make_error(Errc::invalid_argument, "IPv6 addresses need brackets: \"[" + out.host + "]:port\"");
        port_text = text.substr(colon + 1);
    }
    if (out.host.empty() || out.host == "*") out.host = "0.0.0.0";
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port > 65535 || port_text.empty())
        return make_error(Errc::invalid_argument, "bad port in \"" + text + "\"");
    out.port = static_cast<uint16_t>(port);
    return out;
}

namespace {

// Reads one table, remembering which keys were consumed so the rest can be reported.
class TableReader {
public:
    TableReader(const toml::table* table, std::string prefix, const std::string& file, std::string& error)
        : table_(table), prefix_(std::move(prefix)), file_(file), error_(error) {}

    void string(const char* key, std::string& out) {
        if (auto* node = take(key)) {
            if (auto v = node->value<std::string>()) out = *v;
            else fail(*node, key, "expected a string");
        }
    }

    template <class Int>
    void integer(const char* key, Int& out, int64_t min, int64_t max) {
        if (auto* node = take(key)) {
            auto v = node->value<int64_t>();
            if (!v || !node->is_integer()) return fail(*node, key, "expected an integer");
            if (*v < min || *v > max)
                return fail(*node, key, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
            out = static_cast<Int>(*v);
        }
    }

    void seconds(const char* key, std::chrono::seconds& out, int64_t min, int64_t max) {
        int64_t s = out.count();
        integer(key, s, min, max);
        out = std::chrono::seconds(s);
    }

    template <class Enum>
    void choice(const char* key, Enum& out, std::initializer_list<std::pair<const char*, Enum>> options) {
        if (auto* node = take(key)) {
            auto v = node->value<std::string>();
            if (!v) return fail(*node, key, "expected a string");
            for (auto& [name, value] : options)
                if (*v == name) {
                    out = value;
                    return;
                }
            std::string names;
            for (auto& [name, value] : options) names += std::string(names.empty() ? "" : ", ") + "\"" + name + "\"";
            fail(*node, key, "must be one of " + names);
        }
    }

    void addresses(const char* key, std::vector<ListenAddress>& out) {
        if (auto* node = take(key)) {
            auto* array = node->as_array();
            if (!array) return fail(*node, key, "expected a list of \"host:port\" strings");
            out.clear();
            for (auto& element : *array) {
                auto v = element.value<std::string>();
                if (!v) return fail(element, key, "expected a list of \"host:port\" strings");
                auto parsed = parse_listen_address(*v);
                if (!parsed) return fail(element, key, parsed.error().message);
                out.push_back(*parsed);
            }
        }
    }

    // Reports the first key nobody consumed.
    void finish() {
        if (!table_ || !error_.empty()) return;
        for (auto& [key, node] : *table_) {
            if (!seen_.count(std::string(key.str()))) {
                fail(node, std::string(key.str()).c_str(), "unknown key");
                return;
            }
        }
    }

private:
    const toml::node* take(const char* key) {
        if (!table_ || !error_.empty()) return nullptr;
        seen_.insert(key);
        return table_->get(key);
    }
    void fail(const toml::node& node, const char* key, const std::string& what) {
        if (!error_.empty()) return;
        std::ostringstream s;
        s << file_ << ":" << node.source().begin.line << ": key '" << prefix_ << key << "': " << what;
        error_ = s.str();
    }

    const toml::table* table_;
    std::string prefix_;
    const std::string& file_;
    std::string& error_;
    std::set<std::string> seen_;
};

}  // namespace

Result<Config> parse_config(const std::string& text, const std::string& name) {
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        std::ostringstream s;
        s << name << ":" << e.source().begin.line << ": " << e.description();
        return make_error(Errc::invalid_argument, s.str());
    }

    Config config;
    config.source = name;
    config.server.workers = std::max(1u, std::thread::hardware_concurrency());
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) config.smtpd.hostname = host;
    if (config.smtpd.hostname.empty()) config.smtpd.hostname = "localhost";

    std::string error;
    static const std::set<std::string> tables = {"storage", "tls",   "server",   "smtpd", "pop3d",
                                                 "imapd",   "relay", "delivery", "log"};
    for (auto& [key, node] : root) {
        std::string k(key.str());
        if (!tables.count(k) || !node.is_table()) {
            std::ostringstream s;
            s << name << ":" << node.source().begin.line << ": "
              << (tables.count(k) ? "'" + k + "' must be a table" : "unknown table or key '" + k + "'");
            return make_error(Errc::invalid_argument, s.str());
        }
    }
    auto table = [&](const char* n) { return root[n].as_table(); };
    const int64_t max_u32 = 0xffffffffLL;

    {
        TableReader r(table("storage"), "storage.", name, error);
        r.string("path", config.storage.path);
        r.integer("max_message_size", config.storage.max_message_size, 1024, int64_t(1) << 40);
        r.integer("default_quota", config.storage.default_quota, 0, int64_t(1) << 50);
        r.integer("default_quota_messages", config.storage.default_quota_messages, 0, int64_t(1) << 50);
        r.finish();
    }
    {
        TableReader r(table("tls"), "tls.", name, error);
        r.string("cert", config.tls.cert);
        r.string("key", config.tls.key);
        r.finish();
    }
    {
        TableReader r(table("server"), "server.", name, error);
        r.choice("model", config.server.model,
                 {{"concurrent", ServerModel::concurrent}, {"iterative", ServerModel::iterative}});
        r.integer("workers", config.server.workers, 1, 1024);
        r.integer("max_connections", config.server.max_connections, 1, 1000000);
        r.integer("max_connections_per_ip", config.server.max_connections_per_ip, 1, 1000000);
        r.integer("blocking_threads", config.server.blocking_threads, 1, 256);
        r.integer("auth_threads", config.server.auth_threads, 1, 256);
        r.seconds("auth_cache_ttl", config.server.auth_cache_ttl, 0, 86400);
        r.integer("message_memory", config.server.message_memory, int64_t(1) << 20, int64_t(1) << 40);
        r.integer("spool_limit", config.server.spool_limit, int64_t(1) << 20, int64_t(1) << 50);
        r.choice("message_reads", config.server.message_reads,
                 {{"worker", MessageReads::worker}, {"pool", MessageReads::pool}});
        r.seconds("shutdown_grace", config.server.shutdown_grace, 0, 3600);
        r.string("user", config.server.user);
        r.finish();
    }
    {
        TableReader r(table("smtpd"), "smtpd.", name, error);
        r.string("hostname", config.smtpd.hostname);
        r.addresses("listen", config.smtpd.listen);
        r.addresses("submission", config.smtpd.submission);
        r.addresses("submissions", config.smtpd.submissions);
        r.integer("max_recipients", config.smtpd.max_recipients, 1, 100000);
        r.integer("max_errors", config.smtpd.max_errors, 1, 1000);
        r.integer("max_line_length", config.smtpd.max_line_length, 512, 65536);
        r.choice("bare_linefeed", config.smtpd.bare_linefeed,
                 {{"reject", BareLinefeedPolicy::reject}, {"normalize", BareLinefeedPolicy::normalize}});
        r.seconds("command_timeout", config.smtpd.command_timeout, 1, max_u32);
        r.seconds("data_timeout", config.smtpd.data_timeout, 1, max_u32);
        r.finish();
    }
    {
        TableReader r(table("pop3d"), "pop3d.", name, error);
        r.addresses("listen", config.pop3d.listen);
        r.addresses("listen_tls", config.pop3d.listen_tls);
        r.seconds("autologout", config.pop3d.autologout, 1, max_u32);
        r.finish();
    }
    {
        TableReader r(table("imapd"), "imapd.", name, error);
        r.addresses("listen", config.imapd.listen);
        r.addresses("listen_tls", config.imapd.listen_tls);
        r.seconds("autologout", config.imapd.autologout, 1, max_u32);
        r.integer("max_search_contexts", config.imapd.max_search_contexts, 0, 1000);
        r.integer("view_cache_messages", config.imapd.view_cache_messages, 0, int64_t(1) << 32);
        r.finish();
    }
    {
        TableReader r(table("relay"), "relay.", name, error);
        r.string("host", config.relay.host);
        r.integer("port", config.relay.port, 1, 65535);
        r.choice("tls", config.relay.tls,
                 {{"none", RelayTls::none}, {"starttls", RelayTls::starttls}, {"tls", RelayTls::tls}});
        r.string("user", config.relay.user);
        r.string("password_file", config.relay.password_file);
        r.finish();
    }
    {
        TableReader r(table("delivery"), "delivery.", name, error);
        r.string("resolver", config.delivery.resolver);
        r.choice("tls", config.delivery.tls,
                 {{"may", DeliveryTls::may}, {"encrypt", DeliveryTls::encrypt}, {"dane", DeliveryTls::dane}});
        r.seconds("retry_min", config.delivery.retry_min, 1, max_u32);
        r.seconds("retry_max", config.delivery.retry_max, 1, max_u32);
        r.seconds("max_age", config.delivery.max_age, 1, max_u32);
        r.seconds("delay_warning", config.delivery.delay_warning, 0, max_u32);
        r.integer("concurrency_per_destination", config.delivery.concurrency_per_destination, 1, 1000);
        r.seconds("connect_timeout", config.delivery.connect_timeout, 1, 3600);
        r.seconds("command_timeout", config.delivery.command_timeout, 1, 3600);
        r.seconds("data_timeout", config.delivery.data_timeout, 1, 3600);
        r.finish();
    }
    {
        TableReader r(table("log"), "log.", name, error);
        r.choice("level", config.log.level,
                 {{"trace", std::string("trace")},
                  {"debug", std::string("debug")},
                  {"info", std::string("info")},
                  {"warn", std::string("warn")},
                  {"error", std::string("error")},
                  {"critical", std::string("critical")},
                  {"off", std::string("off")}});
        r.string("file", config.log.file);
        r.finish();
    }
    if (!error.empty()) return make_error(Errc::invalid_argument, error);
    if (config.tls.cert.empty() != config.tls.key.empty())
        return make_error(Errc::invalid_argument, name + ": [tls] needs both cert and key, or neither");
    if (!config.delivery.resolver.empty()) {
        auto resolver = parse_listen_address(config.delivery.resolver);
        if (!resolver || resolver->host == "0.0.0.0" || resolver->port == 0)
            return make_error(Errc::invalid_argument,
                              name + ": key 'delivery.resolver': expected \"IP:PORT\" of a DNS server, got \"" +
                                  config.delivery.resolver + "\"");
    }
    if (config.delivery.retry_min > config.delivery.retry_max)
        return make_error(Errc::invalid_argument, name + ": [delivery] retry_min is larger than retry_max");
    if (!config.relay.user.empty() && config.relay.password_file.empty())
        return make_error(Errc::invalid_argument, name + ": [relay] user needs password_file");
    if (!config.relay.user.empty() && config.relay.tls == RelayTls::none)
        return make_error(Errc::invalid_argument,
                          name + ": [relay] user needs tls = \"starttls\" or \"tls\" (no password in the clear)");
    return config;
}

Result<Config> load_config(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(Errc::not_found, path + ": cannot open configuration: " + std::strerror(errno));
    std::string text;
    char buf[8192];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
        if (text.size() > (1u << 20)) {
            std::fclose(f);
            return make_error(Errc::limit_exceeded, path + ": configuration larger than 1 MiB");
        }
    }
    std::fclose(f);
    return parse_config(text, path);
}

}  // namespace hikyaku
