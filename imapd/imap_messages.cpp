// imap_messages.cpp: the IMAP commands about the messages of the selected mailbox (see
// imap_session.h).
//
// RFC 9051 6.4.3 (EXPUNGE), 6.4.4 (SEARCH; ESEARCH results in IMAP4rev2, 7.3.4), 6.4.5
// (FETCH: data items, \Seen set by a non-PEEK body fetch and FLAGS then sent with it), 6.4.6
// (STORE, .SILENT), 6.4.7 (COPY), 6.4.8 (MOVE), 6.4.9 (UID: UID in every FETCH response of a
// UID command), 7.5.2 (FETCH response); RFC 3516 (BINARY, BINARY.SIZE, NO [UNKNOWN-CTE]);
// RFC 4315 (COPYUID, UID EXPUNGE); RFC 4731 and RFC 5182 (ESEARCH RETURN, SAVE and "$");
// RFC 5267 4.3-4.4 (RETURN (UPDATE): the result kept, imap_contexts.cpp; PARTIAL; REMOVEFROM
// before an EXPUNGE of a kept message);
// RFC 6851 (MOVE: COPYUID in an untagged OK, then EXPUNGE for each message moved); RFC 7162
// 3.1.3 (STORE UNCHANGEDSINCE, [MODIFIED]), 3.1.4 (FETCH MODSEQ, CHANGEDSINCE), 3.1.5 (SEARCH
// MODSEQ and the MODSEQ of its result), 3.2.6 (UID FETCH VANISHED), 3.2.10 (VANISHED in
// place of EXPUNGE once QRESYNC is enabled); RFC 8474
// 5 (EMAILID, THREADID NIL); RFC 8514 3 (SAVEDATE: the internal date for entries saved before
// the store kept save dates); RFC 8970 (PREVIEW, also for LAZY: it is cheap to make); RFC 6855
// 3 (no SEARCH CHARSET once UTF8=ACCEPT is enabled).
//
// Large bodies are streamed in chunks (SessionSettings::fetch_chunk_size), never held whole.
// SEARCH runs on the blocking pool: it may read every message of the mailbox.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/log.h"
#include "common/mime/imap_structure.h"
#include "common/mime/message.h"
#include "imapd/fetch_section.h"
#include "imapd/message_preview.h"
#include "imapd/object_id.h"
#include "imapd/search_eval.h"
#include "imapd/imap_session_internal.h"
#include "imapd/searched_message.h"
#include "storage/store.h"

namespace hikyaku::imap {

namespace {

// Bodies up to this size are read in one piece and sent as one literal; larger ones stream.
constexpr std::uint64_t kInlineBodyLimit = 64 * 1024;
// FETCH of whole bodies reads ahead at most this many messages, or bytes (beyond the first).
constexpr std::size_t kReadAheadMessages = 64;
constexpr std::uint64_t kReadAheadBytes = 512 * 1024;

bool needs_structure(const FetchItem& item) {
    switch (item.attribute) {
        case FetchAttribute::envelope:
        case FetchAttribute::body:
        case FetchAttribute::body_structure:
        case FetchAttribute::binary:
        case FetchAttribute::binary_size:
        case FetchAttribute::rfc822_header:
        case FetchAttribute::rfc822_text:
        case FetchAttribute::preview: return true;
        case FetchAttribute::body_section: return !item.section.part.empty() || item.section.text != SectionText::none;
        default: return false;
    }
}

// The UIDs a set names in the view, ghosts (expunged by others, not yet announced) left out;
// `ghosts` tells whether some were.
std::vector<storage::Uid> live_uids(const SelectedMailbox& box, const std::vector<std::uint32_t>& sequences,
                                    bool& ghosts) {
    std::vector<storage::Uid> uids;
    uids.reserve(sequences.size());
    for (std::uint32_t seq : sequences) {
        const auto& m = box.at(seq);
        if (m.expunged) ghosts = true;
        else uids.push_back(m.uid);
    }
    return uids;
}

// RFC 7162 3.1.5: a SEARCH with a MODSEQ key answers with the highest modseq of its matches.
bool uses_modseq(const SearchKey& key) {
    if (key.kind == SearchKeyKind::modseq) return true;
    return std::any_of(key.children.begin(), key.children.end(), uses_modseq);
}

// FETCH and STORE that name messages another session expunged (not announced yet) act on the
// others and complete OK, saying so (RFC 9051 7.1 EXPUNGEISSUED, RFC 2180 4.1.2 and 4.2.1 leave
// OK or NO to the server). A NO reads as a failed command to clients: imaptest's state
// checking reports it as an error, and Dovecot answers OK too. COPY and MOVE still answer NO
// (RFC 2180 4.4.1): a partial copy is not what the client asked for.
Tagged completed_despite_expunges(const char* text) {
    return Tagged::ok(text, ResponseCode::simple(ResponseCodeKind::expungeissued));
}

}  // namespace

// ---- the saved result ("$", RFC 5182) and sets -------------------------------------------------

namespace {
// The sequence numbers a command's set names, "$" included; nullopt when it is not valid.
std::optional<std::vector<std::uint32_t>> resolve_set(const SelectedMailbox& box, const SequenceSet& set, bool uid,
                                                      const std::vector<storage::Uid>& saved) {
    if (set.is_saved_result()) {
        std::vector<std::uint32_t> out;
        for (storage::Uid u : saved)
            if (auto seq = box.sequence_of(u)) out.push_back(*seq);
        std::sort(out.begin(), out.end());
        return out;
    }
    // RFC 9051 9: a message number above the count (or "*" in an empty mailbox) is an error;
    // a UID above the highest is not.
    if (!uid && !set.within(box.count())) return std::nullopt;
    return box.sequence_numbers(set, uid);
}
}  // namespace

// ---- FETCH ------------------------------------------------------------------------------------

asio::awaitable<bool> Session::send_range(storage::Uid uid, std::uint64_t offset, std::uint64_t length) {
    const storage::MailboxId mailbox = selected_->id();
    std::uint64_t done = 0;
    while (done < length) {
        const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(s_.fetch_chunk_size, length - done));
        const std::uint64_t at = offset + done;
        auto chunk = co_await store().read([&] { return store()->read_message_chunk(mailbox, uid, at, piece); });
        if (!chunk || chunk->size() != piece) {
            // The literal's size is promised: the only way out is to close.
            spdlog::error("{} message uid={} unreadable at offset {}; closing", connection().log_prefix(), uid, at);
            end();
            co_return false;
        }
        connection().write(*chunk);
        done += piece;
        const bool sent = co_await flush();
        if (!sent) {
            end();
            co_return false;
        }
    }
    co_return true;
}

