// protocol_session.cpp: the session skeleton every protocol shares (see protocol_session.h).
//
// Every co_await result goes into a variable before it is tested: g++ 12 miscompiles
// `if (!co_await ...)` in coroutines like these (corrupt resume index, SIGILL).
#include "common/server/protocol_session.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "common/log.h"

namespace hikyaku::server {

namespace {
// STARTTLS handshakes get this long, whatever the protocol's command timeout.
constexpr std::chrono::seconds kHandshakeTimeout{60};
}  // namespace

ProtocolSession::ProtocolSession(std::shared_ptr<net::Connection> connection, SessionEnvironment environment,
                                 std::string_view protocol)
    : connection_(std::move(connection)), environment_(environment), protocol_(protocol) {}

ProtocolSession::~ProtocolSession() = default;

asio::awaitable<void> ProtocolSession::finish() { co_return; }

void ProtocolSession::send(std::string_view wire, std::string_view summary) {
    if (wire.empty()) return;
    connection_->write(wire);
    if (!debug_logging()) return;
    std::string_view shown = summary;
    if (shown.empty()) {
        shown = wire;
        while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.remove_suffix(1);
    }
    spdlog::debug("{} S: {}", connection_->log_prefix(), shown);
}

asio::awaitable<bool> ProtocolSession::flush() { co_return co_await connection_->flush(); }

asio::awaitable<void> ProtocolSession::pause(std::chrono::milliseconds delay) {
    asio::steady_timer timer(connection_->executor(), delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void ProtocolSession::start_command_deadline() {
    const auto timeout = command_timeout();
    connection_->set_timeout(timeout);
    connection_->set_command_deadline(std::chrono::steady_clock::now() + timeout);
}

asio::awaitable<std::optional<net::Line>> ProtocolSession::read_within_deadline(std::size_t max_length) {
    start_command_deadline();
    net::Line line = co_await connection_->read_line(max_length);
    connection_->clear_command_deadline();
    if (line.status == net::ReadStatus::too_long) {
        spdlog::info("{} line too long{}", connection_->log_prefix(), line.abandoned ? "; closing" : "");
        if (line.abandoned) end();
        co_return line;
    }
    if (!line.ok()) {
        input_ended(line.status);
        end();
        co_return std::nullopt;
    }
    co_return line;
}

asio::awaitable<std::optional<net::Line>> ProtocolSession::read_command_line(std::size_t max_length) {
    std::optional<net::Line> line = co_await read_within_deadline(max_length);
    if (line && line->status == net::ReadStatus::too_long) count_error();
    if (line && line->ok() && debug_logging())
        spdlog::debug("{} C: {}", connection_->log_prefix(), mask_secrets(line->text));
    co_return line;
}

asio::awaitable<void> ProtocolSession::run() {
    greet();
    const bool greeted = co_await flush();
    while (greeted && !done_) {
        co_await serve_command();
        if (!done_ && errors_ >= max_errors()) {
            too_many_errors();
            spdlog::info("{} too many errors ({}), closing", connection_->log_prefix(), errors_);
            end();
            break;
        }
        if (tls_requested_) {
            co_await upgrade_to_tls();
            continue;
        }
        if (compression_requested_) {
            compression_requested_ = false;
            const bool sent = co_await flush();
            if (!sent || !connection_->start_deflate()) end();
            else spdlog::debug("{} DEFLATE compression started", connection_->log_prefix());
            continue;
        }
        // Pipelining: answer a batch of commands once the client's input is drained.
        if (!connection_->has_buffered_input() || done_) {
            const bool sent = co_await flush();
            if (!sent) end();
        }
    }
    co_await flush();
    co_await finish();
}

asio::awaitable<void> ProtocolSession::upgrade_to_tls() {
    tls_requested_ = false;
    const bool sent = co_await flush();
    if (!sent) {
        end();
        co_return;
    }
    connection_->set_timeout(kHandshakeTimeout);
    const bool secured = co_await connection_->start_tls();
    if (!secured) {
        spdlog::info("{} STARTTLS handshake failed", connection_->log_prefix());
        end();
        co_return;
    }
    if (connection_->discarded_after_starttls() > 0)
        spdlog::warn("{} discarded {} octets pipelined after STARTTLS", connection_->log_prefix(),
                     connection_->discarded_after_starttls());
    spdlog::info("{} TLS started version={} cipher={}", connection_->log_prefix(), connection_->tls_version(),
                 connection_->tls_cipher());
    tls_started();
}

asio::awaitable<std::optional<net::Line>> ProtocolSession::read_sasl_line() {
    const bool sent = co_await flush();
    if (!sent) {
        end();
        co_return std::nullopt;
    }
    std::optional<net::Line> line = co_await read_within_deadline(sasl::kMaxResponseLength);
    if (line && line->ok() && debug_logging()) spdlog::debug("{} C: <SASL response masked>", connection_->log_prefix());
    co_return line;
}

asio::awaitable<std::optional<std::string>> ProtocolSession::sasl_response(std::string_view challenge,
                                                                           std::optional<std::string>& given) {
    if (given) {
        std::optional<std::string> out = std::move(given);
        given.reset();
        co_return out;
    }
    send_sasl_challenge(challenge);
    std::optional<net::Line> line = co_await read_sasl_line();
    if (!line) co_return std::nullopt;
    if (line->status == net::ReadStatus::too_long) co_return std::string(sasl::kMaxResponseLength + 1, 'x');
    co_return std::move(line->text);
}

asio::awaitable<SaslResult> ProtocolSession::sasl_exchange(sasl::Mechanism mechanism,
                                                           std::optional<std::string> initial_response) {
    SaslResult result;
    auto failed = [&](sasl::SaslError e) {
        switch (e) {
            case sasl::SaslError::cancelled: result.status = SaslResult::Status::cancelled; break;
            case sasl::SaslError::bad_base64: result.status = SaslResult::Status::bad_base64; break;
            case sasl::SaslError::too_long: result.status = SaslResult::Status::too_long; break;
            case sasl::SaslError::malformed: result.status = SaslResult::Status::malformed; break;
        }
        return result;
    };
    if (mechanism == sasl::Mechanism::plain) {
        std::optional<std::string> response = co_await sasl_response("", initial_response);
        if (!response) co_return result;
        if (response->size() > sasl::kMaxResponseLength) co_return failed(sasl::SaslError::too_long);
        auto decoded = sasl::decode_plain_response(*response);
        if (auto* e = std::get_if<sasl::SaslError>(&decoded)) co_return failed(*e);
        auto& credentials = std::get<sasl::PlainCredentials>(decoded);
        result.authzid = std::move(credentials.authzid);
        result.authcid = std::move(credentials.authcid);
        result.password = std::move(credentials.password);
        result.status = SaslResult::Status::ok;
        co_return result;
    }
    std::optional<std::string> name_line =
        co_await sasl_response(sasl::login_challenge(sasl::LoginStep::username), initial_response);
    if (!name_line) co_return result;
    if (name_line->size() > sasl::kMaxResponseLength) co_return failed(sasl::SaslError::too_long);
    auto name = sasl::decode_login_response(*name_line, sasl::LoginStep::username);
    if (auto* e = std::get_if<sasl::SaslError>(&name)) co_return failed(*e);
    std::optional<std::string> none;
    std::optional<std::string> password_line =
        co_await sasl_response(sasl::login_challenge(sasl::LoginStep::password), none);
    if (!password_line) co_return result;
    if (password_line->size() > sasl::kMaxResponseLength) co_return failed(sasl::SaslError::too_long);
    auto password = sasl::decode_login_response(*password_line, sasl::LoginStep::password);
    if (auto* e = std::get_if<sasl::SaslError>(&password)) co_return failed(*e);
    result.authcid = std::move(std::get<std::string>(name));
    result.password = std::move(std::get<std::string>(password));
    result.status = SaslResult::Status::ok;
    co_return result;
}

asio::awaitable<LoginResult> ProtocolSession::log_in(std::string_view mechanism, std::string_view authcid,
                                                     std::string_view password, std::string_view authzid) {
    LoginAttempt attempt{protocol_, mechanism, authcid, password, authzid};
    co_return co_await environment_.auth.log_in(*connection_, attempt);
}

}  // namespace hikyaku::server
