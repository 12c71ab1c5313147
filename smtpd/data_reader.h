// data_reader.h: the incremental SMTP message-content decoders: DataReader for DATA (ends at
// CRLF.CRLF, dot-unstuffing) and BdatReader for CHUNKING (exact octet counts, no dots).
// Pure: bytes in, the message (CRLF line endings) into a caller-provided string, a status out.
//
// RFC 5321 4.1.1.4 (the end-of-data indicator is CRLF "." CRLF and nothing else), 4.5.2
// (dot-unstuffing), 4.5.3.1.6 (1000-octet text lines), 2.3.8 (CR and LF only as CRLF);
// RFC 1870 (SIZE: 552 past the cap, after the whole message has been read); RFC 3030 (BDAT).
//
// Never ends DATA on a bare LF or a bare CR: "\n.\n", "\r.\r", "\r\n.\n" and "\n.\r\n" are
// data (SMTP smuggling, CVE-2023-51764 class). Never stops reading before the end marker (or
// the chunk's last octet): an error is reported only once the whole message has been
// consumed, so the next command is read from the right place. Never writes more than
// max_message_size octets into the output, and never writes a bare CR or LF into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hikyaku::smtp {

// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including the CRLF.
inline constexpr std::size_t kMaxTextLineLength = 1000;

// What to do with a CR or LF that is not part of a CRLF pair (RFC 5321 2.3.8).
enum class BareLineEndingPolicy {
    reject,     // consume to the end, then report bare_line_ending: nothing is stored
    normalize,  // turn each into CRLF and accept (never ends the message)
};

struct DataLimits {
    std::uint64_t max_message_size = 0;                // octets of unstuffed message, CRLF line endings
    std::size_t max_line_length = kMaxTextLineLength;  // reported in stats, policy decides
    BareLineEndingPolicy bare_line_endings = BareLineEndingPolicy::reject;
};

// Facts about the message for policy: BODY=7BIT enforcement, NUL refusal, long lines.
struct DataStats {
    std::uint64_t wire_octets = 0;     // octets consumed, end marker included
    std::uint64_t message_octets = 0;  // size of the message as decoded, even past the cap
    bool eight_bit = false;            // an octet >= 0x80 occurred (RFC 6152)
    bool nul = false;                  // a NUL octet occurred
    std::uint64_t bare_lf = 0;         // LF not preceded by CR
    std::uint64_t bare_cr = 0;         // CR not followed by LF
    std::size_t longest_line = 0;      // octets on the wire including the line ending
    bool line_too_long = false;        // longest_line > max_line_length
    friend bool operator==(const DataStats&, const DataStats&) = default;
};

enum class DataStatus {
    need_more,         // feed more bytes
    complete,          // the message is in the output; any bytes not consumed are the next command
    too_big,           // the message exceeded max_message_size (552 5.3.4); the output holds
                       // at most its first max_message_size octets: never store it
    bare_line_ending,  // a bare CR or LF under the reject policy; output unusable
};
const char* to_string(DataStatus s);

struct DataFeed {
    std::size_t consumed = 0;  // octets of the chunk used; the rest belongs to the next command
    DataStatus status = DataStatus::need_more;
};

namespace detail {
// Shared by both readers: size cap, statistics, line lengths, CRLF normalization.
class MessageSink {
public:
    MessageSink(std::string& out, const DataLimits& limits) : out_(out), limits_(limits) {}
    void content(std::string_view bytes);  // octets of a line
    void emit(std::string_view bytes);     // into the output, counted, capped
    void count_wire_line(std::size_t n) { line_ += n; }
    void end_line();  // a CRLF (or a bare ending turned into one)
    void bare_cr();
    void bare_lf();
    DataStatus verdict() const;
    bool failed() const;  // an error already certain (cap passed or bare ending under reject)
    DataStats stats;

private:
    std::string& out_;
    DataLimits limits_;
    std::size_t line_ = 0;
    bool too_big_ = false;
};
}  // namespace detail

// DATA: feed the bytes that follow the 354 reply, in any chunking; the result is identical.
class DataReader {
public:
    DataReader(std::string& out, const DataLimits& limits) : sink_(out, limits) {}
    DataFeed feed(std::string_view chunk);
    bool finished() const { return state_ == State::done; }
    DataStatus status() const { return finished() ? sink_.verdict() : DataStatus::need_more; }
    const DataStats& stats() const { return sink_.stats; }

private:
    enum class State { line_start, dot_at_line_start, dot_cr, in_line, cr_pending, done };
    void bare_ending_cr();
    void bare_ending_lf();
    State state_ = State::line_start;  // DATA's own CRLF precedes the first line
    detail::MessageSink sink_;
};

enum class BdatStatus {
    need_more,         // the current chunk is not complete yet
    chunk_done,        // the chunk is consumed (250 for it); wait for the next BDAT
    complete,          // the LAST chunk is consumed and the message is in the output
    too_big,           // the message passed max_message_size (552 5.3.4)
    bare_line_ending,  // a bare CR or LF under the reject policy
};
const char* to_string(BdatStatus s);

struct BdatFeed {
    std::size_t consumed = 0;
    BdatStatus status = BdatStatus::need_more;
};

// BDAT (RFC 3030): call begin_chunk() for each BDAT command, then feed() until the status is
// no longer need_more. A CR ending one chunk pairs with an LF starting the next. An error is
// reported at the end of the chunk in which it became certain, and again for every later
// chunk of the same message (each is still consumed, so the stream stays in step).
class BdatReader {
public:
    BdatReader(std::string& out, const DataLimits& limits) : sink_(out, limits) {}
    void begin_chunk(std::uint64_t size, bool last);
    BdatFeed feed(std::string_view bytes);
    bool in_chunk() const { return in_chunk_; }
    bool finished() const { return finished_; }
    const DataStats& stats() const { return sink_.stats; }

private:
    BdatStatus chunk_end();
    std::uint64_t remaining_ = 0;
    bool last_ = false;
    bool in_chunk_ = false;
    bool finished_ = false;
    bool cr_pending_ = false;
    detail::MessageSink sink_;
};

}  // namespace hikyaku::smtp
