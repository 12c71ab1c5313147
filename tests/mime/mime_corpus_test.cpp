// mime_corpus_test.cpp: the MIME parser and IMAP writers against the Dovecot oracle.
//
// For every message of tests/mime/corpus (a copy of the project's shared MIME corpus, kept in
// the repository so a fresh clone tests alone), renders RFC822.SIZE, ENVELOPE, BODY and
// BODYSTRUCTURE and compares them with dovecot-fetch.json as IMAP data (the corpus README):
// type, subtype, encoding and parameter names case-insensitively, everything else (sizes,
// line counts, envelope fields, NIL versus "", part order) exactly. Where the RFC and
// Dovecot disagree, kExceptions patches the oracle with the RFC's answer; the patch must
// apply, and the unpatched oracle must still differ from us (so no exception goes stale).
// Also: every message converted to bare-LF line ends parses to the same tree, and every
// prefix of every message parses to a consistent tree (offsets inside the input).
// Must never: pass when the corpus is missing or incomplete (it requires all 80 messages and
// says which file is missing, not only how many); read anything outside the repository.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "common/mime/imap_structure.h"
#include "common/mime/message.h"
#include "common/text/utf8.h"
#include "tests/mime/fetch_oracle.h"
#include "tests/mime/imap_data.h"

using namespace hikyaku;
using namespace hikyaku::mime;
using hikyaku::test::ImapValue;
using namespace hikyaku::test;

namespace {

// The whole file, or nothing when it cannot be opened.

// Our "RFC822.SIZE n ENVELOPE (...) BODY (...) BODYSTRUCTURE (...)".
std::string our_fetch(const ParsedMessage& m) {
    return "RFC822.SIZE " + std::to_string(m.size) + " ENVELOPE " + imap_envelope(m.envelope) + " BODY " +
           imap_body(m) + " BODYSTRUCTURE " + imap_bodystructure(m);
}

// LF-only copy of a CRLF message.
std::string to_bare_lf(const std::string& crlf) {
    std::string out;
    for (std::size_t i = 0; i < crlf.size(); ++i)
        if (!(crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n')) out += crlf[i];
    return out;
}

// Same tree shape and fields; each LF version is smaller by its CR count.
void check_same_tree_lf(const Part& crlf, const Part& lf, const std::string& where) {
    INFO(where);
    REQUIRE(crlf.children.size() == lf.children.size());
    CHECK(crlf.kind == lf.kind);
    CHECK(crlf.type == lf.type);
    CHECK(crlf.subtype == lf.subtype);
    CHECK(crlf.params == lf.params);
    CHECK(crlf.body_lines == lf.body_lines);
    CHECK(crlf.body_size - crlf.body_lines == lf.body_size);
    CHECK(crlf.envelope.has_value() == lf.envelope.has_value());
    for (std::size_t i = 0; i < crlf.children.size(); ++i)
        check_same_tree_lf(crlf.children[i], lf.children[i], where + "." + std::to_string(i + 1));
}

// Every range inside its parent's; header directly before body.
void check_consistent(const Part& p, std::size_t begin, std::size_t end) {
    REQUIRE(p.header_offset >= begin);
    REQUIRE(p.header_offset + p.header_size == p.body_offset);
    REQUIRE(p.body_offset + p.body_size <= end);
    REQUIRE(p.body_lines <= p.body_size);
    if (p.kind == PartKind::leaf) REQUIRE(p.children.empty());
    if (p.kind == PartKind::message) REQUIRE(p.children.size() == 1);
    for (const Part& c : p.children) check_consistent(c, p.body_offset, p.body_offset + p.body_size);
}

}  // namespace

TEST_CASE("corpus: every message matches Dovecot's FETCH data, RFC exceptions aside") {
    const Corpus& c = corpus();
    INFO("corpus at " << corpus_dir().string());
    std::size_t matched = 0, byte_exact = 0;
    for (const auto& entry : c.oracle) {  // no structured binding: INFO captures it
        const std::string& name = entry.first;
        const std::string& answer = entry.second;
        INFO("message " << name);
        const std::string& raw = c.messages.at(name);
        REQUIRE(!raw.empty());
        auto parsed = parse_message(raw);
        REQUIRE(parsed.ok());
        std::string ours = our_fetch(*parsed);
        bool stale = false;
        std::string expected = apply_exceptions(name, answer, stale);
        CHECK_MESSAGE(!stale, "an exception no longer applies to the oracle");
        std::string diff = compare_fetch(ours, expected);
        CHECK_MESSAGE(diff.empty(), diff);
        if (diff.empty()) ++matched;
        std::size_t open = expected.find('(');
        if (open != std::string::npos && expected.substr(open) == "(" + ours + ")") ++byte_exact;
    }
    MESSAGE("corpus: " << matched << " of " << c.oracle.size() << " match the oracle as IMAP data; " << byte_exact
                       << " byte for byte");
    CHECK(matched == c.oracle.size());
}

TEST_CASE("corpus: each RFC exception is still needed") {
    const Corpus& c = corpus();
    for (const auto& e : std::span(kExceptions, kExceptionCount)) {
        INFO("exception for " << e.message << ": " << e.why);
        REQUIRE(c.oracle.count(e.message) == 1);
        auto parsed = parse_message(c.messages.at(e.message));
        REQUIRE(parsed.ok());
        CHECK_FALSE(compare_fetch(our_fetch(*parsed), c.oracle.at(e.message)).empty());
    }
}

TEST_CASE("corpus: bare-LF copies parse to the same structure") {
    const Corpus& c = corpus();
    for (const auto& entry : c.messages) {
        const std::string& name = entry.first;
        const std::string& raw = entry.second;
        INFO("message " << name);
        std::string lf = to_bare_lf(raw);
        auto a = parse_message(raw);
        auto b = parse_message(lf);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        CHECK(imap_envelope(a->envelope) == imap_envelope(b->envelope));
        check_same_tree_lf(a->root, b->root, "root");
    }
}

TEST_CASE("corpus: every prefix of every message parses to a consistent tree") {
    const Corpus& c = corpus();
    for (const auto& entry : c.messages) {
        const std::string& name = entry.first;
        const std::string& raw = entry.second;
        INFO("message " << name);
        // Every byte for small messages, a stride for the large ones (bounded test time).
        std::size_t step = raw.size() > 4000 ? raw.size() / 997 + 1 : 1;
        for (std::size_t cut = 0; cut <= raw.size(); cut += step) {
            INFO("prefix " << cut);
            auto m = parse_message(std::string_view(raw).substr(0, cut));
            REQUIRE(m.ok());
            REQUIRE(m->size == cut);
            check_consistent(m->root, 0, cut);
            auto back = decode_cache(encode_cache(*m));
            REQUIRE(back.ok());
            REQUIRE(*back == *m);
        }
    }
}
