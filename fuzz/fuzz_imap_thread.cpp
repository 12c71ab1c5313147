// fuzz_imap_thread.cpp: fuzzes SORT and THREAD (imapd/sort_thread.h) over hostile headers:
// the input is a mailbox of header blocks separated by "\n\n\n" (at most 64), each parsed as a
// message, turned into MessageFacts, then sorted by every key both ways and threaded by both
// algorithms, with small limits so the depth and reference bounds are reached. Must never
// crash, and checks:
//   - SORT returns every message exactly once;
//   - each THREAD result holds every message exactly once, no dummy without children below
//     the root, and its thread-list text has balanced parentheses;
//   - a base subject never starts or ends with a space (RFC 5256 2.1 steps 2 and 3).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/message.h"
#include "imapd/sort_thread.h"

using namespace hikyaku;
using namespace hikyaku::imap;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void collect(const ThreadNode& node, bool at_root, std::multiset<std::uint32_t>& seen, std::size_t depth) {
    require(depth <= 64);
    if (node.number == 0) require(at_root && !node.children.empty());
    else seen.insert(node.number);
    for (const ThreadNode& child : node.children) collect(child, false, seen, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    SortThreadLimits limits;
    limits.max_messages = 64;
    limits.max_references = 8;
    limits.max_depth = 16;
    std::vector<MessageFacts> facts;
    std::size_t at = 0;
    while (at <= input.size() && facts.size() < limits.max_messages) {
        std::size_t end = input.find("\n\n\n", at);
        if (end == std::string_view::npos) end = input.size();
        const std::string_view block = input.substr(at, end - at);
        auto parsed = mime::parse_message(block);
        if (parsed) {
            const auto n = static_cast<std::uint32_t>(facts.size() + 1);
            facts.push_back(
                message_facts(*parsed, n, static_cast<std::int64_t>(block.size() % 7), block.size(), limits));
            const std::string& subject = facts.back().subject;
            require(subject.empty() || (subject.front() != ' ' && subject.back() != ' '));
        }
        at = end + 3;
    }
    const std::multiset<std::uint32_t> all = [&] {
        std::multiset<std::uint32_t> s;
        for (const auto& f : facts) s.insert(f.number);
        return s;
    }();
    for (SortKey key : {SortKey::arrival, SortKey::cc, SortKey::date, SortKey::from, SortKey::size, SortKey::subject,
                        SortKey::to, SortKey::display_from, SortKey::display_to}) {
        for (bool reverse : {false, true}) {
            const SortCriterion criteria[] = {{key, reverse}};
            const auto numbers = sort_messages(facts, criteria);
            require(std::multiset<std::uint32_t>(numbers.begin(), numbers.end()) == all);
        }
    }
    for (ThreadAlgorithm algorithm : {ThreadAlgorithm::ordered_subject, ThreadAlgorithm::references}) {
        auto threads = thread_messages(facts, algorithm, limits);
        require(threads.ok());
        std::multiset<std::uint32_t> seen;
        for (const ThreadNode& root : *threads) collect(root, true, seen, 0);
        require(seen == all);
        const std::string text = format_threads(*threads);
        long open = 0;
        for (char c : text) {
            open += c == '(' ? 1 : c == ')' ? -1 : 0;
            require(open >= 0);
        }
        require(open == 0);
    }
    return 0;
}
