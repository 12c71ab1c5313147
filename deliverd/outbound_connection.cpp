// outbound_connection.cpp: the SMTP client session over a client connection (see
// outbound_connection.h).
#include "deliverd/outbound_connection.h"

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

namespace hikyaku::deliverd {

OutboundConnection::OutboundConnection(asio::any_io_executor executor, ConnectionTimeouts timeouts)
    : timeouts_(timeouts), connection_(net::ClientConnection::create(executor)) {}

asio::awaitable<bool> OutboundConnection::open(const ConnectionPlan& plan) {
    host_ = plan.host;
    tls_context_ = plan.tls;
    peer_check_ = plan.peer_check;
    tls_summary_.clear();
    peer_ = plan.host + "[" + plan.address + "]:" + std::to_string(plan.port);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(plan.address, ec);
    if (ec) {
        failure_ = "bad address " + plan.address;
        co_return false;
    }
    net::NetStatus connected =
        co_await connection_->connect(asio::ip::tcp::endpoint(address, plan.port), deadline(timeouts_.connect));
    if (!connected) {
        failure_ = connected.message;
        co_return false;
    }
    client::SmtpClientOptions options = plan.session;
    if (plan.implicit_tls) {
        if (!plan.tls) {
            failure_ = "implicit TLS without a TLS context";
            co_return false;
        }
        net::NetStatus tls =
            co_await connection_->start_tls(plan.tls, plan.host, deadline(timeouts_.command), peer_check_);
        if (!tls) {
            failure_ = tls.message;
            co_return false;
        }
        tls_summary_ = connection_->tls_summary();
        options.tls_active = true;
        options.starttls = client::StartTlsPolicy::never;
    }
    session_.emplace(std::move(options));
    co_await drive({});
    if (session_->step() != client::SmtpClientStep::ready) {
        failure_ = session_->failure() ? session_->failure()->text : "the session ended";
        close();
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> OutboundConnection::drive(std::string_view message) {
    using client::SmtpClientStep;
    for (;;) {
        switch (session_->step()) {
            case SmtpClientStep::send: {
                const bool secret = session_->output_is_secret();
                const std::string out = session_->take_output();
                // Commands are traced by the session's lines; an AUTH response never is.
                if (spdlog::should_log(spdlog::level::debug))
                    spdlog::debug("smtp out {} > {}", peer_,
                                  secret ? std::string("(authentication)") : out.substr(0, out.size() - 2));
                net::NetStatus status = co_await connection_->write(out, deadline(timeouts_.command));
                if (!status) session_->fail({0, "sending to " + peer_ + ": " + status.message});
                else session_->sent();
                break;
            }
            case SmtpClientStep::send_message: {
                std::string out = session_->take_output();
                if (session_->body_encoding() == client::BodyEncoding::raw) out.append(message);
                else out += client::dot_stuff(message);
                net::NetStatus status = co_await connection_->write(out, deadline(timeouts_.data));
                if (!status) session_->fail({0, "sending the message to " + peer_ + ": " + status.message});
                else session_->sent();
                break;
            }
            case SmtpClientStep::read_reply: {
                client::SmtpReplyParser parser;
                // The reply to the end of a message may take longer (RFC 5321 4.5.3.2.6).
                const auto bound = session_->awaiting_message_reply() ? timeouts_.data : timeouts_.command;
                net::NetStatus status = co_await connection_->read_response(parser, deadline(bound));
                if (!status) {
                    session_->fail({0, status.message + " (" + peer_ + ")"});
                } else if (parser.status() != client::SmtpReplyStatus::complete) {
                    session_->fail({0, peer_ + ": " + parser.error_message()});
                } else {
                    if (spdlog::should_log(spdlog::level::debug))
                        spdlog::debug("smtp in {} < {} {}", peer_, parser.reply().code, parser.reply().text());
                    session_->on_reply(parser.reply());
                }
                break;
            }
            case SmtpClientStep::start_tls: {
                net::NetStatus status =
                    co_await connection_->start_tls(tls_context_, host_, deadline(timeouts_.command), peer_check_);
                if (status) tls_summary_ = connection_->tls_summary();
                session_->tls_started(status.ok(), status.message);
                break;
            }
            case SmtpClientStep::ready:
            case SmtpClientStep::closed: co_return;
        }
    }
}

asio::awaitable<client::SmtpTransactionResult> OutboundConnection::send(client::SmtpEnvelope envelope,
                                                                        std::string_view message) {
    session_->begin(std::move(envelope));
    co_await drive(message);
    if (session_->step() == client::SmtpClientStep::closed) {
        failure_ = session_->failure() ? session_->failure()->text : "the session ended";
        close();
    }
    co_return session_->transaction().value_or(client::SmtpTransactionResult{});
}

asio::awaitable<void> OutboundConnection::quit() {
    if (usable()) {
        session_->quit();
        co_await drive({});
    }
    close();
}

void OutboundConnection::close() { connection_->close(); }

}  // namespace hikyaku::deliverd
