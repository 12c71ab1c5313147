// data_reader_test.cpp: the DATA and BDAT decoders. Every vector is ground (STYLE 14): fed
// whole, split at every byte offset, and in chunks of 1, 2, 3, 7 and 64 octets, with identical
// output, status, consumed count and statistics. Covers the end marker and only the end marker
// (CRLF.CRLF; never "\n.\n" or "\r.\r": SMTP smuggling), dot-unstuffing (RFC 5321 4.5.2),
// bare CR/LF under both policies, the size cap exactly and one over, NUL, 8-bit, line lengths,
// and pipelined bytes after the end.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "smtpd/data_reader.h"

using namespace hikyaku::smtp;
using namespace std::string_literals;

namespace {

struct Outcome {
    DataStatus status = DataStatus::need_more;
    std::size_t consumed = 0;
    std::string out;
    DataStats stats;
    bool operator==(const Outcome&) const = default;
};

DataLimits limits(BareLineEndingPolicy policy, std::uint64_t cap = 1 << 20) {
    DataLimits l;
    l.max_message_size = cap;
    l.bare_line_endings = policy;
    return l;
}

// Feeds `input` cut at the given offsets (ascending); stops at the first final status, as a
// session would, and checks the reader consumed every byte it was given until then.
Outcome run(std::string_view input, const std::vector<std::size_t>& cuts, const DataLimits& l) {
    Outcome o;
    DataReader reader(o.out, l);
    std::size_t start = 0;
    auto pieces = cuts;
    pieces.push_back(input.size());
    for (std::size_t end : pieces) {
        if (end < start) continue;
        const auto chunk = input.substr(start, end - start);
        const auto f = reader.feed(chunk);
        o.consumed += f.consumed;
        o.status = f.status;
        if (f.status != DataStatus::need_more) break;
        CHECK(f.consumed == chunk.size());
        start = end;
    }
    CHECK(reader.finished() == (o.status != DataStatus::need_more));
    CHECK(reader.status() == o.status);
    o.stats = reader.stats();
    return o;
}

// Whole, every two-way split, and fixed chunk sizes: all must agree; returns the whole run.
Outcome grind(std::string_view input, const DataLimits& l) {
    const Outcome whole = run(input, {}, l);
    for (std::size_t cut = 0; cut <= input.size(); ++cut) {
        CAPTURE(cut);
        CHECK(run(input, {cut}, l) == whole);
    }
    for (std::size_t size : {1, 2, 3, 7, 64}) {
        CAPTURE(size);
        std::vector<std::size_t> cuts;
        for (std::size_t c = size; c < input.size(); c += size) cuts.push_back(c);
        CHECK(run(input, cuts, l) == whole);
    }
    return whole;
}

struct Vector {
    std::string input;
    std::string output;    // expected message (normalize policy)
    std::string leftover;  // bytes after the end marker
    bool bare = false;     // contains a bare CR or LF
};

}  // namespace

TEST_CASE("end marker, unstuffing, smuggling vectors under both policies") {
    const Vector vectors[] = {
        {"Hello\r\n.\r\n", "Hello\r\n", ""},
        {".\r\n", "", ""},
        {"\r\n.\r\n", "\r\n", ""},
        {"a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"},
        {"a\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<a@b.c>\r\n", "a\r\n", "MAIL FROM:<x@y.z>\r\nRCPT TO:<a@b.c>\r\n"},
        {"..leading dot\r\n.\r\n", ".leading dot\r\n", ""},
        {"a\r\n..\r\n.\r\n", "a\r\n.\r\n", ""},
        {"a\r\n...\r\n.\r\n", "a\r\n..\r\n", ""},
        {".x\r\n.\r\n", "x\r\n", ""},
        {"a.b\r\n x.\r\n.a\r\n.\r\n", "a.b\r\n x.\r\na\r\n", ""},
        {"a\r\n.\r\n.\r\n", "a\r\n", ".\r\n"},
        {"line1\r\nline2\r\n\r\n.\r\n", "line1\r\nline2\r\n\r\n", ""},
        // Smuggling: none of these end the message; the real end comes later.
        {"a\n.\nMAIL FROM:<evil@x.y>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<evil@x.y>\r\n", "", true},
        {"a\r.\rMAIL FROM:<evil@x.y>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<evil@x.y>\r\n", "", true},
        {"a\r\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", "", true},
        {"a\n.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", "", true},
        {"a\r\n.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", "", true},
        {"a\r\n\n.\r\nMAIL FROM:<e@x.y>\r\n.\r\n", "a\r\n\r\n.\r\nMAIL FROM:<e@x.y>\r\n", "", true},
        {"a\r\n.\r\r\n.\r\n", "a\r\n.\r\n\r\n", "", true},
        {"a\r\r\n.\r\n", "a\r\n\r\n", "", true},
        {"a\n\r\n.\r\n", "a\r\n\r\n", "", true},
        {"\n.\n.\r\n.\r\n", "\r\n.\r\n.\r\n", "", true},
    };
    for (const auto& v : vectors) {
        CAPTURE(v.input);
        for (auto policy : {BareLineEndingPolicy::normalize, BareLineEndingPolicy::reject}) {
            const bool reject = policy == BareLineEndingPolicy::reject;
            CAPTURE(reject);
            const auto o = grind(v.input, limits(policy));
            const bool has_bare = o.stats.bare_cr + o.stats.bare_lf > 0;
            CHECK(has_bare == v.bare);
            if (reject && has_bare) {
                CHECK(o.status == DataStatus::bare_line_ending);
            } else {
                CHECK(o.status == DataStatus::complete);
            }
            CHECK(o.out == v.output);  // the output is normalized under both policies
            CHECK(v.input.substr(o.consumed) == v.leftover);
            // Never a bare LF or CR in the output.
            for (std::size_t i = 0; i < o.out.size(); ++i) {
                if (o.out[i] == '\n') CHECK((i > 0 && o.out[i - 1] == '\r'));
                if (o.out[i] == '\r') CHECK((i + 1 < o.out.size() && o.out[i + 1] == '\n'));
            }
            CHECK(o.stats.wire_octets == o.consumed);
            CHECK(o.stats.message_octets == o.out.size());
        }
    }
}

