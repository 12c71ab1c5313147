// command_reader_test.cpp: the IMAP framer. Every vector is read whole, split at every byte
// and in fixed chunks with identical events (reader_harness). Covers lines (CRLF and bare
// LF), synchronizing, non-synchronizing and binary literals, accepting and refusing them,
// pipelining (nothing read past a command), the recoverable errors (NUL in a line or a
// literal, literal8 outside APPEND, too many literals, tag too long) followed by a working
// command, the fatal ones, every limit at its bound and one past it, a huge literal announced
// and never sent (no memory held for it), and plain lines (DONE, AUTHENTICATE responses).
#include <doctest/doctest.h>

#include <string>

#include "reader_harness.h"

using namespace imap_test;
using namespace std::string_literals;
using Events = std::vector<std::string>;

namespace {
bool reject_all(const LiteralAnnouncement&) { return false; }
}  // namespace

TEST_CASE("lines: CRLF, bare LF, pipelining, empty lines, stray CR kept") {
    auto t = run_all_splits("a1 NOOP\r\na2 CAPABILITY\nA3 LOGOUT\r\n");
    CHECK(t.events == Events{"command a1 NOOP", "command a2 CAPABILITY", "command A3 LOGOUT"});
    CHECK(run_all_splits("\r\n\n").events == Events{"command ", "command "});
    CHECK(run_all_splits("a1 NO\rOP\r\r\n").events == Events{"command a1 NO\\rOP\\r"});
    // A partial command is held, not reported.
    auto partial = run_all_splits("a1 NOOP\r\na2 NO");
    CHECK(partial.events == Events{"command a1 NOOP"});
    CHECK(partial.consumed == 14);
}

TEST_CASE("the reader never reads past the end of a command (STARTTLS pipelining)") {
    CommandReader reader;
    const std::string input = "a1 STARTTLS\r\na2 LOGIN user pass\r\n";
    ReadStep step = reader.read(input);
    REQUIRE(std::holds_alternative<FramedCommand>(step.event));
    CHECK(step.consumed == 13);
    CHECK(reader.at_command_boundary());
    CHECK(reader.held_octets() == 0);
}

TEST_CASE("synchronizing and non-synchronizing literals") {
    auto t = run_all_splits("A1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n");
    CHECK(t.events == Events{"announce tag=A1 verb=LOGIN size=5 index=0",
                             "announce tag=A1 verb=LOGIN size=6 index=1 nonsync",
                             "command A1 LOGIN [alice] [+secret]"});
    // Literals in a header list and a quoted string that only looks like a literal marker.
    t = run_all_splits("a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nFROM)]\r\nb LOGIN \"x {3}\" \"{4}\"\r\n");
    CHECK(t.events == Events{"announce tag=a verb=FETCH size=4 index=0",
                             "command a FETCH 1 BODY[HEADER.FIELDS ([FROM])]", "command b LOGIN \"x {3}\" \"{4}\""});
    // An unterminated quote at the end of the line: no literal (the grammar refuses the line).
    CHECK(run_all_splits("c LOGIN \"a {3}\r\n").events == Events{"command c LOGIN \"a {3}"});
    // Escaped quotes keep the string open.
    CHECK(run_all_splits("c LOGIN \"a\\\" {3}\r\n").events == Events{"command c LOGIN \"a\\\" {3}"});
    // An empty literal, literal bytes that look like commands, CR LF inside a literal.
    t = run_all_splits("d LOGIN {0}\r\n {13}\r\ne NOOP\r\nf X\r\n\r\n");
    CHECK(t.events == Events{"announce tag=d verb=LOGIN size=0 index=0", "announce tag=d verb=LOGIN size=13 index=1",
                             "command d LOGIN [] [e NOOP\\r\\nf X\\r\\n]"});
    // A marker glued to other octets is still a marker (its data must never be read as a command).
    t = run_all_splits("g LOGIN user{3+}\r\nabc\r\n");
    CHECK(t.events == Events{"announce tag=g verb=LOGIN size=3 index=0 nonsync", "command g LOGIN user[+abc]"});
    // Not markers: "{}", "{+}", "{5" at the end, "{5}x".
    CHECK(run_all_splits("h X {}\r\ni X {+}\r\nj X {5\r\nk X {5}x\r\n").events ==
          Events{"command h X {}", "command i X {+}", "command j X {5", "command k X {5}x"});
}

