// blocking_client.cpp: a ClientConnection driven to completion per call (see blocking_client.h).
#include "common/net/blocking_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "common/net/client.h"

namespace hikyaku::net {

struct BlockingClient::Impl {
    asio::io_context io{1};
    std::shared_ptr<ClientConnection> connection = ClientConnection::create(io.get_executor());

    // Runs one operation of the connection to its end. The operation enforces its own
    // deadline, so this loop ends by then at the latest.
    NetStatus run(asio::awaitable<NetStatus> operation) {
        std::optional<NetStatus> result;
        asio::co_spawn(io, std::move(operation), [&result](std::exception_ptr failure, NetStatus status) {
            if (failure) status = {NetErrc::io, "internal error in the client connection"};
            result = std::move(status);
        });
        io.restart();
        while (!result && io.run_one() > 0) {}
        return result ? std::move(*result) : NetStatus{NetErrc::io, "the client connection stopped"};
    }
};

BlockingClient::BlockingClient(std::chrono::milliseconds timeout)
    : timeout_(timeout), impl_(std::make_unique<Impl>()) {}

BlockingClient::~BlockingClient() {
    impl_->connection->close();
    impl_->connection.reset();
    // Let the cancelled timer's handler run before the io_context goes.
    impl_->io.restart();
    impl_->io.poll();
}

NetStatus BlockingClient::connect(const std::string& host, std::uint16_t port, ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->connect(host, port, resolve(deadline)));
}

NetStatus BlockingClient::start_tls(const ClientTlsOptions& options, const std::string& server_name,
                                    ClientClock::time_point deadline) {
    std::shared_ptr<asio::ssl::context> context;
    NetStatus loaded = load_client_tls_context(options, context);
    if (!loaded) return loaded;
    return impl_->run(impl_->connection->start_tls(std::move(context), server_name, resolve(deadline)));
}

NetStatus BlockingClient::read_line(std::string& line, std::size_t max_length, ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->read_line(line, max_length, resolve(deadline)));
}

NetStatus BlockingClient::read_exact(std::size_t count, std::string& out, ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->read_exact(count, out, resolve(deadline)));
}

NetStatus BlockingClient::fill(ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->fill(resolve(deadline)));
}

std::string_view BlockingClient::buffered() const { return impl_->connection->buffered(); }

void BlockingClient::consume(std::size_t count) { impl_->connection->consume(count); }

NetStatus BlockingClient::write_line(std::string_view line, std::string_view trace_as,
                                     ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->write_line(line, resolve(deadline), trace_as));
}

NetStatus BlockingClient::write(std::string_view bytes, ClientClock::time_point deadline) {
    return impl_->run(impl_->connection->write(bytes, resolve(deadline)));
}

void BlockingClient::close() { impl_->connection->close(); }
bool BlockingClient::is_open() const { return impl_->connection->is_open(); }
bool BlockingClient::is_tls() const { return impl_->connection->is_tls(); }
void BlockingClient::set_trace(TraceHook hook) { impl_->connection->set_trace(std::move(hook)); }
void BlockingClient::trace(TraceEvent event, std::string_view text) const { impl_->connection->trace(event, text); }

}  // namespace hikyaku::net