TEST_CASE("incomplete data asks for more and consumes everything") {
    for (auto input : {"abc"s, "abc\r\n"s, "\r.\r\n"s, "\n.\r\n"s, "\n.\n.\r\n"s, "abc\r\n."s, "abc\r\n.\r"s,
                       "abc\n.\n"s, "abc\r.\r"s, ""s}) {
        CAPTURE(input);
        const auto o = grind(input, limits(BareLineEndingPolicy::normalize));
        CHECK(o.status == DataStatus::need_more);
        CHECK(o.consumed == input.size());
    }
}

TEST_CASE("after the end, feed consumes nothing") {
    std::string out;
    DataReader r(out, limits(BareLineEndingPolicy::reject));
    auto f = r.feed("x\r\n.\r\nNOOP\r\n");
    CHECK(f.status == DataStatus::complete);
    CHECK(f.consumed == 6);
    auto g = r.feed("more");
    CHECK(g.consumed == 0);
    CHECK(g.status == DataStatus::complete);
    CHECK(out == "x\r\n");
}

TEST_CASE("size cap: exactly at the cap and one over") {
    const std::string msg = "abcd\r\nef\r\n";  // 10 octets decoded
    const std::string input = msg + ".\r\nRSET\r\n";
    for (auto policy : {BareLineEndingPolicy::normalize, BareLineEndingPolicy::reject}) {
        const auto at = grind(input, limits(policy, 10));
        CHECK(at.status == DataStatus::complete);
        CHECK(at.out == msg);
        const auto over = grind(input, limits(policy, 9));
        CHECK(over.status == DataStatus::too_big);
        CHECK(over.out == "abcd\r\nef");  // the CR of the last CRLF would not fit with its LF
        CHECK(over.stats.message_octets == 10);
        CHECK(input.substr(over.consumed) == "RSET\r\n");  // read to the end marker regardless
        // A cap that falls between CR and LF drops the pair: no bare CR in the output.
        const auto mid = grind(input, limits(policy, 5));
        CHECK(mid.status == DataStatus::too_big);
        CHECK(mid.out == "abcd");
    }
    // Unstuffing counts: "..x" is 3 octets on the wire but 1 + CRLF in the message.
    CHECK(grind("..x\r\n.\r\n", limits(BareLineEndingPolicy::reject, 4)).status == DataStatus::complete);
    CHECK(grind("..x\r\n.\r\n", limits(BareLineEndingPolicy::reject, 3)).status == DataStatus::too_big);
    // An empty message under a zero cap is fine.
    CHECK(grind(".\r\n", limits(BareLineEndingPolicy::reject, 0)).status == DataStatus::complete);
    // A long message far over a small cap keeps the output bounded.
    const std::string big(100000, 'x');
    const auto huge = run(big + "\r\n.\r\n", {}, limits(BareLineEndingPolicy::reject, 64));
    CHECK(huge.status == DataStatus::too_big);
    CHECK(huge.out.size() <= 64);
    CHECK(huge.stats.message_octets == 100002);
}

