// reader_harness.cpp: see reader_harness.h.
#include "reader_harness.h"

#include <doctest/doctest.h>

namespace imap_test {
namespace {

std::string visible(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\0') out += "\\0";
        else if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

}  // namespace

std::string describe(const FramedCommand& command) {
    std::string out = "command ";
    for (std::size_t i = 0; i < command.lines.size(); ++i) {
        out += visible(command.lines[i]);
        if (i < command.literals.size()) {
            const Literal& l = command.literals[i];
            out += "[";
            out += l.binary ? "~" : "";
            out += l.synchronizing ? "" : "+";
            out += visible(l.data);
            out += "]";
        }
    }
    return out;
}

std::string describe(const LiteralAnnouncement& a) {
    std::string out = "announce tag=" + a.tag + " verb=" + (a.uid ? "UID " : "") + a.verb +
                      " size=" + std::to_string(a.size) + " index=" + std::to_string(a.index);
    if (!a.synchronizing) out += " nonsync";
    if (a.binary) out += " binary";
    if (a.message_data) out += " message";
    if (a.catenate_text) out += " catenate-text";
    if (a.mailbox) out += " mailbox=" + visible(*a.mailbox);
    return out;
}

std::string describe(const ReaderError& e) {
    return std::string("error ") + to_string(e.kind) + " tag=" + e.tag.value_or("-") + (e.fatal ? " fatal" : "") +
           (e.message_data ? " message" : "");
}

Trace run_pieces(const std::vector<std::string_view>& pieces, const LiteralPolicy& policy, const ReaderLimits& limits) {
    CommandReader reader(limits);
    Trace trace;
    std::string buffer;
    std::size_t next_piece = 0;
    // Every event consumes or changes state; bound the loop anyway.
    for (std::size_t guard = 0; guard < 100000; ++guard) {
        ReadStep step = reader.read(buffer);
        trace.consumed += step.consumed;
        buffer.erase(0, step.consumed);
        trace.max_held = std::max(trace.max_held, reader.held_octets());
        if (std::holds_alternative<NeedMore>(step.event)) {
            REQUIRE(buffer.empty());
            if (next_piece == pieces.size()) break;
            buffer.append(pieces[next_piece++]);
        } else if (auto* a = std::get_if<LiteralAnnouncement>(&step.event)) {
            trace.events.push_back(describe(*a));
            if (policy(*a)) {
                reader.accept_literal();
            } else {
                trace.events.push_back("rejected");
                reader.reject_literal();
            }
        } else if (auto* c = std::get_if<FramedCommand>(&step.event)) {
            REQUIRE(c->lines.size() == c->literals.size() + 1);
            trace.events.push_back(describe(*c));
            trace.commands.push_back(std::move(*c));
        } else if (auto* d = std::get_if<LiteralDiscarded>(&step.event)) {
            trace.events.push_back("discarded tag=" + d->tag);
        } else if (auto* e = std::get_if<ReaderError>(&step.event)) {
            trace.events.push_back(describe(*e));
            if (e->fatal) break;
        }
    }
    return trace;
}

Trace run(std::string_view input, const LiteralPolicy& policy, const ReaderLimits& limits) {
    return run_pieces({input}, policy, limits);
}

Trace run_all_splits(std::string_view input, const LiteralPolicy& policy, const ReaderLimits& limits) {
    Trace whole = run(input, policy, limits);
    auto same = [&](const Trace& t) {
        // held_octets() depends on how the buffers grew, not on the result.
        CHECK(t.events == whole.events);
        CHECK(t.commands == whole.commands);
        CHECK(t.consumed == whole.consumed);
    };
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        CAPTURE(cut);
        same(run_pieces({input.substr(0, cut), input.substr(cut)}, policy, limits));
    }
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u}) {
        CAPTURE(chunk);
        std::vector<std::string_view> pieces;
        for (std::size_t i = 0; i < input.size(); i += chunk) pieces.push_back(input.substr(i, chunk));
        same(run_pieces(pieces, policy, limits));
    }
    return whole;
}

}  // namespace imap_test
