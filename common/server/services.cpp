// services.cpp: one process's shared services (see services.h).
#include "common/server/services.h"

#include "storage/store_files.h"

namespace hikyaku::server {

std::unique_ptr<ProcessServices> ProcessServices::over(std::unique_ptr<storage::Store> store, const Config& config,
                                                       net::BlockingPool& pool) {
    auto services = std::make_unique<ProcessServices>();
    const storage::StoreOptions options = storage::store_options(config);
    services->store = std::move(store);
    services->async_store = std::make_unique<AsyncStore>(*services->store, pool, config.server.message_reads);
    AuthSettings auth;
    auth.threads = config.server.auth_threads;
    auth.cache_ttl = config.server.auth_cache_ttl;
    auth.cost.memory_kib = options.argon2_memory_kib;
    auth.cost.iterations = options.argon2_iterations;
    services->auth = std::make_unique<AuthService>(*services->store, auth);
    SpoolSettings spool;
    spool.directory = storage::store_spool_folder(config.storage.path);
    spool.memory_budget = config.server.message_memory;
    spool.disk_budget = config.server.spool_limit;
    services->spool = std::make_unique<MessageSpool>(spool);
    return services;
}

Result<std::unique_ptr<ProcessServices>> ProcessServices::open(const Config& config, net::BlockingPool& pool) {
    storage::StoreOptions options = storage::store_options(config);
    // The full-text index is filled between deliveries, not inside them (storage/README.md).
    options.index_text_when_idle = true;
    auto store = storage::open_store(options);
    if (!store) return make_error(store.error().code, config.storage.path + ": " + store.error().message);
    auto services = over(std::move(*store), config, pool);
    // Made like the store's other folders: by root (before the privilege drop) for the store's
    // owner, so the daemon can still spool once it runs as that user (checked after the drop).
    if (auto made = storage::create_side_folder(storage::store_spool_folder(config.storage.path), config.storage.path);
        !made)
        return made.error();
    if (auto prepared = services->spool->prepare(); !prepared) return prepared.error();
    return services;
}

}  // namespace hikyaku::server
