// services.h: what one daemon process shares between all its sessions, built once from the
// configuration: the store (opened with the one StoreOptions the config gives), its
// asynchronous facade, the authentication service and the message spool. Every daemon's
// main() builds it the same way, so the daemons differ only in their listeners and sessions.
//
// Must never: be destroyed while a session runs (main() keeps it for the process's life).
#pragma once

#include <memory>

#include "common/config.h"
#include "common/net/server.h"
#include "common/server/async_store.h"
#include "common/server/auth_service.h"
#include "common/server/message_spool.h"
#include "common/server/protocol_session.h"
#include "storage/store.h"

namespace hikyaku::server {

struct ProcessServices {
    std::unique_ptr<storage::Store> store;
    std::unique_ptr<AsyncStore> async_store;
    std::unique_ptr<AuthService> auth;
    std::unique_ptr<MessageSpool> spool;
    std::unique_ptr<UserSessions> user_sessions = std::make_unique<UserSessions>();

    SessionEnvironment environment() { return {*async_store, *auth, *spool, *user_sessions}; }

    // Opens the store of `config` and builds the rest around it; `pool` is the server's
    // blocking pool. Errors name the file or directory at fault.
    static Result<std::unique_ptr<ProcessServices>> open(const Config& config, net::BlockingPool& pool);
    // The same over a store that is already open (in-process tests, the memory store).
    static std::unique_ptr<ProcessServices> over(std::unique_ptr<storage::Store> store, const Config& config,
                                                 net::BlockingPool& pool);
};

}  // namespace hikyaku::server