TEST_CASE("APPEND: mailbox argument, message data, literal8, MULTIAPPEND") {
    auto t = run_all_splits("A APPEND INBOX (\\Seen) {11}\r\nHello world\r\n");
    CHECK(t.events == Events{"announce tag=A verb=APPEND size=11 index=0 message mailbox=INBOX",
                             "command A APPEND INBOX (\\Seen) [Hello world]"});
    t = run_all_splits("B append \"Sent Items\" ~{3+}\r\na\0b\r\n"s);
    CHECK(t.events == Events{"announce tag=B verb=APPEND size=3 index=0 nonsync binary message mailbox=Sent Items",
                             "command B append \"Sent Items\" [~+a\\0b]"});
    t = run_all_splits("C APPEND {5}\r\nDraft {2}\r\nhi {3}\r\nbye\r\n");
    CHECK(t.events == Events{"announce tag=C verb=APPEND size=5 index=0",
                             "announce tag=C verb=APPEND size=2 index=1 message mailbox=Draft",
                             "announce tag=C verb=APPEND size=3 index=2 message mailbox=Draft",
                             "command C APPEND [Draft] [hi] [bye]"});
    // UID APPEND is not APPEND: no literal8.
    t = run_all_splits("D UID APPEND x ~{1}\r\nE NOOP\r\n");
    CHECK(t.events == Events{"error literal8_not_allowed tag=D", "command E NOOP"});
}

TEST_CASE("APPEND CATENATE (RFC 4469): TEXT literals are message data, URL literals are not") {
    auto t = run_all_splits("A APPEND INBOX CATENATE (TEXT {2}\r\nhi URL {5}\r\n/x/;1 text ~{0}\r\n)\r\n");
    CHECK(t.events == Events{"announce tag=A verb=APPEND size=2 index=0 message catenate-text mailbox=INBOX",
                             "announce tag=A verb=APPEND size=5 index=1",
                             "announce tag=A verb=APPEND size=0 index=2 binary message catenate-text mailbox=INBOX",
                             "command A APPEND INBOX CATENATE (TEXT [hi] URL [/x/;1] text [~])"});
    // A URL literal has the ordinary literal bound, not the message one.
    ReaderLimits limits;
    limits.max_literal_size = 8;
    limits.max_append_literal_size = 100;
    t = run_all_splits("B APPEND x CATENATE (URL {8}\r\n12345678)\r\n", accept_all, limits);
    CHECK(t.events ==
          Events{"announce tag=B verb=APPEND size=8 index=0", "command B APPEND x CATENATE (URL [12345678])"});
    t = run_all_splits("C APPEND x CATENATE (URL {9}\r\nD NOOP\r\n", accept_all, limits);
    CHECK(t.events == Events{"error literal_too_large tag=C", "command D NOOP"});
    t = run_all_splits("E APPEND x CATENATE (TEXT {100}\r\n" + std::string(100, 'a') + ")\r\n", accept_all, limits);
    CHECK(t.events.front() == "announce tag=E verb=APPEND size=100 index=0 message catenate-text mailbox=x");
    // "URL" or "TEXT" glued to other octets is not the keyword.
    t = run_all_splits("F APPEND x XURL {1}\r\na\r\n");
    CHECK(t.events.front() == "announce tag=F verb=APPEND size=1 index=0 message mailbox=x");
}

