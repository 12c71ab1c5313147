// command_reader.h: the incremental IMAP command framer (STYLE 3). Fed the bytes of a
// connection as they arrive, split anywhere, it assembles one command at a time: its lines
// and its literals ("{N}", "{N+}", "~{N}"), and says when the session must act.
//
// RFC 9051 2.2.1 (a command is lines and literals; the server sends "+" before the client
// sends a synchronizing literal's data), 4.3 (literals), 7.5 (command continuation request);
// RFC 7888 (LITERAL+ "{N+}": data follows at once; a refused one is read and discarded, then
// the connection is closed, 4); RFC 3516 4.2 (literal8 "~{N}", only as APPEND message data,
// the one literal that may hold NUL); RFC 4469 5 (CATENATE: a "TEXT" literal is message data,
// a "URL" literal an ordinary one, max_literal_size).
//
// Events (ReadStep::event):
//   NeedMore             all input consumed; feed more.
//   LiteralAnnouncement  a literal is announced; nothing of it has been read. The session
//                        decides (APPENDLIMIT, quota) and calls accept_literal() (sending "+"
//                        first for a synchronizing one) or reject_literal() (after its tagged
//                        NO). Until then read() repeats the announcement and consumes nothing.
//   FramedCommand        one whole command; the bytes after it are the next command (or,
//                        after STARTTLS, plaintext to discard: the reader never reads ahead).
//   LiteralDiscarded     a rejected non-synchronizing literal has been read and dropped; the
//                        session closes (RFC 7888 4). If it goes on instead, the rest of that
//                        command is skipped silently.
//   ReaderError          recoverable: the command was dropped whole (its remaining lines and
//                        non-synchronizing literals skipped), the session answers BAD (or NO
//                        [TOOBIG] for APPEND message data too large) with the tag if known, and the reader
//                        is at the start of the next command. Fatal: the session answers
//                        (BYE) and closes; read() repeats the error and consumes nothing.
//
// Lines end at CRLF or at a bare LF (as Dovecot); a CR elsewhere stays in the line for the
// grammar to refuse. A literal marker is "{digits}" or "{digits+}" (with "~" before it for
// literal8) at the very end of a line, outside a quoted string, whatever precedes it, so the
// data of a non-synchronizing literal is never read as a command (command injection), even
// in a command being skipped.
//
// Must never: allocate for a literal before its bytes arrive (nothing is reserved from an
// announced size: Cyrus CVE-2024-34055 class); accept a NUL in a line or in a non-binary
// literal (Dovecot CVE-2019-11500 class); buffer more than max_line_length octets of a line
// or hold more than max_command_size octets of one command; read past the end of a command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "imapd/imap_lexer.h"

namespace hikyaku::imap {

// Octets of one line, literals and line end excluded (Dovecot's imap_max_line_length).
inline constexpr std::size_t kMaxLineLength = 64 * 1024;
// Octets of APPEND message data; the session sets the store's message size limit.
inline constexpr std::uint64_t kMaxAppendLiteralSize = 50ull << 20;
// Octets of any other literal (a mailbox name, a password, a search string).
inline constexpr std::uint64_t kMaxLiteralSize = 64 * 1024;
// Octets of one whole command: lines, line ends and literal data, skipped octets included.
inline constexpr std::uint64_t kMaxCommandSize = kMaxAppendLiteralSize + (1ull << 20);
// Octets of a tag.
inline constexpr std::size_t kMaxTagLength = 64;
// Literals in one command.
inline constexpr std::size_t kMaxLiteralsPerCommand = 64;

struct ReaderLimits {
    std::size_t max_line_length = kMaxLineLength;
    std::uint64_t max_append_literal_size = kMaxAppendLiteralSize;
    std::uint64_t max_literal_size = kMaxLiteralSize;
    // Keep it above max_append_literal_size plus a line, or large APPENDs fail as too large.
    std::uint64_t max_command_size = kMaxCommandSize;
    std::size_t max_tag_length = kMaxTagLength;
    std::size_t max_literals = kMaxLiteralsPerCommand;
};

struct NeedMore {
    bool operator==(const NeedMore&) const = default;
};

struct LiteralAnnouncement {
    std::string tag;
    std::string verb;  // upper case, as sent ("APPEND", "LOGIN", "FETCH"; may be unknown)
    bool uid = false;  // the verb followed "UID"
    std::uint64_t size = 0;
    bool synchronizing = true;
    bool binary = false;        // literal8
    bool message_data = false;  // APPEND message data: max_append_literal_size applies
    // A CATENATE "TEXT" part (RFC 4469 5): message data that may be empty, the whole message
    // being checked once assembled. A CATENATE "URL" literal is not message data.
    bool catenate_text = false;
    // APPEND: the mailbox argument as sent (an astring's content, not yet decoded from
    // modified UTF-7), when it precedes this literal.
    std::optional<std::string> mailbox;
    std::size_t index = 0;  // of this literal in the command, from 0
    bool operator==(const LiteralAnnouncement&) const = default;
};

struct LiteralDiscarded {
    std::string tag;
    bool operator==(const LiteralDiscarded&) const = default;
};

enum class ReaderErrorKind {
    line_too_long,         // fatal: a line over max_line_length
    command_too_long,      // fatal: a command over max_command_size
    tag_too_long,          // recoverable: a tag over max_tag_length (the reply is untagged)
    invalid_tag,           // recoverable: a literal in a command without a valid tag (untagged)
    nul_in_line,           // recoverable
    nul_in_literal,        // recoverable (a non-binary literal)
    literal8_not_allowed,  // recoverable: "~{N}" outside APPEND
    too_many_literals,     // recoverable: more than max_literals
    literal_too_large,     // recoverable for a synchronizing literal, fatal for a
                           // non-synchronizing one (RFC 7888 4: it cannot be refused unread)
    misuse,                // fatal: read_line() inside a command, or read() inside a line
};
const char* to_string(ReaderErrorKind kind);

struct ReaderError {
    std::optional<std::string> tag;  // when the command's tag was read and valid
    ReaderErrorKind kind = ReaderErrorKind::nul_in_line;
    bool fatal = false;
    std::string text;           // for the BAD/NO/BYE text
    bool message_data = false;  // literal_too_large: APPEND message data (NO [TOOBIG])
    bool operator==(const ReaderError&) const = default;
};

using ReaderEvent = std::variant<NeedMore, LiteralAnnouncement, FramedCommand, LiteralDiscarded, ReaderError>;

struct ReadStep {
    std::size_t consumed = 0;  // octets of the input used; the caller keeps the rest
    ReaderEvent event;
};

// A plain line (IDLE's "DONE", an AUTHENTICATE response): no literals.
using LineEvent = std::variant<NeedMore, std::string, ReaderError>;
struct LineStep {
    std::size_t consumed = 0;
    LineEvent event;
};

class CommandReader {
public:
    explicit CommandReader(const ReaderLimits& limits = {}) : limits_(limits) {}

