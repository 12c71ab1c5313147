// store_snapshot.cpp: see store_snapshot.h.
#include "tests/imap/store_snapshot.h"

#include <algorithm>
#include <cstdio>

namespace hikyaku::test {

namespace {

std::string hex64(std::uint64_t v) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
    return buffer;
}

std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string flag_text(storage::Flags flags, const std::vector<std::string>& keywords) {
    static const std::pair<storage::Flag, const char*> names[] = {
        {storage::flag_answered, "\\Answered"}, {storage::flag_deleted, "\\Deleted"}, {storage::flag_draft, "\\Draft"},
        {storage::flag_flagged, "\\Flagged"},   {storage::flag_seen, "\\Seen"},
    };
    std::string out;
    for (auto [bit, name] : names) {
        if (!(flags & bit)) continue;
        if (!out.empty()) out += ' ';
        out += name;
    }
    std::vector<std::string> sorted = keywords;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& k : sorted) {
        if (!out.empty()) out += ' ';
        out += k;
    }
    return out;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

std::string store_snapshot(storage::Store& store, const std::vector<std::string>& addresses) {
    std::string out;
    auto fail = [](const std::string& what) { return "error: " + what + "\n"; };
    for (const auto& address : addresses) {
        auto user = store.find_user(address);
        if (!user) return fail(address + ": " + user.error().message);
        auto mailboxes = store.list_mailboxes(user->id);
        if (!mailboxes) return fail(mailboxes.error().message);
        std::sort(mailboxes->begin(), mailboxes->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        auto subscriptions = store.list_subscriptions(user->id);
        if (!subscriptions) return fail(subscriptions.error().message);
        std::sort(subscriptions->begin(), subscriptions->end());
        std::vector<std::string> names;
        for (const auto& m : *mailboxes) names.push_back(m.name);
        out += "mailboxes " + address + ": " + joined(names) + "\n";
        out += "subscribed " + address + ": " + joined(*subscriptions) + "\n";
        out += "detail " + address + " quota=" + std::to_string(user->quota_bytes) + "\n";
        for (const auto& m : *mailboxes) {
            const storage::UidRange all[] = {storage::UidRange{}};
            auto entries = store.fetch_entries(m.id, all);
            if (!entries) return fail(m.name + ": " + entries.error().message);
            std::string line = "mailbox " + address + " " + m.name + ":";
            for (const auto& e : *entries)
                line += " " + std::to_string(e.uid) + "(" + flag_text(e.flags, e.keywords) + ")";
            out += line + "\n";
            out += "detail " + address + " " + m.name +
                   " use=" + std::string(storage::special_use_attribute(m.special_use)) +
                   " uidvalidity=" + std::to_string(m.uidvalidity) + " uidnext=" + std::to_string(m.uidnext) +
                   " highestmodseq=" + std::to_string(m.highestmodseq) + "\n";
            for (const auto& e : *entries) {
                auto raw = store.read_message(m.id, e.uid);
                if (!raw) return fail(m.name + " uid " + std::to_string(e.uid) + ": " + raw.error().message);
                out += "detail " + address + " " + m.name + " uid=" + std::to_string(e.uid) +
                       " modseq=" + std::to_string(e.modseq) +
                       " date=" + std::to_string(e.internal_date.time_since_epoch().count()) +
                       " size=" + std::to_string(e.size) + " bytes=" + hex64(fnv1a(*raw)) + "\n";
            }
        }
    }
    return out;
}

std::string nested_multipart(std::size_t depth) {
    std::string out = "From: deep@remote.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n";
    for (std::size_t i = 0; i < depth; ++i)
        out += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) +
               "\r\n";
    out += "Content-Type: text/plain\r\n\r\nthe leaf\r\n";
    for (std::size_t i = depth; i-- > 0;) out += "--b" + std::to_string(i) + "--\r\n";
    return out;
}

}  // namespace hikyaku::test