TEST_CASE("refusing literals: synchronizing ends the command, non-synchronizing is discarded") {
    auto t = run_all_splits("A APPEND INBOX {100}\r\nB NOOP\r\n", reject_all);
    CHECK(t.events ==
          Events{"announce tag=A verb=APPEND size=100 index=0 message mailbox=INBOX", "rejected", "command B NOOP"});
    // Exactly N octets are read and dropped, whatever they look like; then the rest of the
    // command is skipped silently (the session closes anyway, RFC 7888 4).
    t = run_all_splits("A APPEND INBOX {10+}\r\nC NOOP\r\n\r\n more {3+}\r\nabc\r\nB NOOP\r\n", reject_all);
    CHECK(t.events == Events{"announce tag=A verb=APPEND size=10 index=0 nonsync message mailbox=INBOX", "rejected",
                             "discarded tag=A", "command B NOOP"});
}

TEST_CASE("recoverable errors: the command is dropped whole and the next one works") {
    // NUL in a line (Dovecot CVE-2019-11500 class); the rest of the line is skipped.
    CHECK(run_all_splits("a1 LOGIN \"a\0b\" x\r\na2 NOOP\r\n"s).events ==
          Events{"error nul_in_line tag=a1", "command a2 NOOP"});
    // NUL before the tag ends: untagged.
    CHECK(run_all_splits("a\0 NOOP\r\na2 NOOP\r\n"s).events == Events{"error nul_in_line tag=-", "command a2 NOOP"});
    // NUL in a line followed by a non-synchronizing literal: its data is skipped, not run.
    CHECK(run_all_splits("a1 X \0 {8+}\r\na3 NOOP\r\na2 NOOP\r\n"s).events ==
          Events{"error nul_in_line tag=a1", "command a2 NOOP"});
    // NUL in a literal (not literal8): the rest of the literal and of the command is skipped.
    CHECK(run_all_splits("a1 LOGIN {3}\r\na\0b {2+}\r\nxy\r\na2 NOOP\r\n"s).events ==
          Events{"announce tag=a1 verb=LOGIN size=3 index=0", "error nul_in_literal tag=a1", "command a2 NOOP"});
    // literal8 outside APPEND: refused before "+"; a non-synchronizing one is discarded first.
    CHECK(run_all_splits("a1 LOGIN ~{3}\r\na2 NOOP\r\n").events ==
          Events{"error literal8_not_allowed tag=a1", "command a2 NOOP"});
    CHECK(run_all_splits("a1 LOGIN ~{9+}\r\na3 NOOP\r\n x\r\na2 NOOP\r\n").events ==
          Events{"error literal8_not_allowed tag=a1", "command a2 NOOP"});
    // A literal in a command without a valid tag.
    CHECK(run_all_splits("{3}\r\na2 NOOP\r\n").events == Events{"error invalid_tag tag=-", "command a2 NOOP"});
    CHECK(run_all_splits("a+b LOGIN {3+}\r\nabc\r\na2 NOOP\r\n").events ==
          Events{"error invalid_tag tag=-", "command a2 NOOP"});
}

TEST_CASE("limits: line length at the bound and one past it") {
    ReaderLimits limits;
    limits.max_line_length = 20;
    const std::string at = "a NOOP " + std::string(13, 'x');  // 20 octets
    REQUIRE(at.size() == 20);
    CHECK(run_all_splits(at + "\r\n", accept_all, limits).events == Events{"command " + at});
    CHECK(run_all_splits(at + "\n", accept_all, limits).events == Events{"command " + at});
    CHECK(run_all_splits(at + "y\r\na NOOP\r\n", accept_all, limits).events ==
          Events{"error line_too_long tag=a fatal"});
    CHECK(run_all_splits(at + "y\n", accept_all, limits).events == Events{"error line_too_long tag=a fatal"});
    // The bound is per line: literals do not count, each continuation line is checked.
    const std::string lit = "a LOGIN {40}\r\n" + std::string(40, 'p') + " " + std::string(19, 'q') + "\r\n";
    CHECK(run_all_splits(lit, accept_all, limits).events.back() ==
          "command a LOGIN [" + std::string(40, 'p') + "] " + std::string(19, 'q'));
    const std::string lit_over = "a LOGIN {40}\r\n" + std::string(40, 'p') + " " + std::string(20, 'q') + "\r\n";
    CHECK(run_all_splits(lit_over, accept_all, limits).events.back() == "error line_too_long tag=a fatal");
    // A line being skipped after an error is bounded too.
    CHECK(run_all_splits("a \0"s + std::string(30, 'x') + "\r\n", accept_all, limits).events ==
          Events{"error line_too_long tag=a fatal"});
    // After a fatal error, nothing more is read.
    CommandReader reader(limits);
    const std::string over = at + "yy\r\n";
    ReadStep step = reader.read(over);
    REQUIRE(std::holds_alternative<ReaderError>(step.event));
    CHECK(std::get<ReaderError>(step.event).fatal);
    ReadStep again = reader.read("b NOOP\r\n");
    CHECK(again.consumed == 0);
    CHECK(std::get<ReaderError>(again.event).kind == ReaderErrorKind::line_too_long);
}

