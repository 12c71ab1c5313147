// command_reader.cpp: see command_reader.h. RFC 9051 2.2.1, 4.3, 7.5; RFC 7888 4; RFC 3516 4.2.
#include "imapd/command_reader.h"

#include <algorithm>
#include <limits>

namespace hikyaku::imap {
namespace {

constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `line` (a literal marker already removed) ends with SP or "(", `keyword` (any case), SP.
bool ends_with_keyword(std::string_view line, std::string_view keyword) {
    if (line.size() < keyword.size() + 2 || line.back() != ' ') return false;
    const std::string_view word = line.substr(line.size() - 1 - keyword.size(), keyword.size());
    const char before = line[line.size() - keyword.size() - 2];
    return iequals(word, keyword) && (before == ' ' || before == '(');
}

}  // namespace

const char* to_string(ReaderErrorKind kind) {
    switch (kind) {
        case ReaderErrorKind::line_too_long: return "line_too_long";
        case ReaderErrorKind::command_too_long: return "command_too_long";
        case ReaderErrorKind::tag_too_long: return "tag_too_long";
        case ReaderErrorKind::invalid_tag: return "invalid_tag";
        case ReaderErrorKind::nul_in_line: return "nul_in_line";
        case ReaderErrorKind::nul_in_literal: return "nul_in_literal";
        case ReaderErrorKind::literal8_not_allowed: return "literal8_not_allowed";
        case ReaderErrorKind::too_many_literals: return "too_many_literals";
        case ReaderErrorKind::literal_too_large: return "literal_too_large";
        case ReaderErrorKind::misuse: return "misuse";
    }
    return "?";
}

void CommandReader::LineScanner::feed(char c) {
    if (in_quote) {
        marker = Marker::none;
        if (escape) escape = false;
        else if (c == '\\') escape = true;
        else if (c == '"') in_quote = false;
        prev = c;
        return;
    }
    if (marker == Marker::closed && c == '\r') {
        marker = Marker::closed_cr;
        ++marker_length;
        prev = c;
        return;
    }
    if (c == '{') {
        // "~{": literal8. The "~" was outside a quote, or this "{" would be inside one.
        binary = prev == '~';
        synchronizing = true;
        size = 0;
        marker_length = binary ? 2 : 1;
        marker = Marker::open;
    } else if (is_digit(c) && (marker == Marker::open || marker == Marker::digits)) {
        const unsigned digit = static_cast<unsigned>(c - '0');
        size = size > (kSaturated - digit) / 10 ? kSaturated : size * 10 + digit;
        ++marker_length;
        marker = Marker::digits;
    } else if (c == '+' && marker == Marker::digits) {
        synchronizing = false;
        ++marker_length;
        marker = Marker::plus;
    } else if (c == '}' && (marker == Marker::digits || marker == Marker::plus)) {
        ++marker_length;
        marker = Marker::closed;
    } else {
        marker = Marker::none;
        if (c == '"') in_quote = true;
    }
    prev = c;
}

bool CommandReader::at_command_boundary() const {
    return phase_ == Phase::line && !plain_line_ && command_octets_ == 0;
}

std::size_t CommandReader::held_octets() const {
    std::size_t n = 0;
    // Heap memory only: an empty string's inline buffer costs nothing more.
    const std::size_t inline_capacity = std::string().capacity();
    auto heap = [&](const std::string& s) { return s.capacity() > inline_capacity ? s.capacity() : 0; };
    for (const std::string& line : command_.lines) n += heap(line);
    for (const Literal& literal : command_.literals) n += heap(literal.data);
    return n;
}

void CommandReader::reset() {
    phase_ = Phase::line;
    command_ = FramedCommand{};
    scanner_ = LineScanner{};
    command_octets_ = 0;
    line_octets_ = 0;
    last_was_cr_ = false;
    literal_remaining_ = 0;
    pending_error_.reset();
    tag_.clear();
    verb_.clear();
    uid_ = false;
    command_started_ = false;
    args_offset_ = 0;
}

std::uint64_t CommandReader::room() const {
    return limits_.max_command_size - std::min(limits_.max_command_size, command_octets_);
}

std::size_t CommandReader::line_room() const {
    const std::size_t bound = limits_.max_line_length + 1;
    return line_octets_ >= bound ? 0 : bound - line_octets_;
}

std::uint64_t CommandReader::literal_cap(bool message_data) const {
    return message_data ? limits_.max_append_literal_size : limits_.max_literal_size;
}

std::optional<std::string> CommandReader::known_tag() const {
    if (command_started_) {
        if (tag_.empty()) return std::nullopt;
        return tag_;
    }
    // Still in the first line: the tag is known once a space ends it.
    const std::string& first = command_.lines.front();
    const std::size_t sp = first.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    const std::string_view tag = std::string_view(first).substr(0, sp);
    if (tag.empty() || tag.size() > limits_.max_tag_length || !std::all_of(tag.begin(), tag.end(), is_tag_char))
        return std::nullopt;
    return std::string(tag);
}

void CommandReader::parse_command_start() {
    command_started_ = true;
    const std::string_view first = command_.lines.front();
    std::size_t pos = first.find(' ');
    const std::string_view tag = first.substr(0, pos);
    if (!tag.empty() && tag.size() <= limits_.max_tag_length && std::all_of(tag.begin(), tag.end(), is_tag_char))
        tag_ = std::string(tag);
    auto word = [&]() -> std::string_view {
        if (pos == std::string_view::npos || pos >= first.size()) return {};
        const std::size_t start = pos + 1;
        std::size_t end = start;
        while (end < first.size() && is_atom_char(first[end])) ++end;
        pos = end < first.size() && first[end] == ' ' ? end : std::string_view::npos;
        args_offset_ = pos == std::string_view::npos ? first.size() : pos + 1;
        return first.substr(start, end - start);
    };
    verb_ = ascii_upper(word());
    if (verb_ == "UID") {
        uid_ = true;
        verb_ = ascii_upper(word());
    }
}

ReadStep CommandReader::fail(std::size_t consumed, ReaderErrorKind kind, std::string text, bool fatal) {
    ReaderError error{known_tag(), kind, fatal, std::move(text)};
    if (fatal) {
        phase_ = Phase::fatal;
        fatal_error_ = error;
    } else {
        reset();
    }
    return {consumed, error};
}

void CommandReader::start_skip(std::optional<ReaderError> error) {
    pending_error_ = std::move(error);
    phase_ = Phase::skip_line;
}

ReadStep CommandReader::read(std::string_view input) {
    if (plain_line_) return fail(0, ReaderErrorKind::misuse, "Command read inside a plain line", true);
    std::size_t total = 0;
    while (true) {
        const std::string_view rest = input.substr(total);
        ReadStep step;
        switch (phase_) {
            case Phase::line: step = read_command_line(rest); break;
            case Phase::literal: step = read_literal(rest); break;
            case Phase::announced: step = {0, announcement_}; break;
            case Phase::skip_line: step = skip_line(rest); break;
            case Phase::skip_literal:
            case Phase::discard_rejected: step = skip_literal(rest); break;
            case Phase::fatal: step = {0, *fatal_error_}; break;
        }
        total += step.consumed;
        if (!std::holds_alternative<NeedMore>(step.event) || total >= input.size()) {
            step.consumed = total;
            return step;
        }
    }
}

ReadStep CommandReader::read_command_line(std::string_view input) {
    std::string& line = command_.lines.back();
    const std::size_t lf = input.find('\n');
    const std::string_view chunk = input.substr(0, lf);
    const std::size_t nul = chunk.find('\0');
    const std::string_view text = chunk.substr(0, nul);
    // One octet of slack for the CR of a CRLF; end_of_line() checks the exact length. What
    // fits is kept first, so the tag in the error does not depend on how the octets arrived,
    // and a fatal error consumes up to the first octet past the bound, however they arrived.
    const std::size_t line_room = this->line_room();
    if (text.size() > line_room) {
        line.append(text.substr(0, line_room));
        return fail(line_room + 1, ReaderErrorKind::line_too_long, "Command line too long", true);
    }
    if (text.size() > room()) return fail(room() + 1, ReaderErrorKind::command_too_long, "Command too long", true);
    command_octets_ += text.size();
    for (char c : text) scanner_.feed(c);
    line.append(text);
    line_octets_ += text.size();
    if (!text.empty()) last_was_cr_ = text.back() == '\r';
    if (nul != std::string_view::npos) {
        if (this->line_room() == 0) return fail(nul + 1, ReaderErrorKind::line_too_long, "Command line too long", true);
        if (room() == 0) return fail(nul + 1, ReaderErrorKind::command_too_long, "Command too long", true);
        ++command_octets_;
        ++line_octets_;
        start_skip(ReaderError{known_tag(), ReaderErrorKind::nul_in_line, false, "NUL octet in command line"});
        return {nul + 1, NeedMore{}};
    }
    if (lf == std::string_view::npos) return {input.size(), NeedMore{}};
    if (room() == 0) return fail(lf + 1, ReaderErrorKind::command_too_long, "Command too long", true);
    ++command_octets_;
    return end_of_line(lf + 1);
}

ReadStep CommandReader::end_of_line(std::size_t consumed) {
    std::string& line = command_.lines.back();
    if (scanner_.has_marker()) line.resize(line.size() - std::min(line.size(), scanner_.marker_length));
    else if (last_was_cr_ && !line.empty()) line.pop_back();
    if (line_octets_ - (last_was_cr_ ? 1 : 0) > limits_.max_line_length)
        return fail(consumed, ReaderErrorKind::line_too_long, "Command line too long", true);
    line_octets_ = 0;
    if (command_.literals.empty()) {
        parse_command_start();
        const std::string_view first = command_.lines.front();
        if (first.substr(0, first.find(' ')).size() > limits_.max_tag_length) {
            pending_error_ = ReaderError{std::nullopt, ReaderErrorKind::tag_too_long, false, "Tag too long"};
            return after_skipped_line(consumed);
        }
    }
    if (!scanner_.has_marker()) {
        ReadStep step{consumed, std::move(command_)};
        reset();
        return step;
    }
    return announce(consumed);
}

ReadStep CommandReader::announce(std::size_t consumed) {
    const std::uint64_t size = scanner_.size;
    const bool synchronizing = scanner_.synchronizing, binary = scanner_.binary;
    const std::size_t index = command_.literals.size();
    // APPEND's first argument is the mailbox; a literal there is a name, not message data.
    const bool mailbox_literal = is_append() && index == 0 && command_.lines.front().size() == args_offset_;
    // RFC 4469 5: in CATENATE, "TEXT" literal is message data, "URL" astring is not.
    const bool after_url = is_append() && !mailbox_literal && ends_with_keyword(command_.lines.back(), "URL");
    const bool message_data = is_append() && !mailbox_literal && !after_url;
    const bool catenate_text = message_data && ends_with_keyword(command_.lines.back(), "TEXT");

    std::optional<ReaderErrorKind> refusal;
    std::string text;
    if (tag_.empty()) {
        refusal = ReaderErrorKind::invalid_tag;
        text = "Literal in a command without a valid tag";
    } else if (binary && !is_append()) {
        refusal = ReaderErrorKind::literal8_not_allowed;
        text = "literal8 is only allowed for APPEND message data";
    } else if (index >= limits_.max_literals) {
        refusal = ReaderErrorKind::too_many_literals;
        text = "Too many literals in one command";
    } else if (size > literal_cap(message_data) || size > room()) {
        refusal = ReaderErrorKind::literal_too_large;
        text = message_data ? "Message too large" : "Literal too large";
    }
    if (refusal) {
        // A synchronizing literal was never sent: the command ends here. A non-synchronizing
        // one is on its way and must be read and dropped, or the connection closed.
        const bool too_large = *refusal == ReaderErrorKind::literal_too_large;
        ReadStep step;
        if (synchronizing) step = fail(consumed, *refusal, text, false);
        else if (too_large || size > literal_cap(is_append()))
            step = fail(consumed, ReaderErrorKind::literal_too_large, too_large ? text : "Literal too large", true);
        if (auto* error = std::get_if<ReaderError>(&step.event)) {
            error->message_data = too_large && message_data;
            if (error->fatal) fatal_error_ = *error;
            return step;
        }
        pending_error_ = ReaderError{known_tag(), *refusal, false, text};
        phase_ = Phase::skip_literal;
        literal_remaining_ = size;
        return {consumed, NeedMore{}};
    }

    announcement_ = LiteralAnnouncement{};
    announcement_.tag = tag_;
    announcement_.verb = verb_;
    announcement_.uid = uid_;
    announcement_.size = size;
    announcement_.synchronizing = synchronizing;
    announcement_.binary = binary;
    announcement_.message_data = message_data;
    announcement_.catenate_text = catenate_text;
    announcement_.index = index;
    if (message_data) {
        if (command_.lines.front().size() == args_offset_ && !command_.literals.empty()) {
            announcement_.mailbox = command_.literals.front().data;
        } else {
            FramedCommand head;
            head.lines.front() = command_.lines.front().substr(args_offset_);
            Lexer lexer(head);
            if (!lexer.at_literal()) {
                auto name = lexer.astring();
                if (name && (lexer.peek() == ' ' || lexer.at_end())) announcement_.mailbox = std::move(*name);
            }
        }
    }
    phase_ = Phase::announced;
    return {consumed, announcement_};
}

void CommandReader::accept_literal() {
    if (phase_ != Phase::announced) return;
    command_.literals.push_back(Literal{std::string(), announcement_.binary, announcement_.synchronizing});
    command_.lines.emplace_back();
    literal_remaining_ = announcement_.size;
    phase_ = Phase::literal;
    if (literal_remaining_ == 0) start_line_after_literal();
}

void CommandReader::start_line_after_literal() {
    phase_ = Phase::line;
    scanner_ = LineScanner{};
    line_octets_ = 0;
    last_was_cr_ = false;
}

void CommandReader::reject_literal() {
    if (phase_ != Phase::announced) return;
    if (announcement_.synchronizing) {
        reset();
        return;
    }
    pending_error_.reset();
    literal_remaining_ = announcement_.size;
    phase_ = Phase::discard_rejected;
}

ReadStep CommandReader::read_literal(std::string_view input) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(literal_remaining_, input.size()));
    Literal& literal = command_.literals.back();
    std::string_view chunk = input.substr(0, n);
    if (!literal.binary) {
        const std::size_t nul = chunk.find('\0');
        if (nul != std::string_view::npos) {
            if (nul + 1 > room()) return fail(room() + 1, ReaderErrorKind::command_too_long, "Command too long", true);
            command_octets_ += nul + 1;
            literal_remaining_ -= nul + 1;
            pending_error_ = ReaderError{known_tag(), ReaderErrorKind::nul_in_literal, false,
                                         "NUL octet in literal (binary data needs literal8)"};
            phase_ = Phase::skip_literal;
            return {nul + 1, NeedMore{}};
        }
    }
    if (n > room()) return fail(room() + 1, ReaderErrorKind::command_too_long, "Command too long", true);
    command_octets_ += n;
    literal.data.append(chunk);
    literal_remaining_ -= n;
    if (literal_remaining_ == 0) start_line_after_literal();
    return {n, NeedMore{}};
}

