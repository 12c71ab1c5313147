// fuzz_imap_command.cpp: fuzzes the IMAP protocol layer end to end: the framer
// (imapd/command_reader) over the input as a client's byte stream, the grammar
// (imapd/imap_command) over every framed command, and the helpers a session applies to what
// the grammar returns (sequence sets, mailbox names, LIST patterns, SEARCH programs, response
// text). Must never crash, and checks:
//   - the stream read whole and in chunks gives the same events (the first input octet picks
//     the chunk size and which literals the "session" refuses);
//   - framed commands respect every ReaderLimits bound: lines.size() == literals.size() + 1,
//     no NUL in a line or a non-binary literal, literal8 only in APPEND, line and literal
//     sizes and the whole command within their limits, consumption never past the input;
//   - errors are well-formed: a non-empty one-line text, a tag only when valid, and their
//     replies are single CRLF-terminated lines;
//   - a parsed command has a valid tag, its sequence sets resolve to sorted, disjoint
//     intervals inside 1..largest, its mailbox names decode strictly (a decoded modified
//     UTF-7 name encodes back to the same octets), and its SEARCH program evaluates within
//     the work bound on a small message; a PARTIAL range (RFC 5267 4.4) is normalised and
//     within nz-number, its slice of a result stays inside the result; CANCELUPDATE holds 1 to
//     kMaxCancelUpdateTags tags.
// Input: [control octet] then the client's bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/message.h"
#include "imapd/command_reader.h"
#include "imapd/imap_command.h"
#include "imapd/imap_url.h"
#include "imapd/mailbox_name.h"
#include "imapd/response_writer.h"
#include "imapd/result_contexts.h"
#include "imapd/search_eval.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

ReaderLimits fuzz_limits() {
    ReaderLimits l;
    l.max_line_length = 512;
    l.max_literal_size = 64;
    l.max_append_literal_size = 512;
    l.max_command_size = 4096;
    l.max_tag_length = 16;
    l.max_literals = 8;
    return l;
}

bool valid_tag(std::string_view tag) {
    if (tag.empty()) return false;
    for (char c : tag)
        if (!is_tag_char(c)) return false;
    return true;
}

void check_one_line(const std::string& wire) {
    require(wire.size() >= 2 && wire.compare(wire.size() - 2, 2, "\r\n") == 0);
    require(wire.find_first_of("\r\n") == wire.size() - 2);
    require(wire.find('\0') == std::string::npos);
}

void check_set(const SequenceSet& set, std::uint32_t largest) {
    if (set.is_saved_result()) return;
    const auto intervals = set.resolve(largest);
    std::uint64_t previous_end = 0;
    for (const Interval& iv : intervals) {
        require(iv.first >= 1 && iv.first <= iv.last && iv.last <= largest);
        require(previous_end == 0 || iv.first > previous_end + 1);  // sorted, merged
        previous_end = iv.last;
    }
    require(set.ranges().size() <= kMaxSequenceRanges);
    const auto again = SequenceSet::parse(set.to_string());
    require(again.ok() && *again == set);
}

void check_name(std::string_view wire) {
    auto decoded = mailbox_from_wire(wire, NameEncoding::modified_utf7);
    if (decoded) {
        require(mailbox_to_wire(*decoded, NameEncoding::modified_utf7) == wire);
        for (char c : *decoded) require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
    }
    auto utf8 = mailbox_from_wire(wire, NameEncoding::utf8);
    if (utf8) require(*utf8 == wire);
    std::string out;
    append_mailbox(out, wire);
    if (!out.empty() && out.front() == '"')
        for (char c : out) require(c != '\r' && c != '\n' && c != '\0' && static_cast<unsigned char>(c) < 0x80);
}

void check_url(std::string_view url) {
    require(!url.empty() && url.size() <= kMaxCatenateUrlLength);
    const auto parsed = parse_imap_url(url);
    if (const auto* e = std::get_if<UrlError>(&parsed)) {
        require(!e->reason.empty() && e->reason.find_first_of("\r\n") == std::string::npos);
    } else {
        const ImapUrl& u = std::get<ImapUrl>(parsed);
        require(u.uid > 0 && !u.mailbox.empty());
        require(u.mailbox.find('\0') == std::string::npos);
        require(!u.section || u.section->part.size() <= kMaxSectionParts);
        require(!u.partial || !u.partial->length || *u.partial->length > 0);
    }
    const std::string text = badurl_text(url);
    require(!text.empty() && text.size() <= kMaxCatenateUrlLength + 2);
    for (char c : text) require(c > 0x20 && c < 0x7F && c != ']');
    check_one_line(status_response("t", ResponseStatus::no, ResponseCode::badurl(text), "x"));
}

