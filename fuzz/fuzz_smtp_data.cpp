// fuzz_smtp_data.cpp: fuzzes the DATA and BDAT decoders. Must never crash, and checks:
//   - feeding the input whole and in chunks of a fuzzer-chosen size gives identical output,
//     status, consumed count and statistics;
//   - the output never contains a bare CR or LF (under both policies) and never exceeds the cap;
//   - DATA ends only right after CRLF "." CRLF (or ".\r\n" at the very start);
//   - a complete message, dot-stuffed again and terminated, decodes to itself.
// Input: byte 0 = flags (bit 0: normalize, else reject; bits 1-3: cap choice), byte 1 = chunk
// size, rest = the bytes after the 354 reply (DATA) or the chunk stream (BDAT).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtpd/data_reader.h"

using namespace hikyaku::smtp;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

struct Run {
    std::string out;
    DataStatus status = DataStatus::need_more;
    std::size_t consumed = 0;
    DataStats stats;
};

Run run_data(std::string_view input, std::size_t chunk, const DataLimits& limits) {
    Run r;
    DataReader reader(r.out, limits);
    for (std::size_t i = 0; i < input.size() || i == 0; i += chunk) {
        const auto piece = input.substr(i, chunk);
        const auto feed = reader.feed(piece);
        require(feed.consumed <= piece.size());
        r.consumed += feed.consumed;
        r.status = feed.status;
        if (feed.status != DataStatus::need_more) break;
        require(feed.consumed == piece.size());
        if (input.empty()) break;
    }
    r.stats = reader.stats();
    return r;
}

void check_output(const std::string& out, const DataLimits& limits) {
    require(out.size() <= limits.max_message_size);
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] == '\n') require(i > 0 && out[i - 1] == '\r');
        if (out[i] == '\r') require(i + 1 < out.size() && out[i + 1] == '\n');
    }
}

std::string stuff(const std::string& message) {
    std::string wire;
    bool line_start = true;
    for (char c : message) {
        if (line_start && c == '.') wire += '.';
        wire += c;
        line_start = c == '\n';
    }
    return wire + ".\r\n";
}

void fuzz_data(std::string_view input, std::size_t chunk, const DataLimits& limits) {
    const Run whole = run_data(input, input.size() ? input.size() : 1, limits);
    const Run split = run_data(input, chunk, limits);
    require(whole.out == split.out && whole.status == split.status && whole.consumed == split.consumed &&
            whole.stats == split.stats);
    check_output(whole.out, limits);
    if (whole.status == DataStatus::need_more) {
        require(whole.consumed == input.size());
        return;
    }
    const auto taken = input.substr(0, whole.consumed);
    require(taken == ".\r\n" || (taken.size() >= 5 && taken.substr(taken.size() - 5) == "\r\n.\r\n"));
    if (whole.status == DataStatus::complete && whole.stats.bare_cr + whole.stats.bare_lf == 0) {
        const std::string again_input = stuff(whole.out);
        const Run again = run_data(again_input, again_input.size(), limits);
        require(again.status == DataStatus::complete && again.out == whole.out && again.consumed == again_input.size());
    }
    if (whole.status == DataStatus::bare_line_ending) require(limits.bare_line_endings == BareLineEndingPolicy::reject);
}

void fuzz_bdat(std::string_view input, std::size_t chunk, const DataLimits& limits) {
    // Chunk sizes come from the input itself: each BDAT chunk is `chunk` octets, the last one
    // takes the rest. Fed whole and byte by byte, results must agree.
    auto run = [&](bool bytewise) {
        Run r;
        BdatReader reader(r.out, limits);
        std::size_t pos = 0;
        BdatStatus last_status = BdatStatus::need_more;
        while (true) {
            const std::size_t size = std::min(chunk, input.size() - pos);
            const bool last = pos + size == input.size();
            reader.begin_chunk(size, last);
            const std::size_t end = pos + size;
            while (true) {
                const auto piece = input.substr(pos, bytewise ? 1 : end - pos);
                const auto feed = reader.feed(piece);
                pos += feed.consumed;
                require(pos <= end);
                if (feed.status != BdatStatus::need_more) {
                    last_status = feed.status;
                    break;
                }
                require(pos < end);
            }
            require(pos == end);
            if (last) break;
        }
        require(last_status != BdatStatus::need_more && last_status != BdatStatus::chunk_done);
        r.consumed = pos;
        r.status = last_status == BdatStatus::complete  ? DataStatus::complete
                   : last_status == BdatStatus::too_big ? DataStatus::too_big
                                                        : DataStatus::bare_line_ending;
        r.stats = reader.stats();
        return r;
    };
    const Run a = run(false);
    const Run b = run(true);
    require(a.out == b.out && a.status == b.status && a.consumed == b.consumed && a.stats == b.stats);
    require(a.consumed == input.size());
    check_output(a.out, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    static constexpr std::uint64_t caps[8] = {0, 1, 5, 16, 64, 100, 1000, 1 << 20};
    DataLimits limits;
    limits.bare_line_endings = (data[0] & 1) ? BareLineEndingPolicy::normalize : BareLineEndingPolicy::reject;
    limits.max_message_size = caps[(data[0] >> 1) & 7];
    limits.max_line_length = 1 + (data[0] >> 4) * 8;
    const std::size_t chunk = 1 + data[1] % 64;
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
    fuzz_data(input, chunk, limits);
    fuzz_bdat(input, chunk, limits);
    return 0;
}
