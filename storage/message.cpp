// message.cpp: preparing messages, recipient lists and UID lists for the store (message.h).
#include "storage/message.h"

#include <algorithm>

#include "common/mime/message.h"
#include "common/mime/search_text.h"

namespace hikyaku::storage {

namespace {

std::optional<SearchText> search_text_of(std::string_view raw, const mime::ParsedMessage& parsed) {
    // Text stored as more octets than the index takes is not decoded at all: decoding a large
    // text part whole would hold a copy of the message (or three) in memory. Otherwise one
    // octet more than the index takes tells a decoded text that does not fit.
    if (mime::searchable_source_octets(parsed.root) > kMaxIndexedText) return std::nullopt;
    std::string body = mime::searchable_body_text(raw, parsed, kMaxIndexedText + 1);
    if (body.size() > kMaxIndexedText) return std::nullopt;
    SearchText text;
    text.header = mime::search_fold(mime::searchable_header_text(parsed.headers));
    text.body = mime::search_fold(body);
    return text;
}

}  // namespace

StoredMessage prepare_message(std::string_view raw) {
    StoredMessage message;
    message.raw = raw;
    // parse_message fails only past 4 GiB, which every configured maximum refuses first;
    // such a message would be stored without a structure.
    auto parsed = mime::parse_message(raw);
    if (!parsed) return message;
    message.structure = mime::encode_cache(*parsed);
    message.search_text = search_text_of(raw, *parsed);
    return message;
}

std::optional<SearchText> prepare_search_text(std::string_view raw) {
    auto parsed = mime::parse_message(raw);
    if (!parsed) return std::nullopt;
    return search_text_of(raw, *parsed);
}

bool add_unique_recipient(std::vector<UserId>& recipients, UserId id) {
    if (std::find(recipients.begin(), recipients.end(), id) != recipients.end()) return false;
    recipients.push_back(id);
    return true;
}

std::vector<UserId> unique_recipients(std::span<const UserId> recipients) {
    std::vector<UserId> out;
    out.reserve(recipients.size());
    for (UserId id : recipients) add_unique_recipient(out, id);
    return out;
}

std::vector<Uid> normalize_uids(std::span<const Uid> uids) {
    std::vector<Uid> out(uids.begin(), uids.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    out.erase(std::remove(out.begin(), out.end(), Uid{0}), out.end());
    return out;
}

bool is_normalized(std::span<const Uid> uids) {
    for (std::size_t i = 0; i < uids.size(); ++i) {
        if (uids[i] == 0) return false;
        if (i > 0 && uids[i] <= uids[i - 1]) return false;
    }
    return true;
}

}  // namespace hikyaku::storage