asio::awaitable<Session::BodyOutcome> Session::append_body(std::string& out, storage::Uid uid, std::uint64_t offset,
                                                           std::uint64_t size) {
    if (size <= kInlineBodyLimit) {
        const storage::MailboxId mailbox = selected_->id();
        auto bytes = co_await store().read(
            [&] { return store()->read_message_chunk(mailbox, uid, offset, static_cast<std::size_t>(size)); });
        if (!bytes && bytes.error().code == Errc::not_found) co_return BodyOutcome::vanished;
        if (!bytes) {
            spdlog::error("{} message uid={} unreadable: {}; closing", connection().log_prefix(), uid,
                          bytes.error().message);
            end();
            co_return BodyOutcome::closed;
        }
        append_literal(out, *bytes);
        co_return BodyOutcome::appended;
    }
    // Large: the response so far, the literal's header, then the bytes in chunks.
    append_literal_header(out, size, false);
    send(out);
    out.clear();
    const bool streamed = co_await send_range(uid, offset, size);
    co_return streamed ? BodyOutcome::appended : BodyOutcome::closed;
}

asio::awaitable<Tagged> Session::fetch_from_view(const std::vector<FetchItem>& items,
                                                 const std::vector<std::uint32_t>& sequences, bool ghosts,
                                                 bool uid_command) {
    // Messages the store no longer has: what the entries read would have left out. Only the
    // expunges since the view was synced are read (the store's expunge log, indexed by modseq).
    const storage::MailboxId mailbox = selected_->id();
    const storage::ModSeq since = selected_->known_modseq();
    auto changes = co_await store().read([&] { return store()->changes_since(mailbox, since); });
    if (!changes) co_return store_failure(changes.error(), "fetch");
    const std::vector<storage::Uid>& gone = changes->expunged;
    std::string out;
    std::size_t responses = 0;
    auto send_batch = [&] {
        send(out, debug_logging() ? std::to_string(responses) + " FETCH responses" : std::string());
        out.clear();
        responses = 0;
    };
    for (std::uint32_t seq : sequences) {
        // The view does not change while this runs: no other command of the session can.
        const SelectedMailbox::Message& m = selected_->at(seq);
        if (m.expunged) continue;
        if (!gone.empty() && std::binary_search(gone.begin(), gone.end(), m.uid)) {
            ghosts = ghosts || !uid_command;  // a UID FETCH announces the expunge at its end
            continue;
        }
        out += "* ";
        append_number(out, seq);
        out += " FETCH (";
        bool first = true;
        for (const FetchItem& item : items) {
            if (!first) out += ' ';
            first = false;
            if (item.attribute == FetchAttribute::uid) {
                out += "UID ";
                append_number(out, m.uid);
            } else {
                out += "FLAGS ";
                append_flag_list(out, m.flags, selected_->keywords_of(m), !rev2_ && m.recent);
            }
        }
        out += ")\r\n";
        ++responses;
        if (out.size() >= s_.fetch_chunk_size) {
            send_batch();
            const bool sent = co_await flush();
            if (!sent) {
                end();
                co_return Tagged::sent();
            }
        }
    }
    if (!out.empty()) send_batch();
    if (ghosts) co_return completed_despite_expunges("Some messages were already expunged");
    co_return Tagged::ok("Fetch completed");
}