TEST_CASE("bare line ending wins over too big under reject") {
    const auto o = grind("aaaa\nbbbb\r\n.\r\n", limits(BareLineEndingPolicy::reject, 3));
    CHECK(o.status == DataStatus::bare_line_ending);
    const auto n = grind("aaaa\nbbbb\r\n.\r\n", limits(BareLineEndingPolicy::normalize, 3));
    CHECK(n.status == DataStatus::too_big);
}

TEST_CASE("NUL and 8-bit octets are recorded, kept, and never end anything") {
    const auto nul = grind("a\0b\r\n.\r\n"s, limits(BareLineEndingPolicy::reject));
    CHECK(nul.status == DataStatus::complete);
    CHECK(nul.stats.nul);
    CHECK_FALSE(nul.stats.eight_bit);
    CHECK(nul.out == "a\0b\r\n"s);
    const auto eight = grind("caf\xc3\xa9\r\n.\r\n", limits(BareLineEndingPolicy::reject));
    CHECK(eight.stats.eight_bit);
    CHECK_FALSE(eight.stats.nul);
    CHECK(eight.out == "caf\xc3\xa9\r\n");
    const auto ascii = grind("plain\r\n.\r\n", limits(BareLineEndingPolicy::reject));
    CHECK_FALSE(ascii.stats.eight_bit);
    CHECK_FALSE(ascii.stats.nul);
    // A high octet inside the unstuffed dot line.
    CHECK(grind(".\xff\r\n.\r\n", limits(BareLineEndingPolicy::reject)).stats.eight_bit);
}

TEST_CASE("line length: 1000 octets including CRLF at the limit and one past it") {
    const std::string l998(998, 'x'), l999(999, 'x');
    const auto at = grind(l998 + "\r\nshort\r\n.\r\n", limits(BareLineEndingPolicy::reject));
    CHECK(at.stats.longest_line == 1000);
    CHECK_FALSE(at.stats.line_too_long);
    CHECK(at.status == DataStatus::complete);  // policy decides; the reader only reports
    const auto over = grind(l999 + "\r\n.\r\n", limits(BareLineEndingPolicy::reject));
    CHECK(over.stats.longest_line == 1001);
    CHECK(over.stats.line_too_long);
    CHECK(over.status == DataStatus::complete);
    // A stuffed dot counts on the wire.
    const auto dotted = grind("." + l998 + "\r\n.\r\n", limits(BareLineEndingPolicy::reject));
    CHECK(dotted.stats.longest_line == 1001);
    CHECK(dotted.out == l998 + "\r\n");
    // Configurable.
    DataLimits small = limits(BareLineEndingPolicy::reject);
    small.max_line_length = 5;
    CHECK_FALSE(grind("abc\r\n.\r\n", small).stats.line_too_long);
    CHECK(grind("abcd\r\n.\r\n", small).stats.line_too_long);
}

namespace {

struct BdatChunk {
    std::string bytes;
    bool last = false;
};

struct BdatOutcome {
    std::vector<BdatStatus> statuses;  // one per chunk
    std::size_t consumed = 0;
    std::string out;
    DataStats stats;
    bool operator==(const BdatOutcome&) const = default;
};

// The wire: each chunk's bytes back to back (the BDAT command lines are the session's), then
// "NEXT" as the following command. `cuts` splits that stream into reads.
BdatOutcome run_bdat(const std::vector<BdatChunk>& chunks, const std::vector<std::size_t>& cuts, const DataLimits& l) {
    std::string wire;
    for (const auto& c : chunks) wire += c.bytes;
    wire += "NEXT";
    BdatOutcome o;
    BdatReader reader(o.out, l);
    std::vector<std::string_view> reads;
    std::size_t start = 0;
    for (std::size_t c : cuts) {
        reads.push_back(std::string_view(wire).substr(start, c - start));
        start = c;
    }
    reads.push_back(std::string_view(wire).substr(start));
    std::size_t next_chunk = 0;
    std::size_t read_index = 0;
    std::string_view pending = reads.empty() ? std::string_view() : reads[0];
    while (next_chunk < chunks.size()) {
        reader.begin_chunk(chunks[next_chunk].bytes.size(), chunks[next_chunk].last);
        while (true) {
            auto f = reader.feed(pending);
            pending.remove_prefix(f.consumed);
            o.consumed += f.consumed;
            if (f.status != BdatStatus::need_more) {
                o.statuses.push_back(f.status);
                break;
            }
            REQUIRE(pending.empty());
            REQUIRE(read_index + 1 < reads.size());
            pending = reads[++read_index];
        }
        ++next_chunk;
    }
    o.stats = reader.stats();
    return o;
}

BdatOutcome grind_bdat(const std::vector<BdatChunk>& chunks, const DataLimits& l) {
    std::size_t total = 4;
    for (const auto& c : chunks) total += c.bytes.size();
    const auto whole = run_bdat(chunks, {}, l);
    for (std::size_t cut = 0; cut <= total; ++cut) {
        CAPTURE(cut);
        CHECK(run_bdat(chunks, {cut}, l) == whole);
    }
    for (std::size_t size : {1, 2, 3, 7, 64}) {
        std::vector<std::size_t> cuts;
        for (std::size_t c = size; c < total; c += size) cuts.push_back(c);
        CHECK(run_bdat(chunks, cuts, l) == whole);
    }
    CHECK(whole.consumed == total - 4);  // "NEXT" is never taken
    CHECK(whole.stats.wire_octets == whole.consumed);
    return whole;
}

}  // namespace