class FuzzMessage : public SearchMessage {
public:
    explicit FuzzMessage(const mime::ParsedMessage& m, std::string_view raw) : parsed_(m) {
        body_ = searchable_body_text(raw, m);
    }
    std::uint32_t sequence_number() const override { return 2; }
    std::uint32_t uid() const override { return 7; }
    storage::Flags flags() const override { return storage::flag_seen; }
    bool recent() const override { return true; }
    bool has_keyword(std::string_view k) const override { return k == "$Junk"; }
    DateTime internal_date() const override { return *parse_date_time("01-Jan-2024 12:00:00 +0100"); }
    std::uint64_t size() const override { return 100; }
    std::uint64_t modseq() const override { return 5; }
    const std::vector<mime::HeaderField>& header_fields() override { return parsed_.headers; }
    const std::string& body_text() override { return body_; }

private:
    const mime::ParsedMessage& parsed_;
    std::string body_;
};

void check_partial(const SearchArgs& args) {
    if (!args.return_options || !args.return_options->partial) return;
    const PartialRange& r = *args.return_options->partial;
    constexpr std::int64_t kMax = 0xFFFFFFFF;
    if (r.first > 0) require(r.first <= r.last && r.last <= kMax);
    else require(r.first < 0 && r.last <= r.first && r.last >= -kMax);
    static const std::vector<std::uint32_t> result{5, 3, 4, 2, 1};
    const std::vector<std::uint32_t> slice = partial_slice(result, r);
    require(slice.size() <= result.size());
    const std::string range = format_partial_range(r);
    require(range.find_first_of("\r\n ") == std::string::npos);
}

void check_search(const SearchArgs& args) {
    static const std::string raw =
        "From: a@example.org\r\nSubject: =?UTF-8?Q?h=C3=A9llo?=\r\nDate: 1 Jan 2024 10:00 +0000\r\n\r\nbody text\r\n";
    static const mime::ParsedMessage parsed = *mime::parse_message(raw);
    auto program = SearchProgram::prepare(args);
    if (!program) return;
    FuzzMessage message(parsed, raw);
    SearchContext context;
    context.message_count = 3;
    context.highest_uid = 9;
    EvalLimits limits;
    limits.max_work = 1 << 16;
    (void)program->evaluate(message, context, limits);
    check_partial(args);
}

