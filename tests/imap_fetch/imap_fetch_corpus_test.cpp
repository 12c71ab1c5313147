// imap_fetch_corpus_test.cpp: imapd's FETCH against the Dovecot oracle (tests/mime/corpus):
// every corpus message is put into INBOX, and FETCH n (RFC822.SIZE ENVELOPE BODY
// BODYSTRUCTURE) through the real session (in process, tests/lib/session_harness.h) must
// equal dovecot-fetch.json as IMAP data, the RFC exceptions of fetch_oracle.h aside. And for
// every message: BODY.PEEK[] gives back its bytes exactly, BODY.PEEK[HEADER] and
// BODY.PEEK[TEXT] split it where its structure says, and BINARY.SIZE[1] is answered for every
// message (NO [UNKNOWN-CTE] only for an encoding imapd cannot undo), equal to the part's
// size when its encoding is an identity. Where the reference departs from the RFC,
// fetch_oracle.cpp names the section.
#include <doctest/doctest.h>

#include "common/mime/message.h"
#include "common/text/ascii.h"
#include "imapd/imap_session.h"
#include "tests/lib/session_harness.h"
#include "tests/mime/fetch_oracle.h"
#include "tests/mime/imap_data.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

// One response with its literals: lines and literal bytes put back together as sent.
asio::awaitable<std::string> read_response(net::Connection& c) {
    std::string out;
    for (;;) {
        net::Line line = co_await c.read_line(1 << 20);
        if (!line.ok()) co_return out + "<" + net::to_string(line.status) + ">";
        out += line.text;
        const auto open = line.text.rfind('{');
        if (line.text.empty() || line.text.back() != '}' || open == std::string::npos) co_return out;
        const std::uint64_t size = std::stoull(line.text.substr(open + 1, line.text.size() - open - 2));
        std::string literal;
        const net::ReadStatus status = co_await c.read_exact(size, literal);
        if (status != net::ReadStatus::ok) co_return out + "<literal cut>";
        out += "\r\n" + literal;
    }
}

// Sends one command and collects its untagged responses until the tagged one.
asio::awaitable<std::pair<std::vector<std::string>, std::string>> command(net::Connection& c, const std::string& tag,
                                                                          const std::string& text) {
    c.write(tag + " " + text + "\r\n");
    co_await c.flush();
    std::vector<std::string> untagged;
    for (;;) {
        std::string r = co_await read_response(c);
        if (r.rfind(tag + " ", 0) == 0 || r.empty() || r.back() == '>') co_return std::make_pair(untagged, r);
        untagged.push_back(std::move(r));
    }
}

// "* 3 FETCH (ITEMS)" -> "ITEMS".
std::string fetch_items(const std::string& response) {
    const auto open = response.find('(');
    if (open == std::string::npos || response.empty() || response.back() != ')') return {};
    return response.substr(open + 1, response.size() - open - 2);
}

}  // namespace

TEST_CASE("imapd FETCH of every corpus message equals the Dovecot oracle") {
    const test::Corpus& corpus = test::corpus();
    test::InProcess world("[imapd]\n");
    std::vector<std::string> order;
    for (const auto& [name, raw] : corpus.messages) {
        world.deliver(raw, {"alice@example.test"});
        order.push_back(name);
    }
    auto settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
    auto environment = world.environment();
    auto client = world.connect([&](std::shared_ptr<net::Connection> c) {
        return imap::run_imap_session(std::move(c), settings, environment);
    });
    std::vector<std::string> structures, wholes, heads, texts, sizes;
    std::string login, select, fetch, whole, split;
    std::vector<std::pair<std::vector<std::string>, std::string>> binary_sizes;
    CHECK(world.run(
        [&]() -> asio::awaitable<void> {
            co_await read_response(*client);
            login = (co_await command(*client, "a", "LOGIN alice@example.test alice-pw")).second;
            select = (co_await command(*client, "b", "EXAMINE INBOX")).second;
            auto f = co_await command(*client, "c", "FETCH 1:* (RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)");
            structures = std::move(f.first);
            fetch = f.second;
            auto w = co_await command(*client, "d", "FETCH 1:* (BODY.PEEK[])");
            wholes = std::move(w.first);
            whole = w.second;
            auto h = co_await command(*client, "e", "FETCH 1:* (BODY.PEEK[HEADER] BODY.PEEK[TEXT])");
            heads = std::move(h.first);
            split = h.second;
            for (std::size_t n = 1; n <= order.size(); ++n)
                binary_sizes.push_back(co_await command(*client, "f" + std::to_string(n),
                                                        "FETCH " + std::to_string(n) + " (BINARY.SIZE[1])"));
        },
        std::chrono::seconds(120)));
    REQUIRE(login.rfind("a OK", 0) == 0);
    REQUIRE(select.rfind("b OK", 0) == 0);
    REQUIRE(fetch.rfind("c OK", 0) == 0);
    REQUIRE(structures.size() == order.size());
    std::size_t matched = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string& name = order[i];
        INFO("message " << name);
        bool stale = false;
        const std::string expected = test::apply_exceptions(name, corpus.oracle.at(name), stale);
        const std::string diff = test::compare_fetch(fetch_items(structures[i]), expected);
        CHECK_MESSAGE(diff.empty(), diff << "\n  ours: " << structures[i]);
        if (diff.empty()) ++matched;
    }
    MESSAGE("imapd FETCH: " << matched << " of " << order.size() << " corpus messages match the oracle");
    CHECK(matched == test::kCorpusMessages);

    // BODY[] is the message itself, and HEADER + TEXT put it back together.
    REQUIRE(whole.rfind("d OK", 0) == 0);
    REQUIRE(split.rfind("e OK", 0) == 0);
    REQUIRE(wholes.size() == order.size());
    REQUIRE(heads.size() == order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string& raw = corpus.messages.at(order[i]);
        INFO("message " << order[i]);
        std::vector<test::ImapValue> values;
        std::string error;
        REQUIRE(test::parse_imap_data(fetch_items(wholes[i]), values, error));
        REQUIRE(values.size() == 2);
        CHECK(values[1].text == raw);
        values.clear();
        REQUIRE(test::parse_imap_data(fetch_items(heads[i]), values, error));
        REQUIRE(values.size() == 4);
        CHECK(values[1].text + values[3].text == raw);
        auto parsed = mime::parse_message(raw);
        REQUIRE(parsed.ok());
        CHECK(values[1].text.size() == parsed->root.header_size);

        // BINARY.SIZE[1]: the first part (or the body of a single-part message).
        const auto& [untagged, tagged] = binary_sizes[i];
        const mime::Part* part = mime::find_part(*parsed, {1});
        if (tagged.find("NO [UNKNOWN-CTE]") != std::string::npos) {
            REQUIRE(part);
            CHECK(part->encoding.has_value());
            continue;
        }
        INFO("reply: " << tagged);
        REQUIRE(tagged.rfind("f", 0) == 0);
        CHECK(tagged.find(" OK ") != std::string::npos);
        REQUIRE(untagged.size() == 1);
        const std::string items = fetch_items(untagged[0]);
        REQUIRE(items.rfind("BINARY.SIZE[1] ", 0) == 0);
        const std::uint64_t reported = std::stoull(items.substr(15));
        if (part && part->kind == mime::PartKind::leaf &&
            (!part->encoding || text::iequals(*part->encoding, "7bit") || text::iequals(*part->encoding, "8bit") ||
             text::iequals(*part->encoding, "binary")))
            CHECK(reported == part->body_size);
    }
}
