// memory_transport.h: a byte pipe between two Transports in one process, so a protocol
// session can be driven by a test (or another session) without a socket: the in-memory test
// stream of Boost.Beast's tests (STYLE 14, 20).
//
// make_memory_link() gives two ends on one executor; what one end writes the other reads.
// Closing an end is end-of-file for the other. Both ends must be used on that executor's
// thread. No TLS (STARTTLS is refused over it, as over a pipe).
// Must never: lose or reorder bytes; block the thread (waits are asynchronous).
#pragma once

#include <memory>
#include <utility>

#include "common/net/transport.h"

namespace hikyaku::net {

std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_memory_link(asio::any_io_executor executor);

}  // namespace hikyaku::net
