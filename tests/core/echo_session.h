// echo_session.h: a tiny line-echo protocol that exercises the connection core in tests.
// Not shipped as a daemon. Greeting "+OK echo ...", then per line:
//   QUIT -> "+OK bye" and close;   STARTTLS -> "+OK begin TLS" then the upgrade;
//   TLS? -> "+OK tls=<version>" or "+OK plain";   READ n -> reads n octets, "+OK n <octets>";
//   SLEEP ms -> "+OK sleeping" at once, "+OK slept" after ms;
//   BLOCK ms -> sleeps ms on the blocking pool;
//   anything else -> "+OK <line>".  Errors: "-ERR line too long", "-ERR bare LF" (strict),
//   "-ERR NUL", "-ERR timeout" (then close), "-ERR shutting down" (then close).
#pragma once

#include <memory>

#include "common/net/server.h"

namespace hikyaku::test {

struct EchoOptions {
    std::size_t max_line = 1000;
    bool strict_crlf = false;  // refuse bare LF line endings
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

net::asio::awaitable<void> echo_session(std::shared_ptr<net::Connection> conn, EchoOptions options,
                                        net::BlockingPool* pool);

}  // namespace hikyaku::test