asio::awaitable<Tagged> Session::on_fetch(const Command& c) {
    const FetchArgs& args = *c.get<FetchArgs>();
    // RFC 7162 3.2.6: VANISHED only once QRESYNC is enabled.
    if (args.vanished && !qresync_) co_return Tagged::bad("VANISHED needs ENABLE QRESYNC first");
    auto sequences = resolve_set(*selected_, args.set, c.uid, saved_search_);
    if (!sequences) co_return Tagged::bad("Invalid message sequence number");
    const bool wants_modseq = std::any_of(args.items.begin(), args.items.end(),
                                          [](const FetchItem& i) { return i.attribute == FetchAttribute::modseq; });
    if (wants_modseq) enable_condstore();  // RFC 7162 3.1: MODSEQ (and CHANGEDSINCE) enable it
    if (args.vanished) {
        const bool sent = co_await send_vanished_earlier(args.set, *args.changed_since);
        if (!sent)
            co_return Tagged::no("Internal error, try again later", ResponseCode::simple(ResponseCodeKind::serverbug));
    }
    std::vector<FetchItem> items = args.items;
    // UID in every FETCH response of UID FETCH, and of any FETCH once QRESYNC is enabled (a
    // QRESYNC client knows its messages by UID, as Dovecot answers).
    if ((c.uid || qresync_) &&
        std::none_of(items.begin(), items.end(), [](const FetchItem& i) { return i.attribute == FetchAttribute::uid; }))
        items.insert(items.begin(), FetchItem{FetchAttribute::uid, false, {}, std::nullopt});
    const bool structure = std::any_of(items.begin(), items.end(), needs_structure);
    const std::string announcement = selected_->keyword_announcement();
    if (!announcement.empty()) send(announcement);
    const bool marks_seen = !selected_->read_only() &&
                            std::any_of(items.begin(), items.end(), [](const FetchItem& i) { return sets_seen(i); });
    bool ghosts = false;
    std::vector<storage::Uid> uids = live_uids(*selected_, *sequences, ghosts);
    // A UID FETCH announces the expunges at its end (RFC 9051 7.5.1): no EXPUNGEISSUED needed.
    if (c.uid) ghosts = false;
    if (uids.empty()) {
        if (ghosts) co_return completed_despite_expunges("Some messages were already expunged");
        co_return Tagged::ok("Fetch completed");
    }
    // UID and FLAGS only: the view holds both (FLAGS below comes from it in any case), so the
    // entries are not read, only the expunges since the view's sync (fetch_from_view).
    const bool view_only =
        !args.changed_since && !marks_seen && std::all_of(items.begin(), items.end(), [](const FetchItem& i) {
            return i.attribute == FetchAttribute::uid || i.attribute == FetchAttribute::flags;
        });
    if (view_only) co_return co_await fetch_from_view(items, *sequences, ghosts, c.uid);
    const storage::MailboxId mailbox = selected_->id();
    const std::vector<storage::UidRange> ranges = uid_ranges(uids);
    auto entries = co_await store().read(
        [&] { return store()->fetch_entries(mailbox, ranges, storage::FetchOptions{structure}); });
    if (!entries) co_return store_failure(entries.error(), "fetch");
    // Expunged since the view was last synced; a UID FETCH announces it at its end.
    if (!c.uid && entries->size() < uids.size()) ghosts = true;
    if (args.changed_since) {
        // RFC 7162 3.1.4.1: only the messages changed since.
        const storage::ModSeq since = *args.changed_since;
        std::erase_if(*entries, [since](const storage::Entry& e) { return e.modseq <= since; });
    }

    // \Seen first (RFC 9051 6.4.5), so the FLAGS sent below already hold it.
    // The messages this FETCH marked \Seen, by UID, with their new modseq (RFC 7162 3.1).
    std::vector<storage::FlagUpdate> now_seen;
    if (marks_seen) {
        std::vector<storage::Uid> unseen;
        for (const auto& e : *entries)
            if (!(e.flags & storage::flag_seen)) unseen.push_back(e.uid);
        if (!unseen.empty()) {
            storage::FlagChange change{storage::FlagOperation::add, storage::flag_seen, {}, std::nullopt};
            auto result = co_await store().set_flags(mailbox, unseen, change);
            if (result) {
                for (const auto& u : result->updated) selected_->set_flags(u.uid, u.flags, u.keywords);
                now_seen = std::move(result->updated);
                std::sort(now_seen.begin(), now_seen.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
            }
        }
        // Setting \Seen read back each message's keywords, and another session may have just
        // created one: FLAGS lists it before a FETCH shows it (RFC 9051 7.3.5).
        const std::string learned = selected_->keyword_announcement();
        if (!learned.empty()) send(learned);
    }
    const bool wants_flags = std::any_of(items.begin(), items.end(),
                                         [](const FetchItem& i) { return i.attribute == FetchAttribute::flags; });

    // Whole bodies of up to fetch_chunk_size are read ahead, many in one store read
    // (read_messages): one transaction per batch instead of one per message. Not for a
    // partial (BODY[]<0.2048>): that reads only its own range, as append_body does.
    const bool whole_bodies = std::any_of(items.begin(), items.end(), [](const FetchItem& i) {
        const auto section = fetched_section(i);
        return i.attribute != FetchAttribute::binary && i.attribute != FetchAttribute::binary_size && section &&
               section->part.empty() && section->text == SectionText::none && !i.partial;
    });
    std::size_t batch_first = 0;
    std::vector<std::optional<std::string>> batch;  // the bodies of entries [batch_first, +size)
    for (std::size_t index = 0; index < entries->size(); ++index) {
        const storage::Entry& entry = (*entries)[index];
        const std::optional<std::string>* whole_body = nullptr;
        if (whole_bodies && entry.size <= s_.fetch_chunk_size) {
            if (index < batch_first || index >= batch_first + batch.size()) {
                std::vector<storage::Uid> ahead;
                std::uint64_t bytes = 0;
                for (std::size_t j = index; j < entries->size() && ahead.size() < kReadAheadMessages; ++j) {
                    const storage::Entry& next = (*entries)[j];
                    if (next.size > s_.fetch_chunk_size || (!ahead.empty() && bytes + next.size > kReadAheadBytes))
                        break;
                    ahead.push_back(next.uid);
                    bytes += next.size;
                }
                // Batches of large messages go to the pool: with many sessions fetching, that
                // puts the pages' copies and residency checks on another core (+15% at 10
                // clients x 100 KB); batches of small ones are cheaper here (-25% on the pool
                // at 1 client x 4 KB: a hand-off for little work). bench/README.md, 2026-12-01.
                auto read_ahead = [&] { return store()->read_messages(mailbox, ahead); };
                Result<std::vector<std::optional<std::string>>> read = std::vector<std::optional<std::string>>{};
                if (bytes >= kInlineBodyLimit * ahead.size()) read = co_await store().bulk_read(read_ahead);
                else read = co_await store().read(read_ahead);
                if (!read) co_return store_failure(read.error(), "fetch");
                batch_first = index;
                batch = std::move(*read);
            }
            whole_body = &batch[index - batch_first];
        }
        auto seq = selected_->sequence_of(entry.uid);
        if (!seq) continue;
        const auto& view = selected_->at(*seq);
        auto seen = std::lower_bound(now_seen.begin(), now_seen.end(), entry.uid,
                                     [](const storage::FlagUpdate& u, storage::Uid uid) { return u.uid < uid; });
        const bool marked_seen = seen != now_seen.end() && seen->uid == entry.uid;
        const storage::ModSeq modseq = marked_seen ? seen->modseq : entry.modseq;
        std::optional<mime::ParsedMessage> parsed;
        if (structure) {
            if (entry.structure)
                if (auto decoded = mime::decode_cache(*entry.structure)) parsed = std::move(*decoded);
            if (!parsed) {
                auto raw = co_await store().read([&] { return store()->read_message(mailbox, entry.uid); });
                if (!raw) {  // expunged meanwhile
                    ghosts = true;
                    continue;
                }
                auto p = mime::parse_message(*raw);
                if (!p) continue;
                parsed = std::move(*p);
            }
        }
        // RFC 3516 4.2: an encoding BINARY cannot undo fails the command; found before this
        // message's response starts, so no half response is ever sent.
        for (const FetchItem& item : items) {
            if (item.attribute != FetchAttribute::binary && item.attribute != FetchAttribute::binary_size) continue;
            auto where = binary_section(*parsed, item.section);
            if (auto* error = std::get_if<BinaryError>(&where); error && *error == BinaryError::unknown_cte)
                co_return Tagged::no("Unknown Content-Transfer-Encoding",
                                     ResponseCode::simple(ResponseCodeKind::unknown_cte));
        }
        std::string out = "* " + std::to_string(*seq) + " FETCH (";
        // Set when another session expunged this message after its entry was read: its
        // response is dropped and the command completes OK [EXPUNGEISSUED] (RFC 9051 7.1).
        bool vanished = false;
        bool first = true;
        auto item_start = [&](std::string_view name) {
            if (!first) out += ' ';
            first = false;
            out += name;
        };
        for (const FetchItem& item : items) {
            switch (item.attribute) {
                case FetchAttribute::uid: item_start("UID " + std::to_string(entry.uid)); break;
                case FetchAttribute::flags:
                    item_start("FLAGS " +
                               format_flag_list(view.flags, selected_->keywords_of(view), !rev2_ && view.recent));
                    break;
                case FetchAttribute::internal_date:
                    item_start("INTERNALDATE \"" + format_date_time(DateTime{entry.internal_date, 0}) + "\"");
                    break;
                case FetchAttribute::rfc822_size: item_start("RFC822.SIZE " + std::to_string(entry.size)); break;
                case FetchAttribute::modseq: item_start("MODSEQ (" + std::to_string(modseq) + ")"); break;
                case FetchAttribute::emailid:
                    item_start("EMAILID (" + email_object_id(entry.message, entry.internal_date) + ")");
                    break;
                case FetchAttribute::threadid: item_start("THREADID NIL"); break;
                case FetchAttribute::savedate:
                    item_start("SAVEDATE \"" + format_date_time(DateTime{saved_at(entry), 0}) + "\"");
                    break;
                case FetchAttribute::preview: {
                    // Only the chosen part's first octets are read (message_preview.h).
                    std::string text;
                    if (const mime::Part* part = preview_part(*parsed)) {
                        const std::uint32_t uid = entry.uid;
                        const std::size_t offset = part->body_offset;
                        const std::size_t length = std::min(part->body_size, kMaxPreviewEncodedBytes);
                        auto body = co_await store().read(
                            [&] { return store()->read_message_chunk(mailbox, uid, offset, length); });
                        if (!body) co_return store_failure(body.error(), "fetch");
                        text = part_preview(*body, *part);
                    }
                    item_start("PREVIEW ");
                    append_string(out, text);
                    break;
                }
                case FetchAttribute::envelope: item_start("ENVELOPE " + mime::imap_envelope(parsed->envelope)); break;
                case FetchAttribute::body: item_start("BODY " + mime::imap_body(*parsed)); break;
                case FetchAttribute::body_structure:
                    item_start("BODYSTRUCTURE " + mime::imap_bodystructure(*parsed));
                    break;
                case FetchAttribute::body_section:
                case FetchAttribute::rfc822:
                case FetchAttribute::rfc822_header:
                case FetchAttribute::rfc822_text: {
                    item_start(fetch_item_name(item) + " ");
                    const Section section = *fetched_section(item);
                    if (section.part.empty() && section.text == SectionText::none) {
                        // The whole message: no structure needed.
                        const mime::ByteRange part = partial_range(entry.size, item.partial);
                        if (whole_body) {  // read ahead
                            if (!*whole_body) {
                                vanished = true;
                                break;
                            }
                            const std::string& raw = **whole_body;
                            const std::string_view bytes = std::string_view(raw).substr(
                                std::min<std::size_t>(part.offset, raw.size()), static_cast<std::size_t>(part.size));
                            if (&item != &items.back()) {
                                append_literal(out, bytes);
                                break;
                            }
                            // The last item (nothing after it can drop the response): the
                            // response so far, then the bytes straight into the connection's
                            // buffer, one copy fewer.
                            append_literal_header(out, bytes.size(), bytes.find('\0') != std::string_view::npos);
                            send(out, debug_logging() ? "* " + std::to_string(*seq) + " FETCH (...)" : std::string());
                            out.clear();
                            connection().write(bytes);
                            break;
                        }
                        const BodyOutcome body = co_await append_body(out, entry.uid, part.offset, part.size);
                        if (body == BodyOutcome::closed) co_return Tagged::sent();
                        vanished = body == BodyOutcome::vanished;
                        break;
                    }
                    auto range = section_range(*parsed, section);
                    if (!range) {
                        out += "\"\"";  // a section that does not exist: empty, as Dovecot
                        break;
                    }
                    if (section.text == SectionText::header_fields || section.text == SectionText::header_fields_not) {
                        const std::uint32_t uid = entry.uid;
                        const mime::ByteRange header = *range;
                        auto bytes = co_await store().read(
                            [&] { return store()->read_message_chunk(mailbox, uid, header.offset, header.size); });
                        if (!bytes && bytes.error().code == Errc::not_found) {
                            vanished = true;
                            break;
                        }
                        if (!bytes) co_return store_failure(bytes.error(), "fetch");
                        std::string filtered = filter_header_fields(*bytes, section.fields,
                                                                    section.text == SectionText::header_fields_not);
                        append_literal(out, apply_partial(filtered, item.partial));
                        break;
                    }
                    const mime::ByteRange part = partial_range(range->size, item.partial);
                    const BodyOutcome body =
                        co_await append_body(out, entry.uid, range->offset + part.offset, part.size);
                    if (body == BodyOutcome::closed) co_return Tagged::sent();
                    vanished = body == BodyOutcome::vanished;
                    break;
                }
                case FetchAttribute::binary:
                case FetchAttribute::binary_size: {
                    auto where = binary_section(*parsed, item.section);
                    if (std::holds_alternative<BinaryError>(where)) {  // no such part (unknown_cte was checked)
                        item_start(fetch_item_name(item) +
                                   (item.attribute == FetchAttribute::binary_size ? " 0" : " \"\""));
                        break;
                    }
                    const BinarySection& bs = std::get<BinarySection>(where);
                    const std::uint32_t uid = entry.uid;
                    auto content = co_await store().read(
                        [&] { return store()->read_message_chunk(mailbox, uid, bs.range.offset, bs.range.size); });
                    if (!content && content.error().code == Errc::not_found) {
                        vanished = true;
                        break;
                    }
                    if (!content) co_return store_failure(content.error(), "fetch");
                    if (item.attribute == FetchAttribute::binary_size) {
                        auto size = binary_size(*content, bs.encoding);
                        if (std::holds_alternative<BinaryError>(size))
                            co_return Tagged::no("Unknown Content-Transfer-Encoding",
                                                 ResponseCode::simple(ResponseCodeKind::unknown_cte));
                        item_start(fetch_item_name(item) + " " + std::to_string(std::get<std::uint64_t>(size)));
                        break;
                    }
                    auto decoded = decode_binary(*content, bs.encoding);
                    if (std::holds_alternative<BinaryError>(decoded))
                        co_return Tagged::no("Unknown Content-Transfer-Encoding",
                                             ResponseCode::simple(ResponseCodeKind::unknown_cte));
                    item_start(fetch_item_name(item) + " ");
                    append_literal(out, apply_partial(std::get<std::string>(decoded), item.partial));
                    break;
                }
            }
            if (vanished) break;
        }
        if (vanished) {
            ghosts = true;
            continue;
        }
        // FLAGS changed by this FETCH are sent with it even if not asked for (RFC 9051 6.4.5).
        // With CONDSTORE, their MODSEQ too (RFC 7162 3.1).
        if (marked_seen) {
            if (!wants_flags)
                item_start("FLAGS " +
                           format_flag_list(view.flags, selected_->keywords_of(view), !rev2_ && view.recent));
            if (condstore_ && !wants_modseq) item_start("MODSEQ (" + std::to_string(modseq) + ")");
        }
        out += ")\r\n";
        send(out, debug_logging() ? "* " + std::to_string(*seq) + " FETCH (...)" : std::string());
        if (connection().pending_output() > s_.fetch_chunk_size) {
            const bool sent = co_await flush();
            if (!sent) {
                end();
                co_return Tagged::sent();
            }
        }
    }
    if (ghosts) co_return completed_despite_expunges("Some messages were already expunged");
    co_return Tagged::ok("Fetch completed");
}

// ---- STORE ------------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_store(const Command& c) {
    const StoreArgs& args = *c.get<StoreArgs>();
    if (args.unchanged_since) enable_condstore();  // RFC 7162 3.1
    if (selected_->read_only())
        co_return Tagged::no("Mailbox is read-only", ResponseCode::simple(ResponseCodeKind::readonly));
    auto sequences = resolve_set(*selected_, args.set, c.uid, saved_search_);
    if (!sequences) co_return Tagged::bad("Invalid message sequence number");
    bool ghosts = false;
    std::vector<storage::Uid> uids = live_uids(*selected_, *sequences, ghosts);
    if (uids.empty())
        co_return ghosts ? completed_despite_expunges("Store completed; some messages were already expunged")
                         : Tagged::ok("Store completed");
    storage::FlagChange change;
    change.operation = args.operation == StoreOperation::add      ? storage::FlagOperation::add
                       : args.operation == StoreOperation::remove ? storage::FlagOperation::remove
                                                                  : storage::FlagOperation::replace;
    change.flags = args.flags.system;
    change.keywords = args.flags.keywords;
    change.unchanged_since = args.unchanged_since;
    const storage::MailboxId mailbox = selected_->id();
    auto result = co_await store().set_flags(mailbox, uids, change);
    if (!result) co_return store_failure(result.error(), "store");
    for (const auto& u : result->updated) selected_->set_flags(u.uid, u.flags, u.keywords);
    // The unchanged ones are shown too (without .SILENT), with the keywords the store holds
    // now, which may include one another session just created: the view learns them as well.
    for (const auto& u : result->unchanged) selected_->set_flags(u.uid, u.flags, u.keywords);
    send(selected_->keyword_announcement());  // a new keyword is announced before it is shown
    // RFC 7162 3.1.3: with CONDSTORE, UID and MODSEQ in each; .SILENT still tells the new
    // MODSEQ of the messages that changed (without FLAGS).
    if (!args.silent || condstore_) {
        std::vector<storage::FlagUpdate> shown = result->updated;
        if (!args.silent) shown.insert(shown.end(), result->unchanged.begin(), result->unchanged.end());
        std::sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
        std::string out;
        for (const auto& u : shown) {
            auto seq = selected_->sequence_of(u.uid);
            if (!seq) continue;
            out += "* " + std::to_string(*seq) + " FETCH (";
            if (c.uid || condstore_) out += "UID " + std::to_string(u.uid) + " ";
            if (condstore_) out += "MODSEQ (" + std::to_string(u.modseq) + ")";
            if (condstore_ && !args.silent) out += ' ';
            if (!args.silent)
                out += "FLAGS " + format_flag_list(u.flags, u.keywords, !rev2_ && selected_->at(*seq).recent);
            out += ")\r\n";
        }
        if (!out.empty()) send(out);
    }
    if (!result->failed.empty()) {
        // RFC 7162 3.1.3: [MODIFIED] names message numbers, or UIDs for UID STORE.
        std::vector<std::uint32_t> failed;
        for (storage::Uid uid : result->failed) {
            if (c.uid) failed.push_back(uid);
            else if (auto seq = selected_->sequence_of(uid)) failed.push_back(*seq);
        }
        std::sort(failed.begin(), failed.end());
        co_return Tagged::ok("Conditional STORE failed", ResponseCode::modified(failed));
    }
    if (ghosts) co_return completed_despite_expunges("Store completed; some messages were already expunged");
    co_return Tagged::ok("Store completed");
}

