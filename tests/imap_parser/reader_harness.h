// reader_harness.h: drives a CommandReader over input split in every way the tests need (whole,
// at every byte offset, in fixed chunk sizes) and describes what it reported, so a test can
// compare the splits with one another and with the expected events (STYLE 14).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "imapd/command_reader.h"

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v) {
        std::string out = "{";
        for (const std::string& s : v) out += "\n  \"" + s + "\"";
        out += "}";
        return String(out.c_str());
    }
};
}  // namespace doctest

namespace imap_test {

using namespace hikyaku::imap;

// What the "session" answers to a literal announcement.
using LiteralPolicy = std::function<bool(const LiteralAnnouncement&)>;  // true: accept
inline bool accept_all(const LiteralAnnouncement&) { return true; }

struct Trace {
    std::vector<std::string> events;  // descriptions, NeedMore omitted
    std::vector<FramedCommand> commands;
    std::size_t consumed = 0;  // octets consumed in all
    std::size_t max_held = 0;  // the largest held_octets() seen
    bool operator==(const Trace&) const = default;
};

std::string describe(const FramedCommand& command);
std::string describe(const LiteralAnnouncement& a);
std::string describe(const ReaderError& e);

// pieces: the input as the network delivers it.
Trace run_pieces(const std::vector<std::string_view>& pieces, const LiteralPolicy& policy, const ReaderLimits& limits);
// Whole input.
Trace run(std::string_view input, const LiteralPolicy& policy = accept_all, const ReaderLimits& limits = {});
// Runs `input` whole, split in two at every offset, and in chunks of 1, 2, 3, 7, 64 octets;
// CHECKs every run equals the whole one; returns the whole one.
Trace run_all_splits(std::string_view input, const LiteralPolicy& policy = accept_all, const ReaderLimits& limits = {});

}  // namespace imap_test