TEST_CASE("limits: literal sizes at the bound and one past it") {
    ReaderLimits limits;
    limits.max_literal_size = 8;
    limits.max_append_literal_size = 16;
    limits.max_command_size = 1000;
    const std::string l8 = "a LOGIN {8}\r\n12345678\r\n";
    CHECK(run_all_splits(l8, accept_all, limits).events.back() == "command a LOGIN [12345678]");
    CHECK(run_all_splits("a LOGIN {9}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a", "command b NOOP"});
    CHECK(run_all_splits("a LOGIN {9+}\r\n123456789\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a fatal"});
    // APPEND's message data has its own bound; its mailbox literal has the small one.
    CHECK(run_all_splits("a APPEND x {16}\r\n" + std::string(16, 'm') + "\r\n", accept_all, limits).events.back() ==
          "command a APPEND x [" + std::string(16, 'm') + "]");
    CHECK(run_all_splits("a APPEND x {17}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a message", "command b NOOP"});
    CHECK(run_all_splits("a APPEND x {17+}\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a fatal message"});
    CHECK(run_all_splits("a APPEND {9}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a", "command b NOOP"});
    // Sizes beyond 64 bits saturate; never wrap to a small number.
    CHECK(run_all_splits("a LOGIN {184467440737095516170}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a", "command b NOOP"});
    CHECK(run_all_splits("a LOGIN {18446744073709551616+}\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a fatal"});
}

TEST_CASE("limits: whole command size at the bound and one past it") {
    ReaderLimits limits;
    limits.max_command_size = 30;  // "a LOGIN {4}\r\n" 13 + "abcd" 4 + " {4}\r\n" 6 + "wxyz" 4 + "\r\n" 2 = 29
    const std::string ok = "a LOGIN {4}\r\nabcd {4}\r\nwxyz\r\n";
    REQUIRE(ok.size() == 29);
    CHECK(run_all_splits(ok, accept_all, limits).events.back() == "command a LOGIN [abcd] [wxyz]");
    limits.max_command_size = 28;
    CHECK(run_all_splits(ok, accept_all, limits).events.back() == "error command_too_long tag=a fatal");
    // A literal that would pass the bound is refused when announced.
    limits.max_command_size = 20;
    CHECK(run_all_splits("a LOGIN {8}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error literal_too_large tag=a", "command b NOOP"});
}

