// message.h: backend-neutral preparation of what the store's writes take, so no backend
// repeats it: the MIME structure parsed once per message (kept beside the bytes, so readers
// never parse again), recipient lists without duplicates, UID lists in increasing order.
//
// Pure functions; prepare_message costs a MIME parse (about 1 ms per MB): the protocol layer
// runs it off the event loop for large messages (common/server/async_store.h).
// Must never: fail a message because its MIME is broken (the structure is best effort, and
// a message the parser refuses is stored without one).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.h"

namespace hikyaku::storage {

// The message with its structure (mime::encode_cache of mime::parse_message).
StoredMessage prepare_message(std::string_view raw);

// Appends `id` to `recipients` unless it is there already; false if it was.
bool add_unique_recipient(std::vector<UserId>& recipients, UserId id);
std::vector<UserId> unique_recipients(std::span<const UserId> recipients);

// Increasing, without duplicates and without 0.
std::vector<Uid> normalize_uids(std::span<const Uid> uids);
bool is_normalized(std::span<const Uid> uids);

}  // namespace hikyaku::storage