ReadStep CommandReader::skip_literal(std::string_view input) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(literal_remaining_, input.size()));
    if (n > room()) return fail(room() + 1, ReaderErrorKind::command_too_long, "Command too long", true);
    command_octets_ += n;
    literal_remaining_ -= n;
    if (literal_remaining_ > 0) return {n, NeedMore{}};
    const bool rejected = phase_ == Phase::discard_rejected;
    start_line_after_literal();
    phase_ = Phase::skip_line;
    if (rejected) return {n, LiteralDiscarded{announcement_.tag}};
    return {n, NeedMore{}};
}

ReadStep CommandReader::skip_line(std::string_view input) {
    const std::size_t lf = input.find('\n');
    const std::string_view chunk = input.substr(0, lf);
    if (chunk.size() > line_room())
        return fail(line_room() + 1, ReaderErrorKind::line_too_long, "Command line too long", true);
    const std::size_t octets = chunk.size() + (lf == std::string_view::npos ? 0 : 1);
    if (octets > room()) return fail(room() + 1, ReaderErrorKind::command_too_long, "Command too long", true);
    command_octets_ += octets;
    for (char c : chunk) scanner_.feed(c);
    line_octets_ += chunk.size();
    if (lf == std::string_view::npos) return {input.size(), NeedMore{}};
    line_octets_ = 0;
    last_was_cr_ = false;
    return after_skipped_line(lf + 1);
}

