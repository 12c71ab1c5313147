// sort_thread.cpp: see sort_thread.h. RFC 5256 2.1, 2.2, 3, 4; RFC 5957; RFC 4790 9.2.
#include "imapd/sort_thread.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "common/mime/date.h"
#include "common/mime/header.h"
#include "common/text/rfc2047.h"

namespace hikyaku::imap {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && text::iequals(s.substr(0, prefix.size()), prefix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP; BLOBCHAR excludes "[" and "]". 0 when none is next.
std::size_t blob_length(std::string_view s) {
    if (s.empty() || s[0] != '[') return 0;
    std::size_t i = 1;
    while (i < s.size() && s[i] != '[' && s[i] != ']') ++i;
    if (i == s.size() || s[i] != ']') return 0;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
}

// subj-leader's first form: *subj-blob subj-refwd, where
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". 0 when none is next.
std::size_t refwd_leader_length(std::string_view s) {
    std::size_t i = 0;
    while (std::size_t b = blob_length(s.substr(i))) i += b;
    if (starts_with_nocase(s.substr(i), "re")) {
        i += 2;
    } else if (starts_with_nocase(s.substr(i), "fw")) {
        i += 2;
        if (i < s.size() && (s[i] == 'd' || s[i] == 'D')) ++i;
    } else {
        return 0;
    }
    while (i < s.size() && s[i] == ' ') ++i;
    i += blob_length(s.substr(i));
    if (i < s.size() && s[i] == ':') return i + 1;
    return 0;
}

// The sort key of a message's first address (RFC 5256 3: addr-mailbox).
std::string first_mailbox(const std::vector<mime::Address>& addresses) {
    if (addresses.empty() || !addresses.front().mailbox) return {};
    return ascii_casemap(*addresses.front().mailbox);
}

// RFC 5957 2: the display name when there is a non-empty one, else the addr-spec; a group
// shows its name.
std::string display_of(const std::vector<mime::Address>& addresses) {
    if (addresses.empty()) return {};
    const mime::Address& a = addresses.front();
    if (a.name) {
        std::string name = text::rfc2047_decode(*a.name);
        const auto first = name.find_first_not_of(" \t");
        if (first != std::string::npos) {
            const auto last = name.find_last_not_of(" \t");
            return ascii_casemap(std::string_view(name).substr(first, last - first + 1));
        }
    }
    std::string spec = a.mailbox.value_or("");
    if (a.host && !a.host->empty()) spec += "@" + *a.host;
    return ascii_casemap(spec);
}

// -1, 0, 1 as strcmp.
template <class T>
int compare_values(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

int compare_key(const MessageFacts& a, const MessageFacts& b, SortKey key) {
    switch (key) {
        case SortKey::arrival: return compare_values(a.arrival, b.arrival);
        case SortKey::cc: return compare_values(a.cc, b.cc);
        case SortKey::date: return compare_values(a.sent, b.sent);
        case SortKey::from: return compare_values(a.from, b.from);
        case SortKey::size: return compare_values(a.size, b.size);
        case SortKey::subject: return compare_values(a.subject, b.subject);
        case SortKey::to: return compare_values(a.to, b.to);
        case SortKey::display_from: return compare_values(a.display_from, b.display_from);
        case SortKey::display_to: return compare_values(a.display_to, b.display_to);
    }
    return 0;
}

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

// ---- REFERENCES (RFC 5256 3) -----------------------------------------------------------------

class ReferenceThreader {
public:
    ReferenceThreader(std::span<const MessageFacts> messages, const SortThreadLimits& limits)
        : messages_(messages), limits_(limits) {}

    std::vector<ThreadNode> run() {
        link_all();                      // step 1
        std::vector<std::size_t> roots;  // step 2
        for (std::size_t c = 0; c < containers_.size(); ++c)
            if (containers_[c].parent == kNone) roots.push_back(c);
        ids_.clear();  // step 3 (discarding the table)
        cut_too_deep(roots);
        roots = prune(roots, true);  // step 3: dummies
        for (std::size_t r : roots)  // step 4
            if (is_dummy(r)) sort_siblings(containers_[r].children);
        sort_siblings(roots);
        merge_subjects(roots);  // step 5
        sort_tree(roots);       // step 6
        std::vector<ThreadNode> out;
        out.reserve(roots.size());
        for (std::size_t r : roots) out.push_back(node(r));
        return out;
    }

private:
    struct Container {
        std::size_t message = kNone;  // index in messages_, kNone for a dummy
        std::size_t parent = kNone;
        std::vector<std::size_t> children;
    };

    bool is_dummy(std::size_t c) const { return containers_[c].message == kNone; }

    std::size_t make_container(std::size_t message) {
        containers_.push_back(Container{message, kNone, {}});
        return containers_.size() - 1;
    }

    std::size_t container_for(const std::string& id) {
        auto [it, inserted] = ids_.try_emplace(id, 0);
        if (inserted) it->second = make_container(kNone);
        return it->second;
    }

    // Making `parent` the parent of `child` would make a loop (or go deeper than allowed):
    // `child` is `parent` or one of its ancestors. Walks up at most max_depth steps.
    bool would_loop(std::size_t parent, std::size_t child) const {
        std::size_t steps = 0;
        for (std::size_t c = parent; c != kNone; c = containers_[c].parent) {
            if (c == child || ++steps >= limits_.max_depth) return true;
        }
        return false;
    }

    void link(std::size_t parent, std::size_t child) {
        containers_[child].parent = parent;
        containers_[parent].children.push_back(child);
    }

    void unlink(std::size_t child) {
        auto& siblings = containers_[containers_[child].parent].children;
        siblings.erase(std::find(siblings.begin(), siblings.end(), child));
        containers_[child].parent = kNone;
    }

    void link_all() {
        for (std::size_t m = 0; m < messages_.size(); ++m) {
            const MessageFacts& facts = messages_[m];
            // 1.A: the message's container; a missing or duplicate Message ID gets a unique one
            // (a container no reference can name).
            std::size_t self = kNone;
            if (facts.message_id) {
                const std::size_t c = container_for(*facts.message_id);
                if (containers_[c].message == kNone) self = c;
            }
            if (self == kNone) self = make_container(m);
            containers_[self].message = m;
            // 1.A: each reference the parent of the next, unless that one has a parent already
            // or the link would make a loop.
            std::size_t previous = kNone;
            for (const std::string& id : facts.references) {
                const std::size_t c = container_for(id);
                if (previous != kNone && containers_[c].parent == kNone && !would_loop(previous, c)) link(previous, c);
                previous = c;
            }
            // 1.B: the last reference is the parent; a parent found before is dropped first.
            if (containers_[self].parent != kNone) unlink(self);
            if (previous != kNone && !would_loop(previous, self)) link(previous, self);
        }
    }

    // Beyond max_depth, a subtree becomes a thread of its own (see the header).
    void cut_too_deep(std::vector<std::size_t>& roots) {
        std::vector<std::pair<std::size_t, std::size_t>> stack;  // container, depth
        for (std::size_t r : roots) stack.emplace_back(r, 1);
        std::vector<std::size_t> new_roots;
        while (!stack.empty()) {
            auto [c, depth] = stack.back();
            stack.pop_back();
            if (depth >= limits_.max_depth) {
                for (std::size_t child : containers_[c].children) {
                    containers_[child].parent = kNone;
                    new_roots.push_back(child);
                    stack.emplace_back(child, 1);
                }
                containers_[c].children.clear();
                continue;
            }
            for (std::size_t child : containers_[c].children) stack.emplace_back(child, depth + 1);
        }
        roots.insert(roots.end(), new_roots.begin(), new_roots.end());
    }

    // Step 3: a dummy without children goes; one with children gives them to its own level,
    // but at the root only when it has one child. Children are pruned first (the same tree
    // as walking down, since a pruned level below the root holds no dummies).
    std::vector<std::size_t> prune(const std::vector<std::size_t>& level, bool at_root) {
        std::vector<std::size_t> out;
        for (std::size_t c : level) {
            if (!containers_[c].children.empty()) containers_[c].children = prune(containers_[c].children, false);
            for (std::size_t child : containers_[c].children) containers_[child].parent = c;
            if (!is_dummy(c)) {
                out.push_back(c);
            } else if (containers_[c].children.empty()) {
                continue;
            } else if (!at_root || containers_[c].children.size() == 1) {
                for (std::size_t child : containers_[c].children) out.push_back(child);
                containers_[c].children.clear();
            } else {
                out.push_back(c);
            }
        }
        return out;
    }

    // The message a container sorts by: itself, or a dummy's first child.
    std::size_t representative(std::size_t c) const {
        while (is_dummy(c) && !containers_[c].children.empty()) c = containers_[c].children.front();
        return containers_[c].message;
    }

    // RFC 5256 2.2: by sent date, then mailbox order.
    void sort_siblings(std::vector<std::size_t>& siblings) const {
        std::stable_sort(siblings.begin(), siblings.end(), [&](std::size_t a, std::size_t b) {
            const std::size_t ma = representative(a), mb = representative(b);
            if (ma == kNone || mb == kNone) return ma < mb;
            if (messages_[ma].sent != messages_[mb].sent) return messages_[ma].sent < messages_[mb].sent;
            return ma < mb;
        });
    }

    // Step 6: every set of siblings, the deepest first.
    void sort_tree(std::vector<std::size_t>& level) {
        for (std::size_t c : level) sort_tree(containers_[c].children);
        sort_siblings(level);
    }

    const std::string& thread_subject(std::size_t c) const {
        static const std::string empty;
        const std::size_t m = representative(c);
        return m == kNone ? empty : messages_[m].subject;
    }

    // Step 5: threads of the same base subject are gathered.
    void merge_subjects(std::vector<std::size_t>& roots) {
        std::unordered_map<std::string_view, std::size_t> table;
        for (std::size_t r : roots) {  // 5.B
            const std::string& subject = thread_subject(r);
            if (subject.empty()) continue;
            auto [it, inserted] = table.try_emplace(subject, r);
            if (inserted) continue;
            const std::size_t t = it->second;
            if (!is_dummy(t) && (is_dummy(r) || (messages_[containers_[t].message].reply_or_forward &&
                                                 !messages_[containers_[r].message].reply_or_forward)))
                it->second = r;
        }
        for (std::size_t i = 0; i < roots.size(); ++i) {  // 5.C
            const std::size_t r = roots[i];
            if (r == kNone) continue;
            const std::string& subject = thread_subject(r);
            if (subject.empty()) continue;
            auto it = table.find(subject);
            const std::size_t t = it->second;
            if (t == r) continue;
            roots[i] = kNone;
            if (is_dummy(t) && is_dummy(r)) {
                for (std::size_t child : containers_[r].children) link(t, child);
                containers_[r].children.clear();
            } else if (is_dummy(t)) {
                link(t, r);
            } else if (messages_[containers_[r].message].reply_or_forward &&
                       !messages_[containers_[t].message].reply_or_forward) {
                link(t, r);
            } else {
                const std::size_t dummy = make_container(kNone);
                std::replace(roots.begin(), roots.end(), t, dummy);
                link(dummy, t);
                link(dummy, r);
                // The table's key views t's subject, which stays alive in messages_.
                it->second = dummy;
            }
        }
        std::erase(roots, kNone);
    }

    ThreadNode node(std::size_t c) const {
        ThreadNode out;
        if (!is_dummy(c)) out.number = messages_[containers_[c].message].number;
        out.children.reserve(containers_[c].children.size());
        for (std::size_t child : containers_[c].children) out.children.push_back(node(child));
        return out;
    }

    std::span<const MessageFacts> messages_;
    const SortThreadLimits& limits_;
    std::vector<Container> containers_;
    std::unordered_map<std::string, std::size_t> ids_;
};

// ---- ORDEREDSUBJECT (RFC 5256 3) -------------------------------------------------------------

std::vector<ThreadNode> thread_by_subject(std::span<const MessageFacts> messages) {
    std::vector<std::size_t> order(messages.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (messages[a].subject != messages[b].subject) return messages[a].subject < messages[b].subject;
        return messages[a].sent < messages[b].sent;
    });
    // Each run of one subject is a thread: its first message the parent of all the others.
    std::vector<std::pair<std::size_t, ThreadNode>> threads;  // first message, thread
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i + 1;
        ThreadNode root{messages[order[i]].number, {}};
        for (; j < order.size() && messages[order[j]].subject == messages[order[i]].subject; ++j)
            root.children.push_back(ThreadNode{messages[order[j]].number, {}});
        threads.emplace_back(order[i], std::move(root));
        i = j;
    }
    std::stable_sort(threads.begin(), threads.end(), [&](const auto& a, const auto& b) {
        if (messages[a.first].sent != messages[b.first].sent) return messages[a.first].sent < messages[b.first].sent;
        return a.first < b.first;
    });
    std::vector<ThreadNode> out;
    out.reserve(threads.size());
    for (auto& [first, thread] : threads) out.push_back(std::move(thread));
    return out;
}

// thread-members / thread-nested of one node (RFC 5256 4).
void format_members(std::string& out, const ThreadNode& node) {
    const ThreadNode* at = &node;
    // A chain of single children is one run of numbers; only a fork nests.
    while (true) {
        if (at->number != 0) {
            if (!out.empty() && out.back() != '(') out += ' ';
            out += std::to_string(at->number);
        }
        if (at->children.size() == 1 && at->number != 0) {
            at = &at->children.front();
            continue;
        }
        if (!at->children.empty() && at->number != 0) out += ' ';
        for (const ThreadNode& child : at->children) {
            out += '(';
            format_members(out, child);
            out += ')';
        }
        return;
    }
}

}  // namespace