// ---- SEARCH -----------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_search(const Command& c) {
    const SearchArgs& args = *c.get<SearchArgs>();
    // RFC 6855 3: a client that enabled UTF8=ACCEPT does not name a charset.
    if (utf8_accept_ && args.charset) co_return Tagged::bad("SEARCH CHARSET after ENABLE UTF8=ACCEPT");
    // RFC 5182 2.1: a SAVE search answered NO leaves "$" empty; a "$" inside this very search
    // still means the result saved before it.
    std::vector<storage::Uid> previous_saved = saved_search_;
    // RFC 5267 4.3-4.4: a kept result is not a slice of one.
    if (args.return_options && args.return_options->update && args.return_options->partial)
        co_return Tagged::no("UPDATE with PARTIAL is not supported", ResponseCode::simple(ResponseCodeKind::cannot));
    if (args.return_options && args.return_options->save) saved_search_.clear();
    auto program = SearchProgram::prepare(args);
    if (!program) co_return Tagged::no("Unsupported charset", ResponseCode::badcharset({"UTF-8", "US-ASCII"}));
    const bool with_modseq = uses_modseq(args.program);
    if (with_modseq) enable_condstore();  // RFC 7162 3.1
    const storage::MailboxId mailbox = selected_->id();
    const bool structure = program->needs_header() || program->needs_body();
    SearchContext context;
    context.message_count = selected_->count();
    context.highest_uid = selected_->highest_uid();
    context.now = now();
    context.saved_uids = std::move(previous_saved);
    struct Found {
        std::vector<std::uint32_t> sequences;
        std::vector<storage::Uid> uids;
        std::vector<storage::ModSeq> modseqs;  // of each match
        bool too_costly = false;
    };
    // The whole evaluation may read every message: off the event loop.
    auto found = co_await store().pool().run([&]() -> Result<Found> {
        auto ranges = search_ranges(*store(), mailbox, *program);
        if (!ranges) return ranges.error();
        auto entries = store()->fetch_entries(mailbox, *ranges, storage::FetchOptions{structure});
        if (!entries) return entries.error();
        Found out;
        for (const auto& entry : *entries) {
            auto seq = selected_->sequence_of(entry.uid);
            if (!seq || selected_->at(*seq).expunged) continue;
            SearchedMessage message(*store(), mailbox, *seq, entry, *selected_);
            const SearchOutcome outcome = program->evaluate(message, context);
            if (outcome == SearchOutcome::too_costly) {
                out.too_costly = true;
                break;
            }
            if (outcome == SearchOutcome::match) {
                out.sequences.push_back(*seq);
                out.uids.push_back(entry.uid);
                out.modseqs.push_back(entry.modseq);
            }
        }
        return out;
    });
    if (!found) co_return store_failure(found.error(), "search");
    if (found->too_costly) co_return Tagged::no("Search too costly", ResponseCode::simple(ResponseCodeKind::limit));
    const std::vector<std::uint32_t>& numbers = c.uid ? found->uids : found->sequences;
    std::optional<std::uint64_t> highest_modseq;
    if (with_modseq && !found->modseqs.empty())
        highest_modseq = *std::max_element(found->modseqs.begin(), found->modseqs.end());
    if (args.return_options || rev2_) {
        // ESEARCH (RFC 4731; RFC 9051 7.3.4: always in IMAP4rev2). RETURN () means ALL.
        SearchReturn want = args.return_options.value_or(SearchReturn{});
        if (!want.min && !want.max && !want.count && !want.all && !want.save && !want.update && !want.partial)
            want.all = true;
        if (want.save) {
            // RFC 5182 2.4: with only MIN and/or MAX beside SAVE, only those are saved.
            std::vector<storage::Uid> saved;
            if ((want.min || want.max) && !want.all && !want.count) {
                if (want.min && !found->uids.empty()) saved.push_back(found->uids.front());
                if (want.max && !found->uids.empty() && (saved.empty() || saved.back() != found->uids.back()))
                    saved.push_back(found->uids.back());
            } else {
                saved = found->uids;
            }
            saved_search_ = std::move(saved);
            search_saved_ = true;
        }
        // RFC 5267 4.3: RETURN (UPDATE) alone still answers, with no result data.
        if (want.min || want.max || want.count || want.all || want.partial || want.update) {
            EsearchResult result;
            if (want.min && !numbers.empty()) result.min = numbers.front();
            if (want.max && !numbers.empty()) result.max = numbers.back();
            if (want.count) result.count = numbers.size();
            if (want.all && !numbers.empty()) result.all = format_number_set(numbers);
            if (want.partial) {  // RFC 5267 4.4 / RFC 9394 3.1
                result.partial_range = format_partial_range(*want.partial);
                result.partial_set = format_number_set(partial_slice(numbers, *want.partial));
            }
            result.highest_modseq = highest_modseq;
            if (highest_modseq && !want.all && !want.count)  // RFC 4731 3.2: of the messages returned
                result.highest_modseq =
                    std::max(want.min ? found->modseqs.front() : 0, want.max ? found->modseqs.back() : 0);
            send(esearch_response(c.tag, c.uid, result));
        }
        if (want.update) {
            if (auto noupdate = keep_context(c, args, {}, found->uids, {}))
                co_return Tagged::ok("Search completed; its result is not kept up to date", noupdate);
        }
    } else {
        send(search_response(numbers, highest_modseq));
    }
    co_return Tagged::ok("Search completed");
}