TEST_CASE("BDAT: chunks, LAST, CRLF across chunk boundaries, no dot handling") {
    const auto o = grind_bdat({{"Subject: x\r\n\r\n.hi\r", false}, {"\n.\r\n", false}, {"end\r\n", true}},
                              limits(BareLineEndingPolicy::reject));
    CHECK(o.statuses == std::vector<BdatStatus>{BdatStatus::chunk_done, BdatStatus::chunk_done, BdatStatus::complete});
    CHECK(o.out == "Subject: x\r\n\r\n.hi\r\n.\r\nend\r\n");
    CHECK(o.stats.bare_cr + o.stats.bare_lf == 0);

    const auto empty_last = grind_bdat({{"abc\r\n", false}, {"", true}}, limits(BareLineEndingPolicy::reject));
    CHECK(empty_last.statuses.back() == BdatStatus::complete);
    CHECK(empty_last.out == "abc\r\n");
    CHECK(grind_bdat({{"", true}}, limits(BareLineEndingPolicy::reject)).out.empty());
}

TEST_CASE("BDAT: bare line endings under both policies") {
    const std::vector<BdatChunk> chunks{{"a\nb", false}, {"c\r\n", false}, {"d\r\n", true}};
    const auto rej = grind_bdat(chunks, limits(BareLineEndingPolicy::reject));
    CHECK(rej.statuses == std::vector<BdatStatus>{BdatStatus::bare_line_ending, BdatStatus::bare_line_ending,
                                                  BdatStatus::bare_line_ending});
    const auto norm = grind_bdat(chunks, limits(BareLineEndingPolicy::normalize));
    CHECK(norm.statuses.back() == BdatStatus::complete);
    CHECK(norm.out == "a\r\nbc\r\nd\r\n");
    // A CR as the very last octet of the message is bare.
    const auto tail = grind_bdat({{"abc\r", true}}, limits(BareLineEndingPolicy::reject));
    CHECK(tail.statuses.back() == BdatStatus::bare_line_ending);
    CHECK(tail.stats.bare_cr == 1);
    const auto tail_n = grind_bdat({{"abc\r", true}}, limits(BareLineEndingPolicy::normalize));
    CHECK(tail_n.out == "abc\r\n");
    // A CR ending a chunk followed by a non-LF chunk is bare.
    const auto split = grind_bdat({{"a\r", false}, {"b\r\n", true}}, limits(BareLineEndingPolicy::normalize));
    CHECK(split.out == "a\r\nb\r\n");
    CHECK(split.stats.bare_cr == 1);
}

TEST_CASE("BDAT: size cap exactly and one over; later chunks still consumed") {
    const std::vector<BdatChunk> chunks{{"12345", false}, {"67890", true}};
    const auto at = grind_bdat(chunks, limits(BareLineEndingPolicy::reject, 10));
    CHECK(at.statuses.back() == BdatStatus::complete);
    CHECK(at.out == "1234567890");
    const auto over = grind_bdat(chunks, limits(BareLineEndingPolicy::reject, 9));
    CHECK(over.statuses == std::vector<BdatStatus>{BdatStatus::chunk_done, BdatStatus::too_big});
    CHECK(over.out.size() <= 9);
    const auto early = grind_bdat(chunks, limits(BareLineEndingPolicy::reject, 4));
    CHECK(early.statuses == std::vector<BdatStatus>{BdatStatus::too_big, BdatStatus::too_big});
    CHECK(early.stats.message_octets == 10);
}

TEST_CASE("BDAT: NUL and 8-bit recorded") {
    const auto o = grind_bdat({{"\0\xe9\r\n"s, true}}, limits(BareLineEndingPolicy::reject));
    CHECK(o.stats.nul);
    CHECK(o.stats.eight_bit);
    CHECK(o.out == "\0\xe9\r\n"s);
}
