// imap_catenate.cpp: APPEND ... CATENATE (RFC 4469): builds each message from its parts, the
// TEXT literals as sent and the URL parts read from the store through FETCH's section
// machinery (fetch_section.h), before anything is stored.
//
// RFC 4469 3 (the URL parts: an IMAP URL of a message or a section of one, RFC 5092; a URL the
// server cannot resolve fails the whole APPEND with NO [BADURL url]; a result too large gives
// NO [TOOBIG]), 5 (the syntax, BADURL url-resp-text; with BINARY a TEXT part may be a
// literal8, RFC 3516 4.2);
// RFC 3502 (MULTIAPPEND: several CATENATEs, all or none, as on_append stores them).
// A URL must name a message of the logged-in user in this store: the relative form, or the
// absolute one with that user and a host of SessionSettings::server_names, "localhost" or a
// loopback literal (and, when given, the port the client connected to).
// Must never: store anything when a part fails (the caller stores only after every message is
// whole), read a message of another user, or hold more than the budget it is given: a part's
// size is known from the structure before its bytes are read.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "common/mime/message.h"
#include "imapd/fetch_section.h"
#include "imapd/imap_session_internal.h"
#include "imapd/imap_url.h"

namespace hikyaku::imap {

namespace {

Tagged bad_url(std::string_view url, std::string_view why) {
    return Tagged::no("CATENATE URL refused: " + std::string(why), ResponseCode::badurl(badurl_text(url)));
}

Tagged too_big(std::uint64_t budget) {
    return Tagged::no("Message would be larger than " + std::to_string(budget) + " octets",
                      ResponseCode::simple(ResponseCodeKind::toobig));
}

}  // namespace

bool Session::names_this_server(const ImapUrl& url) const {
    if (!url.absolute) return true;
    // RFC 5092 3.2: no user is an anonymous login, another user's view.
    if (!url.user || !iequals(*url.user, user_->address)) return false;
    const bool known_host =
        url.host == "localhost" || url.host == "127.0.0.1" || url.host == "[::1]" ||
        std::find(s_.server_names.begin(), s_.server_names.end(), url.host) != s_.server_names.end();
    if (!known_host) return false;
    return !url.port || *url.port == connection().local_port();
}

asio::awaitable<std::optional<Tagged>> Session::append_url_part(const std::string& url, std::string& message,
                                                                std::uint64_t budget) {
    auto parsed = parse_imap_url(url, grammar_);
    if (auto* error = std::get_if<UrlError>(&parsed)) co_return bad_url(url, error->reason);
    const ImapUrl& where = std::get<ImapUrl>(parsed);
    if (!names_this_server(where)) co_return bad_url(url, "not a message of this user on this server");
    auto decoded = mailbox_from_wire(where.mailbox, NameEncoding::utf8);  // RFC 5092 3.1: UTF-8
    if (!decoded) co_return bad_url(url, "invalid mailbox name");
    const std::string name = storage::normalize_mailbox_name(*decoded);
    if (!storage::validate_mailbox_name(name)) co_return bad_url(url, "invalid mailbox name");

    const storage::UserId user = user_->id;
    auto info = co_await store().read([&] { return store()->find_mailbox(user, name); });
    if (!info) {
        if (info.error().code == Errc::not_found) co_return bad_url(url, "no such mailbox");
        co_return store_failure(info.error(), "append");
    }
    if (where.uidvalidity && *where.uidvalidity != info->uidvalidity) co_return bad_url(url, "UIDVALIDITY differs");
    const storage::MailboxId mailbox = info->id;
    const storage::Uid uid = where.uid;
    const std::vector<storage::UidRange> ranges{storage::UidRange{uid, uid}};
    const bool structure = where.section.has_value();
    auto entries = co_await store().read(
        [&] { return store()->fetch_entries(mailbox, ranges, storage::FetchOptions{structure}); });
    if (!entries) co_return store_failure(entries.error(), "append");
    if (entries->empty()) co_return bad_url(url, "no such message");
    const storage::Entry& entry = entries->front();

    // Where the referenced bytes are, as FETCH BODY[section] finds them.
    mime::ByteRange range{0, static_cast<std::size_t>(entry.size)};
    std::optional<Section> header_fields;  // HEADER.FIELDS (.NOT): filtered, not a plain range
    if (where.section) {
        std::optional<mime::ParsedMessage> message_structure;
        if (entry.structure)
            if (auto cached = mime::decode_cache(*entry.structure)) message_structure = std::move(*cached);
        if (!message_structure) {
            auto raw = co_await store().read([&] { return store()->read_message(mailbox, uid); });
            if (!raw) co_return bad_url(url, "no such message");
            auto reparsed = mime::parse_message(*raw);
            if (!reparsed) co_return bad_url(url, "the message cannot be parsed");
            message_structure = std::move(*reparsed);
        }
        auto section_bytes = section_range(*message_structure, *where.section);
        if (!section_bytes) co_return bad_url(url, "no such section");
        range = *section_bytes;
        if (where.section->text == SectionText::header_fields || where.section->text == SectionText::header_fields_not)
            header_fields = where.section;
    }
    std::optional<Partial> partial;
    if (where.partial) {
        partial =
            Partial{where.partial->offset, where.partial->length.value_or(std::numeric_limits<std::uint64_t>::max())};
    }

    if (header_fields) {
        if (range.size > budget) co_return too_big(budget);
        const mime::ByteRange header = range;
        auto bytes = co_await store().read(
            [&] { return store()->read_message_chunk(mailbox, uid, header.offset, header.size); });
        if (!bytes) co_return bad_url(url, "no such message");
        const std::string filtered =
            filter_header_fields(*bytes, header_fields->fields, header_fields->text == SectionText::header_fields_not);
        const std::string_view part = apply_partial(filtered, partial);
        if (message.size() + part.size() > budget) co_return too_big(budget);
        message.append(part);
        co_return std::nullopt;
    }
    const mime::ByteRange part = partial_range(range.size, partial);
    if (message.size() + part.size > budget) co_return too_big(budget);
    if (part.size == 0) co_return std::nullopt;
    const std::uint64_t offset = range.offset + part.offset;
    const std::uint64_t size = part.size;
    auto bytes = co_await store().read([&] { return store()->read_message_chunk(mailbox, uid, offset, size); });
    if (!bytes) co_return bad_url(url, "no such message");  // expunged meanwhile
    message.append(*bytes);
    co_return std::nullopt;
}

asio::awaitable<std::optional<Tagged>> Session::assemble_catenate(const std::vector<CatenatePart>& parts,
                                                                  std::string& message, std::uint64_t budget) {
    for (const CatenatePart& part : parts) {
        if (!part.url) {
            if (message.size() + part.data.size() > budget) co_return too_big(budget);
            message.append(part.data);
            continue;
        }
        std::optional<Tagged> failure = co_await append_url_part(part.data, message, budget);
        if (failure) {
            spdlog::info("{} CATENATE refused: {}", connection().log_prefix(), failure->text);
            co_return failure;
        }
    }
    co_return std::nullopt;
}

}  // namespace hikyaku::imap