ReadStep CommandReader::after_skipped_line(std::size_t consumed) {
    if (scanner_.has_marker() && !scanner_.synchronizing) {
        // The client sends this literal without waiting: read it and drop it.
        if (scanner_.size > literal_cap(is_append()))
            return fail(consumed, ReaderErrorKind::literal_too_large, "Literal too large", true);
        phase_ = Phase::skip_literal;
        literal_remaining_ = scanner_.size;
        return {consumed, NeedMore{}};
    }
    // No literal follows, or a synchronizing one the client will not send without "+".
    std::optional<ReaderError> error = std::move(pending_error_);
    reset();
    if (error) return {consumed, *error};
    return {consumed, NeedMore{}};
}

LineStep CommandReader::read_line(std::string_view input) {
    if (phase_ == Phase::fatal) return {0, *fatal_error_};
    if (!plain_line_) {
        if (!at_command_boundary()) {
            phase_ = Phase::fatal;
            fatal_error_ = ReaderError{known_tag(), ReaderErrorKind::misuse, true, "Line read inside a command"};
            return {0, *fatal_error_};
        }
        plain_line_ = true;
    }
    std::string& line = command_.lines.front();
    const std::size_t lf = input.find('\n');
    const std::string_view chunk = input.substr(0, lf);
    if (line_octets_ + chunk.size() > limits_.max_line_length + 1) {
        phase_ = Phase::fatal;
        fatal_error_ = ReaderError{std::nullopt, ReaderErrorKind::line_too_long, true, "Line too long"};
        return {chunk.size(), *fatal_error_};
    }
    line_octets_ += chunk.size();
    if (!chunk.empty()) last_was_cr_ = chunk.back() == '\r';
    if (!pending_error_) {
        const std::size_t nul = chunk.find('\0');
        if (nul != std::string_view::npos)
            pending_error_ = ReaderError{std::nullopt, ReaderErrorKind::nul_in_line, false, "NUL octet in line"};
        else line.append(chunk);
    }
    if (lf == std::string_view::npos) return {input.size(), NeedMore{}};
    if (last_was_cr_ && !line.empty()) line.pop_back();
    const bool too_long = line_octets_ - (last_was_cr_ ? 1 : 0) > limits_.max_line_length;
    std::optional<ReaderError> error = std::move(pending_error_);
    std::string out = std::move(line);
    plain_line_ = false;
    reset();
    if (too_long) {
        phase_ = Phase::fatal;
        fatal_error_ = ReaderError{std::nullopt, ReaderErrorKind::line_too_long, true, "Line too long"};
        return {lf + 1, *fatal_error_};
    }
    if (error) return {lf + 1, *error};
    return {lf + 1, std::move(out)};
}

}  // namespace hikyaku::imap