// ---- base subject (RFC 5256 2.1) ---------------------------------------------------------------

BaseSubject base_subject(std::string_view raw_subject) {
    // (1) Encoded words decoded (folding goes with them); tabs and line ends become spaces and
    // runs of spaces one space.
    const std::string decoded = text::rfc2047_decode(raw_subject);
    std::string text;
    text.reserve(decoded.size());
    for (char c : decoded) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !text.empty() && text.back() == ' ') continue;
        text += c;
    }
    BaseSubject out;
    std::string_view s = text;
    while (true) {
        // (2) subj-trailer: "(fwd)" / WSP, repeatedly.
        while (true) {
            if (!s.empty() && s.back() == ' ') {
                s.remove_suffix(1);
            } else if (s.size() >= 5 && text::iequals(s.substr(s.size() - 5), "(fwd)")) {
                s.remove_suffix(5);
                out.reply_or_forward = true;
            } else {
                break;
            }
        }
        // (3)-(5) subj-leader, and a subj-blob when something is left after it.
        while (true) {
            if (!s.empty() && s.front() == ' ') {
                s.remove_prefix(1);
                continue;
            }
            if (const std::size_t n = refwd_leader_length(s)) {
                s.remove_prefix(n);
                out.reply_or_forward = true;
                continue;
            }
            const std::size_t blob = blob_length(s);
            if (blob != 0 && blob < s.size()) {
                s.remove_prefix(blob);
                continue;
            }
            break;
        }
        // (6) "[fwd:" ... "]" around the whole: removed, and again from (2).
        if (s.size() >= 6 && starts_with_nocase(s, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            out.reply_or_forward = true;
            continue;
        }
        break;
    }
    out.text = std::string(s);
    return out;
}

