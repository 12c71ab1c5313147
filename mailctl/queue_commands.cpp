// queue_commands.cpp: mailctl's queue commands (see queue_commands.h).
#include "mailctl/queue_commands.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <ctime>
#include <ostream>

#include "common/text/json.h"
#include "storage/store.h"

namespace hikyaku::mailctl {

using namespace storage;

using text::json_string;

namespace {

std::string utc(TimePoint when) {
    std::time_t t = static_cast<std::time_t>(when.time_since_epoch().count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string json_entry(const QueuedRecipient& q) {
    return "{\"id\": " + std::to_string(q.id) + ", \"message\": " + std::to_string(q.message) +
           ", \"sender\": " + json_string(q.sender) + ", \"recipient\": " + json_string(q.recipient) +
           ", \"size\": " + std::to_string(q.size) + ", \"attempts\": " + std::to_string(q.attempts) +
           ", \"queued\": " + json_string(utc(q.created)) + ", \"next_try\": " + json_string(utc(q.next_attempt)) +
           ", \"last_reply\": " + json_string(q.last_reply) + ", \"held\": " + (q.held ? "true" : "false") +
           ", \"delay_warned\": " + (q.delay_warned ? "true" : "false") + "}";
}

void print_entry(std::ostream& out, const QueuedRecipient& q) {
    out << q.id << "  " << utc(q.created) << "  " << q.size << " bytes  <" << (q.sender.empty() ? "" : q.sender)
        << "> -> <" << q.recipient << ">\n";
    out << "    attempts " << q.attempts << ", " << (q.held ? "held" : "next try " + utc(q.next_attempt));
    if (!q.last_reply.empty()) out << ", last: " << q.last_reply;
    out << "\n";
}

std::optional<QueueId> parse_id(const std::string& text) {
    QueueId id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size() || id <= 0) return std::nullopt;
    return id;
}

}  // namespace

bool QueueCommands::parsed() const { return queue && queue->parsed(); }

void add_queue_commands(CLI::App& app, QueueCommands& c) {
    c.queue = app.add_subcommand("queue", "the outbound queue (mail for other domains)")->require_subcommand(1);
    c.list = c.queue->add_subcommand("list", "list queued recipients (like mailq)");
    c.list->add_flag("--json", c.json, "one JSON array of entries");
    c.show = c.queue->add_subcommand("show", "one queued recipient");
    c.show->add_option("ID", c.id)->required();
    c.show->add_flag("--json", c.json, "as a JSON object");
    c.retry = c.queue->add_subcommand("retry", "try now: one entry, or every entry not held (postqueue -f)");
    c.retry->add_option("ID", c.id);
    c.remove = c.queue->add_subcommand("delete", "remove an entry without a bounce (postsuper -d)");
    c.remove->add_option("ID", c.id)->required();
    c.hold = c.queue->add_subcommand("hold", "keep an entry from being tried (postsuper -h)");
    c.hold->add_option("ID", c.id)->required();
    c.release = c.queue->add_subcommand("release", "let a held entry be tried again (postsuper -H)");
    c.release->add_option("ID", c.id)->required();
}

int run_queue_command(const QueueCommands& c, Store& store, std::ostream& out, std::ostream& err) {
    auto fail = [&](const std::string& message) {
        err << "mailctl: " << message << "\n";
        return 1;
    };
    std::optional<QueueId> id;
    if (!c.id.empty()) {
        id = parse_id(c.id);
        if (!id) return fail("bad queue id '" + c.id + "' (a positive number from 'mailctl queue list')");
    }
    if (c.list->parsed()) {
        auto entries = store.list_queue();
        if (!entries) return fail(entries.error().message);
        if (c.json) {
            out << "[";
            for (std::size_t i = 0; i < entries->size(); ++i) out << (i ? ",\n " : "") << json_entry((*entries)[i]);
            out << "]\n";
        } else if (entries->empty()) {
            out << "the queue is empty\n";
        } else {
            for (const auto& q : *entries) print_entry(out, q);
            out << entries->size() << " queued recipient" << (entries->size() == 1 ? "" : "s") << "\n";
        }
        return 0;
    }
    if (c.show->parsed()) {
        auto q = store.find_queued(*id);
        if (!q) return fail(q.error().message);
        if (c.json) out << json_entry(*q) << "\n";
        else print_entry(out, *q);
        return 0;
    }
    struct Action {
        CLI::App* command;
        QueueAction action;
        const char* done;
    } actions[] = {{c.retry, QueueAction::retry, "due now"},
                   {c.remove, QueueAction::remove, "deleted"},
                   {c.hold, QueueAction::hold, "held"},
                   {c.release, QueueAction::release, "released"}};
    for (const auto& a : actions) {
        if (!a.command->parsed()) continue;
        auto changed = store.control_queue(a.action, id);
        if (!changed) return fail(changed.error().message);
        out << *changed << " queued recipient" << (*changed == 1 ? "" : "s") << " " << a.done << "\n";
        return 0;
    }
    return fail("no queue command given (see mailctl queue --help)");
}

}  // namespace hikyaku::mailctl