// ---- COPY, MOVE, EXPUNGE ------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_copy(const Command& c) {
    const CopyArgs& args = *c.get<CopyArgs>();
    const bool move = c.verb == Verb::move;
    if (move && selected_->read_only())
        co_return Tagged::no("Mailbox is read-only", ResponseCode::simple(ResponseCodeKind::readonly));
    auto sequences = resolve_set(*selected_, args.set, c.uid, saved_search_);
    if (!sequences) co_return Tagged::bad("Invalid message sequence number");
    Tagged error;
    auto name = mailbox_name(args.mailbox, error);
    if (!name) co_return error;
    const storage::UserId user = user_->id;
    auto target = co_await store().read([&] { return store()->find_mailbox(user, *name); });
    if (!target) {
        if (target.error().code == Errc::not_found)
            co_return Tagged::no("Mailbox does not exist", ResponseCode::simple(ResponseCodeKind::trycreate));
        co_return store_failure(target.error(), move ? "move" : "copy");
    }
    bool ghosts = false;
    std::vector<storage::Uid> uids = live_uids(*selected_, *sequences, ghosts);
    if (uids.empty()) {
        if (ghosts)
            co_return Tagged::no("Some messages were expunged", ResponseCode::simple(ResponseCodeKind::expungeissued));
        co_return Tagged::ok(move ? "No messages moved" : "No messages copied");
    }
    std::sort(uids.begin(), uids.end());
    const storage::MailboxId from = selected_->id();
    const storage::MailboxId to = target->id;
    // Two statements, not one conditional expression with a co_await in each branch: g++ 12
    // destroys such a result twice.
    Result<storage::CopyResult> result = make_error(Errc::internal, "not run");
    if (move) result = co_await store().move(from, uids, to);
    else result = co_await store().copy(from, uids, to);
    if (!result) co_return store_failure(result.error(), move ? "move" : "copy");
    std::vector<std::uint32_t> source, destination;
    for (const auto& [s, d] : result->uids) {
        source.push_back(s);
        destination.push_back(d);
    }
    std::optional<ResponseCode> copyuid;
    if (!source.empty()) copyuid = ResponseCode::copyuid(result->destination_uidvalidity, source, destination);
    if (move) {
        if (copyuid) send(untagged_status(ResponseStatus::ok, copyuid, "Moved"));
        std::string out = context_removals(source);  // first: it numbers by the view before removal
        out += selected_->remove_and_announce(source, qresync_);
        if (!out.empty()) send(out);
        co_return Tagged::ok("Move completed");
    }
    co_return Tagged::ok("Copy completed", copyuid);
}