void check_command(const FramedCommand& framed, const ReaderLimits& limits) {
    require(framed.lines.size() == framed.literals.size() + 1);
    require(framed.literals.size() <= limits.max_literals);
    std::uint64_t total = 0;
    for (const std::string& line : framed.lines) {
        require(line.find('\0') == std::string::npos);
        require(line.find('\n') == std::string::npos);
        require(line.size() <= limits.max_line_length);
        total += line.size();
    }
    for (const Literal& l : framed.literals) {
        require(l.binary || l.data.find('\0') == std::string::npos);
        require(l.data.size() <= limits.max_append_literal_size);
        total += l.data.size();
    }
    require(total <= limits.max_command_size);

    const ParseResult result = parse_command(framed);
    if (const auto* e = std::get_if<CommandError>(&result)) {
        require(!e->text.empty());
        require(!e->tag || valid_tag(*e->tag));
        check_one_line(status_response(e->tag.value_or(""), ResponseStatus::bad, std::nullopt, e->text));
        return;
    }
    const Command& c = std::get<Command>(result);
    require(valid_tag(c.tag));
    for (std::uint32_t largest : {0u, 1u, 5u, 0xFFFFFFFFu}) {
        if (const auto* f = c.get<FetchArgs>()) {
            check_set(f->set, largest);
            require(!f->items.empty() && f->items.size() <= kMaxFetchItems + 1);
            for (const FetchItem& item : f->items) {
                const std::string name = fetch_item_name(item);
                require(name.find_first_of("\r\n") == std::string::npos || name.find('{') != std::string::npos);
            }
        }
        if (const auto* s = c.get<StoreArgs>()) check_set(s->set, largest);
        if (const auto* cp = c.get<CopyArgs>()) check_set(cp->set, largest);
        if (const auto* x = c.get<ExpungeArgs>()) check_set(x->uids, largest);
    }
    if (const auto* m = c.get<MailboxArgs>()) check_name(m->mailbox);
    if (const auto* s = c.get<SelectArgs>()) check_name(s->mailbox);
    if (const auto* r = c.get<RenameArgs>()) {
        check_name(r->from);
        check_name(r->to);
    }
    if (const auto* l = c.get<ListArgs>()) {
        require(!l->patterns.empty());
        for (const std::string& pattern : l->patterns) {
            auto p = ListPattern::compile(l->reference, pattern);
            if (!p) continue;
            (void)p->matches("INBOX");
            (void)p->matches(pattern);
            (void)p->matches(l->reference + "/x/y");
        }
    }
    if (const auto* a = c.get<AppendArgs>()) {
        require(!a->messages.empty());
        check_name(a->mailbox);
        std::size_t urls = 0;
        for (const AppendMessage& m : a->messages) {
            if (!m.catenate) continue;
            require(!m.catenate->empty() && m.catenate->size() <= kMaxCatenateParts);
            for (const CatenatePart& part : *m.catenate) {
                if (!part.url) continue;
                ++urls;
                check_url(part.data);
            }
        }
        require(urls <= kMaxCatenateUrls);
    }
    if (const auto* s = c.get<SearchArgs>()) check_search(*s);
    if (const auto* s = c.get<SortArgs>()) check_partial(s->search);
    if (const auto* u = c.get<CancelUpdateArgs>()) require(!u->tags.empty() && u->tags.size() <= kMaxCancelUpdateTags);
}

struct Events {
    std::vector<std::string> log;
    std::size_t consumed = 0;
    bool operator==(const Events&) const = default;
};

Events run(std::string_view input, std::size_t chunk, unsigned refuse_mask, const ReaderLimits& limits) {
    CommandReader reader(limits);
    Events events;
    std::string buffer;
    std::size_t delivered = 0;
    for (std::size_t guard = 0; guard < 1000000; ++guard) {
        const ReadStep step = reader.read(buffer);
        require(step.consumed <= buffer.size());
        events.consumed += step.consumed;
        buffer.erase(0, step.consumed);
        if (std::holds_alternative<NeedMore>(step.event)) {
            if (delivered == input.size()) break;
            const std::string_view piece = input.substr(delivered, chunk);
            buffer.append(piece);
            delivered += piece.size();
        } else if (const auto* a = std::get_if<LiteralAnnouncement>(&step.event)) {
            require(valid_tag(a->tag));
            require(a->size <= (a->message_data ? limits.max_append_literal_size : limits.max_literal_size));
            require(!a->binary || (a->verb == "APPEND" && !a->uid));
            events.log.push_back("announce " + std::to_string(a->size));
            if ((refuse_mask >> (a->index % 8)) & 1) reader.reject_literal();
            else reader.accept_literal();
        } else if (const auto* c = std::get_if<FramedCommand>(&step.event)) {
            check_command(*c, limits);
            events.log.push_back("command");
        } else if (std::get_if<LiteralDiscarded>(&step.event)) {
            events.log.push_back("discarded");
        } else if (const auto* e = std::get_if<ReaderError>(&step.event)) {
            require(!e->text.empty() && e->text.find_first_of("\r\n") == std::string::npos);
            require(!e->tag || valid_tag(*e->tag));
            check_one_line(status_response(e->tag.value_or(""), e->fatal ? ResponseStatus::bye : ResponseStatus::bad,
                                           std::nullopt, e->text));
            events.log.push_back(std::string("error ") + to_string(e->kind));
            if (e->fatal) break;
        }
    }
    require(events.consumed <= input.size());
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const unsigned control = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t chunk = 1 + (control & 0x0F);
    const unsigned refuse_mask = (control >> 4) & 0x0F;
    const ReaderLimits limits = fuzz_limits();
    const Events whole = run(input, input.size() + 1, refuse_mask, limits);
    const Events pieces = run(input, chunk, refuse_mask, limits);
    require(whole == pieces);
    return 0;
}
