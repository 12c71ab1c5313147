// message.h: backend-neutral preparation of what the store's writes take, so no backend
// repeats it: the MIME structure parsed once per message (kept beside the bytes, so readers
// never parse again), recipient lists without duplicates, UID lists in increasing order.
//
// Pure functions; prepare_message costs a MIME parse and the decoding of the text parts
// (about 1 ms per MB each): the protocol layer
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

// Body text (decoded octets, and as stored: mime::searchable_source_octets) up to which a
// message's search text goes into the full-text index; a message with more is stored
// unindexed and searched by reading it. Preparing a message never decodes more than 3 times
// this much text.
inline constexpr std::size_t kMaxIndexedText = 4u << 20;

// The message with its structure (mime::encode_cache of mime::parse_message) and its
// search text (common/mime/search_text.h) for the full-text index.
StoredMessage prepare_message(std::string_view raw);
// prepare_message's search text alone, for a message already stored (no structure encoded).
std::optional<SearchText> prepare_search_text(std::string_view raw);

// Appends `id` to `recipients` unless it is there already; false if it was.
bool add_unique_recipient(std::vector<UserId>& recipients, UserId id);
std::vector<UserId> unique_recipients(std::span<const UserId> recipients);

// Increasing, without duplicates and without 0.
std::vector<Uid> normalize_uids(std::span<const Uid> uids);
bool is_normalized(std::span<const Uid> uids);

}  // namespace hikyaku::storage