std::string ascii_casemap(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

std::vector<std::string> message_ids(std::string_view value, std::size_t max) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (c == '(') {  // a comment, nested
            std::size_t level = 0;
            for (; i < value.size(); ++i) {
                if (value[i] == '\\') ++i;
                else if (value[i] == '(') ++level;
                else if (value[i] == ')' && --level == 0) break;
            }
            ++i;
        } else if (c == '<') {
            std::string id = "<";
            std::size_t j = i + 1;
            for (; j < value.size() && value[j] != '>' && value[j] != '<'; ++j)
                if (value[j] != ' ' && value[j] != '\t' && value[j] != '\r' && value[j] != '\n') id += value[j];
            if (j == value.size()) break;
            if (value[j] == '>') {
                id += '>';
                if (id.size() > 3 && id.size() <= kMaxMessageIdLength && id.find('@') != std::string::npos)
                    ids.push_back(std::move(id));
                ++j;
            }
            i = j;
        } else {
            ++i;
        }
    }
    if (max == 0) return {};
    if (ids.size() > max) ids.erase(ids.begin() + 1, ids.end() - static_cast<std::ptrdiff_t>(max - 1));
    return ids;
}

MessageFacts message_facts(const mime::ParsedMessage& message, std::uint32_t number, std::int64_t internal_date,
                           std::uint64_t size, const SortThreadLimits& limits) {
    MessageFacts f;
    f.number = number;
    f.arrival = internal_date;
    f.size = size;
    const mime::Envelope& e = message.envelope;
    f.sent = internal_date;
    if (e.date)
        if (auto date = mime::parse_rfc5322_date(*e.date)) f.sent = date->utc.time_since_epoch().count();
    if (e.subject) {
        BaseSubject base = base_subject(*e.subject);
        f.subject = ascii_casemap(base.text);
        f.reply_or_forward = base.reply_or_forward;
    }
    f.from = first_mailbox(e.from);
    f.to = first_mailbox(e.to);
    f.cc = first_mailbox(e.cc);
    f.display_from = display_of(e.from);
    f.display_to = display_of(e.to);
    if (const auto* id = mime::find_header(message.headers, "Message-ID")) {
        auto ids = message_ids(id->value, 1);
        if (!ids.empty()) f.message_id = std::move(ids.front());
    }
    if (const auto* refs = mime::find_header(message.headers, "References"))
        f.references = message_ids(refs->value, limits.max_references);
    if (f.references.empty())
        if (const auto* reply = mime::find_header(message.headers, "In-Reply-To"))
            f.references = message_ids(reply->value, 1);
    return f;
}