asio::awaitable<Tagged> Session::on_expunge(const Command& c) {
    if (selected_->read_only())
        co_return Tagged::no("Mailbox is read-only", ResponseCode::simple(ResponseCodeKind::readonly));
    std::optional<std::vector<storage::Uid>> only;
    if (c.uid) {
        auto sequences = resolve_set(*selected_, c.get<ExpungeArgs>()->uids, true, saved_search_);
        bool ghosts = false;
        only = live_uids(*selected_, *sequences, ghosts);
        std::sort(only->begin(), only->end());
    }
    std::optional<std::span<const storage::Uid>> restrict;
    if (only) restrict = std::span<const storage::Uid>(*only);
    const storage::MailboxId mailbox = selected_->id();
    auto result = co_await store().expunge_deleted(mailbox, restrict);
    if (!result) co_return store_failure(result.error(), "expunge");
    // RFC 5267 4.3: REMOVEFROM while the numbers are still the client's, then EXPUNGE.
    std::string out = context_removals(result->expunged);
    out += selected_->remove_and_announce(result->expunged, qresync_);
    if (!out.empty()) send(out);
    // A QRESYNC client keeps its HIGHESTMODSEQ current from this (as Dovecot sends it).
    if (qresync_) {
        const storage::ModSeq highest = std::max(result->modseq, selected_->known_modseq());
        co_return Tagged::ok("Expunge completed", ResponseCode::with_number(ResponseCodeKind::highestmodseq, highest));
    }
    co_return Tagged::ok("Expunge completed");
}

}  // namespace hikyaku::imap