TEST_CASE("limits: literals per command and tag length at the bound and one past it") {
    ReaderLimits limits;
    limits.max_literals = 2;
    CHECK(run_all_splits("a LOGIN {1}\r\nx {1}\r\ny\r\n", accept_all, limits).events.back() ==
          "command a LOGIN [x] [y]");
    CHECK(run_all_splits("a X {1}\r\nx {1}\r\ny {1}\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"announce tag=a verb=X size=1 index=0", "announce tag=a verb=X size=1 index=1",
                 "error too_many_literals tag=a", "command b NOOP"});
    CHECK(run_all_splits("a X {1}\r\nx {1}\r\ny {1+}\r\nz\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"announce tag=a verb=X size=1 index=0", "announce tag=a verb=X size=1 index=1",
                 "error too_many_literals tag=a", "command b NOOP"});
    limits = {};
    limits.max_tag_length = 4;
    CHECK(run_all_splits("abcd NOOP\r\n", accept_all, limits).events == Events{"command abcd NOOP"});
    CHECK(run_all_splits("abcde NOOP\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error tag_too_long tag=-", "command b NOOP"});
    CHECK(run_all_splits("abcde LOGIN {2+}\r\nxy\r\nb NOOP\r\n", accept_all, limits).events ==
          Events{"error tag_too_long tag=-", "command b NOOP"});
    // A line too long from its first octets: no tag yet, however the octets arrive.
    limits.max_line_length = 3;
    CHECK(run_all_splits("abcdef NOOP\r\n", accept_all, limits).events == Events{"error line_too_long tag=- fatal"});
    CHECK(run_all_splits("a NOOP\r\n", accept_all, limits).events == Events{"error line_too_long tag=a fatal"});
}

TEST_CASE("a huge literal announced and never sent holds no memory (CVE-2024-34055 class)") {
    ReaderLimits limits;
    limits.max_append_literal_size = 4ull << 30;
    limits.max_command_size = 5ull << 30;
    const std::string input = "a APPEND INBOX {4000000000}\r\n" + std::string(1000, 'x');
    auto t = run_all_splits(input, accept_all, limits);
    CHECK(t.events == Events{"announce tag=a verb=APPEND size=4000000000 index=0 message mailbox=INBOX"});
    CHECK(t.consumed == input.size());
    CHECK(t.max_held < 64 * 1024);
}

TEST_CASE("the announcement repeats until the session decides") {
    CommandReader reader;
    ReadStep s1 = reader.read("a LOGIN {3}\r\nabc\r\n");
    REQUIRE(std::holds_alternative<LiteralAnnouncement>(s1.event));
    CHECK(s1.consumed == 13);
    ReadStep s2 = reader.read("abc\r\n");
    CHECK(s2.consumed == 0);
    CHECK(std::get<LiteralAnnouncement>(s2.event).size == 3);
    reader.accept_literal();
    ReadStep s3 = reader.read("abc\r\n");
    CHECK(s3.consumed == 5);
    CHECK(std::holds_alternative<FramedCommand>(s3.event));
}

TEST_CASE("plain lines: DONE and AUTHENTICATE responses") {
    CommandReader reader;
    LineStep l = reader.read_line("DONE\r\na NOOP\r\n");
    CHECK(l.consumed == 6);
    CHECK(std::get<std::string>(l.event) == "DONE");
    // Split lines, bare LF, literal markers mean nothing here.
    CHECK(std::holds_alternative<NeedMore>(reader.read_line("dGVzd").event));
    l = reader.read_line("A= {5}\n");
    CHECK(std::get<std::string>(l.event) == "dGVzdA= {5}");
    // NUL: reported after the line end, recoverable.
    l = reader.read_line("a\0b\r\nDONE\r\n"s);
    CHECK(l.consumed == 5);
    CHECK(std::get<ReaderError>(l.event).kind == ReaderErrorKind::nul_in_line);
    CHECK_FALSE(std::get<ReaderError>(l.event).fatal);
    CHECK(std::get<std::string>(reader.read_line("DONE\r\n").event) == "DONE");
    // The line bound, at and past it.
    ReaderLimits limits;
    limits.max_line_length = 4;
    CommandReader small(limits);
    CHECK(std::get<std::string>(small.read_line("DONE\r\n").event) == "DONE");
    CHECK(std::get<ReaderError>(small.read_line("DONE!\r\n").event).kind == ReaderErrorKind::line_too_long);
    // A plain line inside a command is a misuse.
    CommandReader mid;
    CHECK(std::holds_alternative<NeedMore>(mid.read("a NO").event));
    CHECK(std::get<ReaderError>(mid.read_line("DONE\r\n").event).kind == ReaderErrorKind::misuse);
}
