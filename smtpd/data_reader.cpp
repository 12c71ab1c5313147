// data_reader.cpp: see data_reader.h. RFC 5321 2.3.8, 4.1.1.4, 4.5.2, 4.5.3.1.6; RFC 1870;
// RFC 3030.
#include "smtpd/data_reader.h"

#include <algorithm>

namespace hikyaku::smtp {

const char* to_string(DataStatus s) {
    switch (s) {
        case DataStatus::need_more: return "need_more";
        case DataStatus::complete: return "complete";
        case DataStatus::too_big: return "too_big";
        case DataStatus::bare_line_ending: return "bare_line_ending";
    }
    return "?";
}

const char* to_string(BdatStatus s) {
    switch (s) {
        case BdatStatus::need_more: return "need_more";
        case BdatStatus::chunk_done: return "chunk_done";
        case BdatStatus::complete: return "complete";
        case BdatStatus::too_big: return "too_big";
        case BdatStatus::bare_line_ending: return "bare_line_ending";
    }
    return "?";
}

namespace detail {

void MessageSink::emit(std::string_view bytes) {
    stats.message_octets += bytes.size();
    if (too_big_) return;
    if (stats.message_octets > limits_.max_message_size) {
        // Past the cap: keep reading, store nothing more (RFC 1870 6.3: 552 at the end). The
        // part that still fits is kept so the output does not depend on how input was chunked.
        too_big_ = true;
        // A CRLF that does not fit whole is dropped whole, so no bare CR is ever written.
        const auto over = stats.message_octets - limits_.max_message_size;
        auto fits = bytes.substr(0, bytes.size() - static_cast<std::size_t>(over));
        if (!fits.empty() && fits.back() == '\r') fits.remove_suffix(1);
        out_.append(fits);
        return;
    }
    out_.append(bytes);
}

void MessageSink::content(std::string_view bytes) {
    line_ += bytes.size();
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) stats.eight_bit = true;
        if (u == 0) stats.nul = true;
    }
    emit(bytes);
}

void MessageSink::end_line() {
    const std::size_t length = line_ + 2;
    line_ = 0;
    if (length > stats.longest_line) stats.longest_line = length;
    if (length > limits_.max_line_length) stats.line_too_long = true;
    emit("\r\n");
}

void MessageSink::bare_cr() {
    ++stats.bare_cr;
    end_line();
}

void MessageSink::bare_lf() {
    ++stats.bare_lf;
    end_line();
}

bool MessageSink::failed() const {
    return too_big_ || (limits_.bare_line_endings == BareLineEndingPolicy::reject && stats.bare_cr + stats.bare_lf > 0);
}

DataStatus MessageSink::verdict() const {
    // A bare line ending under reject is the smuggling signal: it is reported first.
    if (limits_.bare_line_endings == BareLineEndingPolicy::reject && stats.bare_cr + stats.bare_lf > 0)
        return DataStatus::bare_line_ending;
    if (too_big_) return DataStatus::too_big;
    return DataStatus::complete;
}

}  // namespace detail

void DataReader::bare_ending_cr() { sink_.bare_cr(); }
void DataReader::bare_ending_lf() { sink_.bare_lf(); }

DataFeed DataReader::feed(std::string_view in) {
    if (state_ == State::done) return {0, sink_.verdict()};
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        switch (state_) {
            case State::line_start:
                // Only a line that began after a real CRLF can be the end marker or be stuffed.
                if (c == '.') {
                    sink_.count_wire_line(1);
                    state_ = State::dot_at_line_start;
                    ++i;
                } else {
                    state_ = State::in_line;  // reprocess c
                }
                break;
            case State::dot_at_line_start:
                if (c == '\r') {
                    state_ = State::dot_cr;
                    ++i;
                } else if (c == '\n') {
                    // CRLF "." LF: not the end marker. The dot is data (no other character
                    // follows it on the line), the LF is bare.
                    sink_.emit(".");
                    state_ = State::in_line;  // reprocess the LF as bare
                } else {
                    // RFC 5321 4.5.2: a leading dot followed by other characters is deleted.
                    state_ = State::in_line;  // reprocess c as the line's first octet
                }
                break;
            case State::dot_cr:
                if (c == '\n') {
                    ++i;
                    state_ = State::done;
                    sink_.stats.wire_octets += i;
                    return {i, sink_.verdict()};
                }
                // CRLF "." CR x: the CR is bare, the dot is data.
                sink_.emit(".");
                bare_ending_cr();
                state_ = State::in_line;  // reprocess c
                break;
            case State::in_line: {
                std::size_t j = i;
                while (j < in.size() && in[j] != '\r' && in[j] != '\n') ++j;
                if (j > i) {
                    sink_.content(in.substr(i, j - i));
                    i = j;
                } else if (c == '\r') {
                    state_ = State::cr_pending;
                    ++i;
                } else {
                    bare_ending_lf();  // stays in_line: a bare LF never starts a dot line
                    ++i;
                }
                break;
            }
            case State::cr_pending:
                if (c == '\n') {
                    sink_.end_line();
                    state_ = State::line_start;
                    ++i;
                } else {
                    bare_ending_cr();
                    state_ = State::in_line;  // reprocess c (it may be another CR)
                }
                break;
            case State::done: return {i, sink_.verdict()};
        }
    }
    sink_.stats.wire_octets += i;
    return {i, DataStatus::need_more};
}

void BdatReader::begin_chunk(std::uint64_t size, bool last) {
    remaining_ = size;
    last_ = last;
    in_chunk_ = true;
}

BdatStatus BdatReader::chunk_end() {
    in_chunk_ = false;
    if (last_) {
        // A CR as the very last octet of the message has no LF to pair with.
        if (cr_pending_) {
            cr_pending_ = false;
            sink_.bare_cr();
        }
        finished_ = true;
    }
    if (sink_.failed()) {
        const auto v = sink_.verdict();
        return v == DataStatus::too_big ? BdatStatus::too_big : BdatStatus::bare_line_ending;
    }
    return last_ ? BdatStatus::complete : BdatStatus::chunk_done;
}

BdatFeed BdatReader::feed(std::string_view in) {
    if (!in_chunk_) return {0, BdatStatus::need_more};
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
    std::size_t i = 0;
    while (i < take) {
        const char c = in[i];
        if (cr_pending_) {
            cr_pending_ = false;
            if (c == '\n') {
                sink_.end_line();
                ++i;
                continue;
            }
            sink_.bare_cr();  // reprocess c
            continue;
        }
        if (c == '\r') {
            cr_pending_ = true;
            ++i;
        } else if (c == '\n') {
            sink_.bare_lf();
            ++i;
        } else {
            std::size_t j = i;
            while (j < take && in[j] != '\r' && in[j] != '\n') ++j;
            sink_.content(in.substr(i, j - i));
            i = j;
        }
    }
    remaining_ -= take;
    sink_.stats.wire_octets += take;
    if (remaining_ == 0) return {take, chunk_end()};
    return {take, BdatStatus::need_more};
}

}  // namespace hikyaku::smtp