std::vector<std::uint32_t> sort_messages(std::span<const MessageFacts> messages,
                                         std::span<const SortCriterion> criteria) {
    std::vector<std::size_t> order(messages.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        for (const SortCriterion& criterion : criteria) {
            const int c = compare_key(messages[a], messages[b], criterion.key);
            if (c != 0) return criterion.reverse ? c > 0 : c < 0;
        }
        return false;  // stable: mailbox order
    });
    std::vector<std::uint32_t> numbers;
    numbers.reserve(order.size());
    for (std::size_t i : order) numbers.push_back(messages[i].number);
    return numbers;
}

Result<std::vector<ThreadNode>> thread_messages(std::span<const MessageFacts> messages, ThreadAlgorithm algorithm,
                                                const SortThreadLimits& limits) {
    if (messages.size() > limits.max_messages) return make_error(Errc::limit_exceeded, "too many messages to thread");
    if (algorithm == ThreadAlgorithm::ordered_subject) return thread_by_subject(messages);
    return ReferenceThreader(messages, limits).run();
}

std::string format_threads(std::span<const ThreadNode> threads) {
    std::string out;
    for (const ThreadNode& thread : threads) {
        out += '(';
        format_members(out, thread);
        out += ')';
    }
    return out;
}

}  // namespace hikyaku::imap