    // Limits may change between commands (after login, APPENDLIMIT from the store).
    void set_limits(const ReaderLimits& limits) { limits_ = limits; }
    const ReaderLimits& limits() const { return limits_; }

    ReadStep read(std::string_view input);
    void accept_literal();
    void reject_literal();

    // Reads one plain line (line end removed), at a command boundary only. NUL is a
    // recoverable error (reported after the line end), a line over max_line_length fatal.
    LineStep read_line(std::string_view input);

    // No partial command or line is held.
    bool at_command_boundary() const;
    // Octets of memory the partial command holds (buffers' capacity): grows with the bytes
    // that arrived, never with an announced literal size.
    std::size_t held_octets() const;

private:
    enum class Phase { line, literal, announced, skip_line, skip_literal, discard_rejected, fatal };

    // Tracks quoting and a literal marker at the end of the line, octet by octet.
    struct LineScanner {
        enum class Marker { none, open, digits, plus, closed, closed_cr };
        bool in_quote = false;
        bool escape = false;
        char prev = '\0';
        Marker marker = Marker::none;
        bool binary = false;
        bool synchronizing = true;
        std::uint64_t size = 0;
        std::size_t marker_length = 0;  // octets of "~{N+}" so far
        void feed(char c);
        bool has_marker() const { return marker == Marker::closed || marker == Marker::closed_cr; }
    };

    ReadStep read_command_line(std::string_view input);
    ReadStep read_literal(std::string_view input);
    ReadStep skip_line(std::string_view input);
    ReadStep skip_literal(std::string_view input);
    ReadStep end_of_line(std::size_t consumed);
    ReadStep announce(std::size_t consumed);
    ReadStep fail(std::size_t consumed, ReaderErrorKind kind, std::string text, bool fatal);
    // Starts skipping the rest of the command; `error` is reported when the skip ends.
    void start_skip(std::optional<ReaderError> error);
    // After a line's end in skip mode: the trailing literal, if any, decides what follows.
    ReadStep after_skipped_line(std::size_t consumed);
    std::uint64_t room() const;     // octets the command may still grow by
    std::size_t line_room() const;  // octets the line may still grow by (its CR included)
    std::optional<std::string> known_tag() const;
    void parse_command_start();
    std::uint64_t literal_cap(bool message_data) const;
    bool is_append() const { return verb_ == "APPEND" && !uid_; }
    void start_line_after_literal();
    void reset();

    ReaderLimits limits_;
    Phase phase_ = Phase::line;
    FramedCommand command_;
    LineScanner scanner_;
    std::uint64_t command_octets_ = 0;
    std::size_t line_octets_ = 0;  // octets of the current line so far (line end included)
    bool last_was_cr_ = false;     // the last octet of the current line so far was CR
    std::size_t args_offset_ = 0;  // where the verb's arguments start in the first line
    std::uint64_t literal_remaining_ = 0;
    std::optional<ReaderError> pending_error_;  // reported when a skip ends
    std::optional<ReaderError> fatal_error_;
    LiteralAnnouncement announcement_;
    std::string tag_, verb_;
    bool uid_ = false;
    bool command_started_ = false;  // tag and verb parsed from the first line
    bool plain_line_ = false;       // read_line() is assembling a line
};

}  // namespace hikyaku::imap
