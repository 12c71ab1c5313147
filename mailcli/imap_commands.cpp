// imap_commands.cpp: the `mailcli imap` commands (see imap_commands.h).
// Must never: write a Maildir file that is not whole (maildir_store), record sync state
// before what it describes is on disk, or run --exec through anything but /bin/sh -c with
// the message's details in the environment (never spliced into the command text).
#include "mailcli/imap_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/text/address.h"
#include "imapd/imap_date.h"
#include "mailcli/errors.h"
#include "mailcli/imap_client.h"
#include "mailcli/imap_download.h"
#include "mailcli/imap_query.h"
#include "mailcli/maildir.h"
#include "mailcli/mbox.h"
#include "mailcli/output.h"
#include "mailcli/render.h"

namespace hikyaku::mailcli {

namespace {

// IDLE is re-issued before the server's 30-minute inactivity limit (RFC 2177 3: "at least
// every 29 minutes").
constexpr int kDefaultIdleRenewSeconds = 28 * 60;
// Reconnecting after a dropped connection waits 1, 2, 4, ... up to this many seconds.
constexpr int kMaxBackoffSeconds = 60;
// Without IDLE, watch polls with NOOP this often.
constexpr std::chrono::seconds kPollInterval{60};
// An mbox file is read whole (and split): at most this large.
constexpr std::size_t kMaxMboxSize = std::size_t{1} << 30;
constexpr const char* kSyncStateName = ".mailcli-imap-sync";
constexpr const char* kListItems =
    "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)])";

std::string plural(std::size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

bool is_uid_arg(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*')) return false;
    }
    return s.front() != ':' && s.front() != ',' && s.back() != ':' && s.back() != ',';
}

// UIDs from the command line ("7", "1:5", "3,9") as one UID set.
std::string uid_set_arg(const std::vector<std::string>& args) {
    if (args.empty()) throw CliError(ExitCode::usage, "give at least one UID");
    std::string set;
    for (const auto& a : args) {
        if (!is_uid_arg(a)) throw CliError(ExitCode::usage, "\"" + a + "\" is not a UID (7, 1:5, 3,9)");
        set += (set.empty() ? "" : ",") + a;
    }
    return set;
}

std::string section_starting(const ImapFetch& f, std::string_view prefix) {
    for (const auto& s : f.sections) {
        if (s.first.starts_with(prefix)) return s.second;
    }
    return {};
}

std::string format_internal_date(std::string_view internal) {
    auto when = imap::parse_date_time(internal);
    if (!when) return std::string(internal);
    const auto local = when->utc + std::chrono::minutes(when->zone_minutes);
    const auto day = std::chrono::floor<std::chrono::days>(local);
    const std::chrono::year_month_day ymd(day);
    const std::chrono::hh_mm_ss hms(local - day);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()));
    return buf;
}

std::string json_flags(const std::vector<std::string>& flags) {
    std::string out = "[";
    for (const auto& f : flags) out += (out.size() > 1 ? "," : "") + json_string(f);
    return out + "]";
}

struct Summary {
    std::uint32_t uid = 0;
    std::vector<std::string> flags;
    std::uint64_t size = 0;
    std::string internal_date, date, from, to, subject, message_id;
};

Summary summary_of(const ImapFetch& f) {
    Summary s;
    s.uid = f.uid.value_or(0);
    s.flags = f.flags.value_or(std::vector<std::string>{});
    s.size = f.size.value_or(0);
    s.internal_date = f.internal_date;
    const std::string head = section_starting(f, "BODY[HEADER.FIELDS");
    s.date = header_text(head, "Date");
    s.from = header_text(head, "From");
    s.to = header_text(head, "To");
    s.subject = header_text(head, "Subject");
    s.message_id = header_text(head, "Message-ID");
    return s;
}

std::string summary_json(const Summary& s, std::string_view mailbox = {}) {
    std::string out = "{";
    if (!mailbox.empty()) out += "\"mailbox\":" + json_string(mailbox) + ",";
    out += "\"uid\":" + std::to_string(s.uid) + ",\"flags\":" + json_flags(s.flags) +
           ",\"date\":" + json_string(s.date) + ",\"internal_date\":" + json_string(s.internal_date) +
           ",\"from\":" + json_string(s.from) + ",\"to\":" + json_string(s.to) +
           ",\"subject\":" + json_string(s.subject) + ",\"message_id\":" + json_string(s.message_id) +
           ",\"size\":" + std::to_string(s.size) + "}";
    return out;
}

// The listing of `uids` (ascending: newest last) as a table or JSON.
void print_summaries(const Context& ctx, ImapClient& imap, const std::vector<std::uint32_t>& uids) {
    std::vector<Summary> rows;
    if (!uids.empty()) {
        imap.uid_fetch(uid_set_of(uids), kListItems, [&](ImapFetch& f) { rows.push_back(summary_of(f)); });
    }
    std::sort(rows.begin(), rows.end(), [](const Summary& a, const Summary& b) { return a.uid < b.uid; });
    if (ctx.g.json) {
        std::string out = "[";
        for (const auto& s : rows) out += (out.size() > 1 ? "," : "") + summary_json(s);
        std::printf("%s]\n", out.c_str());
        return;
    }
    if (rows.empty()) {
        std::printf("no messages\n");
        return;
    }
    std::vector<std::vector<std::string>> table;
    for (const auto& s : rows) {
        table.push_back({std::to_string(s.uid), maildir_flags_of(s.flags), format_internal_date(s.internal_date),
                         s.from, std::to_string(s.size), s.subject});
    }
    std::fputs(format_table({"UID", "FLAGS", "DATE", "FROM", "SIZE", "SUBJECT"}, table,
                            {true, false, false, false, true, false}, detect_style())
                   .c_str(),
               stdout);
}

// One message's bytes by UID; CliError(usage) when the mailbox has no such message.
std::string fetch_message(ImapClient& imap, std::uint32_t uid, const std::string& mailbox) {
    std::optional<std::string> message;
    imap.uid_fetch(std::to_string(uid), "(UID BODY.PEEK[])", [&](ImapFetch& f) {
        if (*f.uid != uid) return;
        for (auto& s : f.sections) {
            if (s.first == "BODY[]") message = std::move(s.second);
        }
    });
    if (!message) throw CliError(ExitCode::usage, "no message with UID " + std::to_string(uid) + " in " + mailbox);
    return std::move(*message);
}

// "+seen" / "-flagged" / "+$Label": the IMAP flag.
std::string flag_name(std::string_view word) {
    static const std::pair<const char*, const char*> system[] = {
        {"seen", "\\Seen"},       {"flagged", "\\Flagged"},    {"answered", "\\Answered"}, {"draft", "\\Draft"},
        {"deleted", "\\Deleted"}, {"forwarded", "$Forwarded"}, {"junk", "$Junk"},          {"notjunk", "$NotJunk"}};
    const std::string lower = text::ascii_lowercase(word);
    for (const auto& [name, flag] : system) {
        if (lower == name) return flag;
    }
    if (!is_imap_atom(word)) throw CliError(ExitCode::usage, "\"" + std::string(word) + "\" is not a flag name");
    return std::string(word);
}

// The UIDs of `set` that exist; CliError(usage) when none does.
std::vector<std::uint32_t> existing(ImapClient& imap, const std::string& set, const std::string& mailbox) {
    std::vector<std::uint32_t> found = imap.uid_search(ImapCommand("UID " + set));
    if (found.empty()) throw CliError(ExitCode::usage, "no message with UID " + set + " in " + mailbox);
    return found;
}

std::string internal_date_of_file(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return {};
    imap::DateTime when;
    when.utc = std::chrono::sys_seconds(std::chrono::seconds(st.st_mtime));
    return imap::format_date_time(when);
}

// ---- sync state -----------------------------------------------------------------------------

struct SyncState {
    std::string source;  // user@host:port/mailbox
    std::uint32_t uidvalidity = 0;
    std::uint64_t highestmodseq = 0;
};

std::optional<SyncState> load_sync_state(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    SyncState s;
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t sp = line.find(' ');
        if (line.starts_with("#") || sp == std::string::npos) continue;
        const std::string key = line.substr(0, sp), value = line.substr(sp + 1);
        try {
            if (key == "source") s.source = value;
            else if (key == "uidvalidity") s.uidvalidity = static_cast<std::uint32_t>(std::stoul(value));
            else if (key == "highestmodseq") s.highestmodseq = std::stoull(value);
        } catch (const std::exception&) {
            throw CliError(ExitCode::failure, path + ": a bad value for " + key);
        }
    }
    if (s.source.empty() || s.uidvalidity == 0) throw CliError(ExitCode::failure, path + " is not a sync state file");
    return s;
}

// Written to a temporary file, synced, renamed over the old one: never half-written.
void save_sync_state(const std::string& path, const SyncState& s) {
    const std::string tmp = path + ".tmp";
    const std::string text = "# mailcli imap sync: what this Maildir mirrors (do not edit)\nsource " + s.source +
                             "\nuidvalidity " + std::to_string(s.uidvalidity) + "\nhighestmodseq " +
                             std::to_string(s.highestmodseq) + "\n";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw CliError(ExitCode::failure, "cannot write " + tmp + ": " + std::strerror(errno));
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
    close(fd);
    if (!written || rename(tmp.c_str(), path.c_str()) != 0) {
        unlink(tmp.c_str());
        throw CliError(ExitCode::failure, "cannot write " + path + ": " + std::strerror(errno));
    }
}

// Sizes of `uids` for the download (and its progress bar).
std::vector<DownloadItem> sizes_of(ImapClient& imap, const std::vector<std::uint32_t>& uids) {
    std::map<std::uint32_t, std::uint64_t> size;
    if (!uids.empty()) {
        imap.uid_fetch(uid_set_of(uids), "(UID RFC822.SIZE)", [&](ImapFetch& f) { size[*f.uid] = f.size.value_or(0); });
    }
    std::vector<DownloadItem> items;
    for (std::uint32_t uid : uids) {
        auto it = size.find(uid);
        if (it != size.end()) items.push_back({uid, it->second});
    }
    return items;
}

}  // namespace

// ---- the command line -----------------------------------------------------------------------

struct ImapCommands::Options {
    CLI::App* imap = nullptr;
    CLI::App *mailboxes = nullptr, *list = nullptr, *read = nullptr, *save = nullptr, *raw = nullptr, *search = nullptr,
             *flag = nullptr, *move = nullptr, *copy = nullptr, *del = nullptr, *mkdir = nullptr, *rmdir = nullptr,
             *rename = nullptr, *append = nullptr, *import = nullptr, *export_ = nullptr, *sync = nullptr,
             *watch = nullptr;
    std::string mailbox = "INBOX";
    std::string list_mailbox = "INBOX";
    std::size_t limit = 0;
    bool unseen = false;
    std::uint32_t uid = 0;
    std::string attachments_dir;
    std::string raw_keys;
    std::vector<std::string> uids_and_target;
    bool expunge = false;
    std::string name, new_name;
    std::vector<std::string> files;
    std::vector<std::string> append_flags;
    std::string import_maildir, import_mbox, import_to = "INBOX";
    std::string maildir;
    unsigned connections = 4;
    std::string exec;
    std::size_t count = 0;
    int renew = kDefaultIdleRenewSeconds;
};

ImapCommands::ImapCommands(CLI::App& app, Context& ctx) : options_(std::make_unique<Options>()), ctx_(ctx) {
    Options& o = *options_;
    o.imap = app.add_subcommand("imap", "read and manage mail over IMAP");
    o.imap->require_subcommand(1);
    auto mailbox_option = [&](CLI::App* c) {
        c->add_option("--mailbox", o.mailbox, "the mailbox the UIDs are in")->capture_default_str();
    };
    o.mailboxes = o.imap->add_subcommand("mailboxes", "every mailbox with its special use, messages, unseen and size");

    o.list = o.imap->add_subcommand("list", "messages as a table: UID, flags, date, from, size, subject (newest last)");
    o.list->add_option("MAILBOX", o.list_mailbox, "the mailbox")->capture_default_str();
    o.list->add_option("--limit", o.limit, "only the newest N messages (default: all)");
    o.list->add_flag("--unseen", o.unseen, "only messages without \\Seen");

    o.read = o.imap->add_subcommand("read", "show one message, rendered safely");
    o.read->add_option("UID", o.uid, "the message's UID")->required();
    mailbox_option(o.read);
    o.save = o.imap->add_subcommand("save", "save a message's attachments");
    o.save->add_option("UID", o.uid, "the message's UID")->required();
    o.save->add_option("--attachments", o.attachments_dir, "directory for the files")->required();
    mailbox_option(o.save);
    o.raw = o.imap->add_subcommand("raw", "print a message as it is on the server");
    o.raw->add_option("UID", o.uid, "the message's UID")->required();
    mailbox_option(o.raw);

    o.search = o.imap->add_subcommand(
        "search",
        "find messages: search QUERY..., such as from:alice subject:\"q3 report\" since:2026-01-01 "
        "unseen larger:1M, with and/or/not (or -term) and parentheses (see mailcli(1))");
    // QUERY: every word that is not an option of search, in order ("-seen" is a negation).
    o.search->allow_extras()->fallthrough(false);
    o.search->add_option("--raw", o.raw_keys, "IMAP SEARCH keys as they are, instead of a query");
    o.search->add_option("--limit", o.limit, "only the newest N results (default: all)");
    mailbox_option(o.search);

    o.flag = o.imap->add_subcommand("flag", "add (+seen) or remove (-flagged) flags: UID... +FLAG... -FLAG...");
    // "-flagged" is a flag to remove, not an option: what is not an option of flag stays here.
    o.flag->allow_extras()->fallthrough(false);
    mailbox_option(o.flag);
    o.move = o.imap->add_subcommand("move", "move messages to another mailbox: UID... MAILBOX");
    o.move->add_option("ARGS", o.uids_and_target, "UIDs, then the target mailbox")->required();
    mailbox_option(o.move);
    o.copy = o.imap->add_subcommand("copy", "copy messages to another mailbox: UID... MAILBOX");
    o.copy->add_option("ARGS", o.uids_and_target, "UIDs, then the target mailbox")->required();
    mailbox_option(o.copy);
    o.del = o.imap->add_subcommand("delete", "move messages to Trash (or remove them with --expunge)");
    o.del->add_option("UID", o.uids_and_target, "UIDs")->required();
    o.del->add_flag("--expunge", o.expunge, "remove them now instead (also when there is no Trash)");
    mailbox_option(o.del);

    o.mkdir = o.imap->add_subcommand("mkdir", "create a mailbox");
    o.mkdir
        ->add_option("NAME", o.name, "its name (UTF-8; the server's hierarchy delimiter, \"/\" on most, makes levels)")
        ->required();
    o.rmdir = o.imap->add_subcommand("rmdir", "delete a mailbox and the messages in it");
    o.rmdir->add_option("NAME", o.name, "its name")->required();
    o.rename = o.imap->add_subcommand("rename", "rename a mailbox");
    o.rename->add_option("OLD", o.name, "its name now")->required();
    o.rename->add_option("NEW", o.new_name, "its new name")->required();

    o.append = o.imap->add_subcommand("append", "store message files in a mailbox");
    o.append->add_option("MAILBOX", o.name, "the mailbox")->required();
    o.append->add_option("FILE", o.files, "message files (RFC 5322)")->required()->check(CLI::ExistingFile);
    o.append->add_option("--flag", o.append_flags, "a flag for the stored messages (repeatable: seen, flagged, ...)");
    o.import = o.imap->add_subcommand("import", "store every message of a Maildir or an mbox file in a mailbox");
    auto* from_maildir = o.import->add_option("--maildir", o.import_maildir, "a Maildir (flags from its file names)")
                             ->check(CLI::ExistingDirectory);
    auto* from_mbox = o.import->add_option("--mbox", o.import_mbox, "an mbox file")->check(CLI::ExistingFile);
    from_maildir->excludes(from_mbox);
    o.import->add_option("--to", o.import_to, "the mailbox")->capture_default_str();

    o.export_ = o.imap->add_subcommand("export", "download every message of a mailbox into a new Maildir");
    o.export_->add_option("MAILBOX", o.name, "the mailbox")->required();
    o.export_->add_option("--maildir", o.maildir, "the Maildir (created; must hold no messages)")->required();
    o.export_->add_option("--connections", o.connections, "connections downloading in parallel")
        ->check(CLI::Range(1u, kMaxConnections))
        ->capture_default_str();
    o.sync = o.imap->add_subcommand("sync", "bring a Maildir up to date with a mailbox (only what changed)");
    o.sync->add_option("MAILBOX", o.name, "the mailbox")->required();
    o.sync->add_option("--maildir", o.maildir, "the Maildir (created the first time)")->required();
    o.sync->add_option("--connections", o.connections, "connections downloading in parallel")
        ->check(CLI::Range(1u, kMaxConnections))
        ->capture_default_str();

    o.watch = o.imap->add_subcommand("watch", "wait in IDLE and print a line for each new message");
    o.watch->add_option("MAILBOX", o.list_mailbox, "the mailbox")->capture_default_str();
    o.watch->add_option(
        "--exec", o.exec,
        "run this /bin/sh command for each new message, with MAILCLI_UID, MAILCLI_MAILBOX, "
        "MAILCLI_FROM, MAILCLI_TO, MAILCLI_SUBJECT, MAILCLI_DATE, MAILCLI_SIZE, MAILCLI_MESSAGE_ID set");
    o.watch->add_option("--count", o.count, "stop after N new messages (default: never)");
    o.watch->add_option("--renew", o.renew, "seconds before IDLE is ended and started again")
        ->check(CLI::Range(1, 29 * 60))
        ->capture_default_str();
}

ImapCommands::~ImapCommands() = default;

namespace {

ImapClient connect(Context& ctx, bool qresync = false) {
    return ImapClient(settings_for(ctx, Protocol::imap), qresync);
}

int run_mailboxes(Context& ctx) {
    ImapClient imap(settings_for(ctx, Protocol::imap));
    std::vector<MailboxListing> boxes = imap.list(true);
    imap.logout();
    std::sort(boxes.begin(), boxes.end(), [](const MailboxListing& a, const MailboxListing& b) {
        if ((a.name == "INBOX") != (b.name == "INBOX")) return a.name == "INBOX";
        return a.name < b.name;
    });
    auto count = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
    if (ctx.g.json) {
        std::string out = "[";
        for (const auto& m : boxes) {
            auto number = [](const std::optional<std::uint64_t>& v) {
                return v ? std::to_string(*v) : std::string("null");
            };
            const client::ImapStatusEntry st = m.status.value_or(client::ImapStatusEntry{});
            out += (out.size() > 1 ? "," : "") + std::string("{\"name\":") + json_string(m.name) +
                   ",\"special_use\":" + json_string(m.special_use()) +
                   ",\"selectable\":" + (m.selectable() ? "true" : "false") + ",\"messages\":" + number(st.messages) +
                   ",\"unseen\":" + number(st.unseen) + ",\"size\":" + number(st.size) + "}";
        }
        std::printf("%s]\n", out.c_str());
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : boxes) {
        const client::ImapStatusEntry st = m.status.value_or(client::ImapStatusEntry{});
        rows.push_back({terminal_safe(m.name), m.special_use(), count(st.messages), count(st.unseen), count(st.size)});
    }
    std::fputs(format_table({"MAILBOX", "USE", "MESSAGES", "UNSEEN", "SIZE"}, rows, {false, false, true, true, true},
                            detect_style())
                   .c_str(),
               stdout);
    return 0;
}

int run_list(Context& ctx, const std::string& mailbox, std::size_t limit, bool unseen) {
    ImapClient imap = connect(ctx);
    imap.select(mailbox, true);
    std::vector<std::uint32_t> uids = imap.uid_search(ImapCommand(unseen ? "UNSEEN" : "ALL"));
    if (limit && uids.size() > limit) uids.erase(uids.begin(), uids.end() - static_cast<std::ptrdiff_t>(limit));
    print_summaries(ctx, imap, uids);
    imap.logout();
    return 0;
}

int run_search(Context& ctx, const std::string& mailbox, const std::vector<std::string>& words,
               const std::string& raw_keys, std::size_t limit) {
    ImapCommand keys;
    if (!raw_keys.empty()) {
        if (!words.empty()) throw CliError(ExitCode::usage, "give a query or --raw, not both");
        keys = ImapCommand(raw_keys);
    } else {
        std::string query;
        for (const auto& w : words) query += (query.empty() ? "" : " ") + w;
        const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
        keys = translate_search_query(query, today);
    }
    ImapClient imap = connect(ctx);
    imap.select(mailbox, true);
    std::vector<std::uint32_t> uids = imap.uid_search(keys);
    if (limit && uids.size() > limit) uids.erase(uids.begin(), uids.end() - static_cast<std::ptrdiff_t>(limit));
    print_summaries(ctx, imap, uids);
    imap.logout();
    return 0;
}

int run_read(Context& ctx, const std::string& mailbox, std::uint32_t uid, bool raw) {
    ImapClient imap = connect(ctx);
    imap.select(mailbox, true);
    const std::string message = fetch_message(imap, uid, mailbox);
    imap.logout();
    print_message(ctx, "uid", uid, message, raw);
    return 0;
}

int run_save(Context& ctx, const std::string& mailbox, std::uint32_t uid, const std::string& dir) {
    ImapClient imap = connect(ctx);
    imap.select(mailbox, true);
    const std::string message = fetch_message(imap, uid, mailbox);
    imap.logout();
    save_attachments(ctx, dir, message, "message " + std::to_string(uid));
    return 0;
}

int run_flag(Context& ctx, const std::string& mailbox, const std::vector<std::string>& args) {
    std::vector<std::string> uids, add, remove;
    for (const auto& a : args) {
        if (a.starts_with("+")) add.push_back(flag_name(a.substr(1)));
        else if (a.starts_with("-") && !a.starts_with("--")) remove.push_back(flag_name(a.substr(1)));
        else if (a.starts_with("--")) throw CliError(ExitCode::usage, "unknown option " + a);
        else uids.push_back(a);
    }
    if (add.empty() && remove.empty()) throw CliError(ExitCode::usage, "give flags to change: +seen -flagged ...");
    const std::string set = uid_set_arg(uids);
    ImapClient imap = connect(ctx);
    imap.select(mailbox, false);
    const std::vector<std::uint32_t> found = existing(imap, set, mailbox);
    if (!add.empty()) imap.uid_store(uid_set_of(found), true, add);
    if (!remove.empty()) imap.uid_store(uid_set_of(found), false, remove);
    imap.logout();
    if (ctx.g.json) std::printf("{\"changed\":%zu}\n", found.size());
    else std::printf("changed the flags of %s\n", plural(found.size(), "message").c_str());
    return 0;
}

int run_transfer(Context& ctx, const std::string& mailbox, std::vector<std::string> args, bool move) {
    if (args.size() < 2) throw CliError(ExitCode::usage, "give UIDs and then the target mailbox");
    const std::string target = args.back();
    args.pop_back();
    const std::string set = uid_set_arg(args);
    ImapClient imap = connect(ctx);
    imap.select(mailbox, false);
    const std::vector<std::uint32_t> found = existing(imap, set, mailbox);
    if (move) imap.uid_move(uid_set_of(found), target);
    else imap.uid_copy(uid_set_of(found), target);
    imap.logout();
    if (ctx.g.json)
        std::printf("{\"%s\":%zu,\"to\":%s}\n", move ? "moved" : "copied", found.size(), json_string(target).c_str());
    else
        std::printf("%s %s to %s\n", move ? "moved" : "copied", plural(found.size(), "message").c_str(),
                    terminal_safe(target).c_str());
    return 0;
}

int run_delete(Context& ctx, const std::string& mailbox, const std::vector<std::string>& args, bool expunge) {
    const std::string set = uid_set_arg(args);
    ImapClient imap = connect(ctx);
    const std::string trash = expunge ? std::string() : imap.find_special("\\Trash", "Trash");
    imap.select(mailbox, false);
    const std::vector<std::uint32_t> found = existing(imap, set, mailbox);
    const bool to_trash = !trash.empty() && trash != mailbox;
    if (to_trash) {
        imap.uid_move(uid_set_of(found), trash);
    } else {
        imap.uid_store(uid_set_of(found), true, {"\\Deleted"});
        imap.uid_expunge(uid_set_of(found));
    }
    imap.logout();
    if (ctx.g.json) {
        std::printf("{\"deleted\":%zu,\"trash\":%s}\n", found.size(), to_trash ? json_string(trash).c_str() : "null");
    } else if (to_trash) {
        std::printf("moved %s to %s\n", plural(found.size(), "message").c_str(), terminal_safe(trash).c_str());
    } else {
        std::printf("deleted %s\n", plural(found.size(), "message").c_str());
    }
    return 0;
}

int run_mailbox_change(Context& ctx, const char* what, const std::string& name, const std::string& new_name) {
    ImapClient imap = connect(ctx);
    const std::string verb = what;
    if (verb == "mkdir") imap.create(name);
    else if (verb == "rmdir") imap.delete_mailbox(name);
    else imap.rename(name, new_name);
    imap.logout();
    const std::string done = verb == "mkdir"   ? "created " + name
                             : verb == "rmdir" ? "deleted " + name
                                               : "renamed " + name + " to " + new_name;
    if (ctx.g.json) std::printf("{\"done\":%s}\n", json_string(done).c_str());
    else std::printf("%s\n", terminal_safe(done).c_str());
    return 0;
}

int run_append(Context& ctx, const std::string& mailbox, const std::vector<std::string>& files,
               const std::vector<std::string>& flag_words) {
    std::vector<std::string> flags;
    for (const auto& f : flag_words) flags.push_back(flag_name(f));
    ImapClient imap = connect(ctx);
    std::string json;
    for (const auto& path : files) {
        const std::string message = to_crlf(read_file(path));
        const std::optional<std::uint32_t> uid = imap.append(mailbox, flags, internal_date_of_file(path), message);
        if (ctx.g.json) {
            json += (json.empty() ? "" : ",") + std::string("{\"file\":") + json_string(path) +
                    ",\"uid\":" + (uid ? std::to_string(*uid) : std::string("null")) + "}";
        } else {
            std::printf("appended %s to %s%s\n", terminal_safe(path).c_str(), terminal_safe(mailbox).c_str(),
                        uid ? (" as UID " + std::to_string(*uid)).c_str() : "");
        }
    }
    imap.logout();
    if (ctx.g.json) std::printf("[%s]\n", json.c_str());
    return 0;
}

int run_import(Context& ctx, const std::string& maildir, const std::string& mbox, const std::string& mailbox) {
    if (maildir.empty() == mbox.empty()) throw CliError(ExitCode::usage, "give --maildir DIR or --mbox FILE");
    struct Item {
        std::string bytes;
        std::vector<std::string> flags;
        std::string date;
    };
    std::vector<Item> items;
    if (!maildir.empty()) {
        std::vector<MaildirMessage> files = maildir_messages(maildir);
        std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.unique < b.unique; });
        for (const auto& m : files)
            items.push_back({to_crlf(read_file(m.path)), imap_flags_of(m.flags), internal_date_of_file(m.path)});
    } else {
        for (auto& m : split_mbox(read_file(mbox, kMaxMboxSize))) {
            items.push_back(
                {std::move(m.bytes), m.seen ? std::vector<std::string>{"\\Seen"} : std::vector<std::string>{}, {}});
        }
    }
    ImapClient imap = connect(ctx);
    ProgressBar bar(items.size(), !ctx.g.json);
    std::size_t done = 0;
    for (const auto& item : items) {
        imap.append(mailbox, item.flags, item.date, item.bytes);
        bar.update(++done, "");
    }
    bar.finish();
    imap.logout();
    if (ctx.g.json) std::printf("{\"imported\":%zu,\"mailbox\":%s}\n", done, json_string(mailbox).c_str());
    else std::printf("imported %s into %s\n", plural(done, "message").c_str(), terminal_safe(mailbox).c_str());
    return 0;
}

std::string download_summary(const DownloadReport& r, unsigned connections) {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.1f MB in %.2f s", static_cast<double>(r.octets) / 1e6, r.seconds);
    std::string out = plural(r.messages, "message") + ", " + rate + " over " + plural(connections, "connection");
    if (r.connections_failed) out += " (" + std::to_string(r.connections_failed) + " failed and were replaced)";
    return out;
}

std::string report_json(const DownloadReport& r, unsigned connections) {
    std::string errors = "[";
    for (const auto& e : r.errors) errors += (errors.size() > 1 ? "," : "") + json_string(e);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", r.seconds);
    return "\"downloaded\":" + std::to_string(r.messages) + ",\"bytes\":" + std::to_string(r.octets) +
           ",\"seconds\":" + seconds + ",\"connections\":" + std::to_string(connections) +
           ",\"failed_connections\":" + std::to_string(r.connections_failed) + ",\"errors\":" + errors + "]";
}

DownloadOptions download_options(Context& ctx, const std::string& mailbox, std::uint32_t uidvalidity,
                                 unsigned connections) {
    DownloadOptions d;
    d.settings = with_password_now(settings_for(ctx, Protocol::imap));
    d.mailbox = mailbox;
    d.uidvalidity = uidvalidity;
    d.connections = connections;
    d.progress = !ctx.g.json;
    return d;
}

int run_export(Context& ctx, const std::string& mailbox, const std::string& dir, unsigned connections) {
    maildir_create(dir);
    if (!maildir_messages(dir).empty()) {
        throw CliError(ExitCode::usage, dir +
                                            " already holds messages: export writes into an empty Maildir "
                                            "(imap sync keeps one up to date)");
    }
    ImapClient imap = connect(ctx);
    const SelectedMailbox box = imap.select(mailbox, true);
    const std::vector<DownloadItem> items =
        box.exists ? sizes_of(imap, imap.uid_search(ImapCommand("ALL"))) : std::vector<DownloadItem>{};
    imap.logout();
    const DownloadReport r = download_messages(
        download_options(ctx, mailbox, box.uidvalidity, connections), items,
        [&](DownloadedMessage&& m) { maildir_store(dir, m.bytes, m.uid, maildir_flags_of(m.flags)); });
    warn_failed_connections(r);
    if (ctx.g.json)
        std::printf("{\"mailbox\":%s,%s}\n", json_string(mailbox).c_str(), report_json(r, connections).c_str());
    else std::printf("exported %s\n", download_summary(r, connections).c_str());
    return 0;
}

int run_sync(Context& ctx, const std::string& mailbox, const std::string& dir, unsigned connections) {
    maildir_create(dir);
    maildir_clean_tmp(dir);
    const ServerSettings settings = settings_for(ctx, Protocol::imap);
    const std::string source =
        settings.user + "@" + settings.host + ":" + std::to_string(settings.port) + "/" + mailbox;
    const std::string state_path = dir + "/" + kSyncStateName;
    std::optional<SyncState> state = load_sync_state(state_path);
    if (state && state->source != source) {
        throw CliError(ExitCode::usage, dir + " mirrors " + state->source + ", not " + source);
    }
    ImapClient imap(settings, true);
    SelectedMailbox box = imap.select(mailbox, true, state ? state->uidvalidity : 0, state ? state->highestmodseq : 0);
    if (state && state->uidvalidity != box.uidvalidity) {
        throw CliError(ExitCode::protocol, "the UIDVALIDITY of " + mailbox + " changed (from " +
                                               std::to_string(state->uidvalidity) + " to " +
                                               std::to_string(box.uidvalidity) + "): its UIDs no longer match " + dir +
                                               "; sync into a new Maildir");
    }
    std::vector<MaildirMessage> duplicates;
    std::map<std::uint32_t, MaildirMessage> local = maildir_uid_index(dir, &duplicates);
    if (!state) {
        if (!local.empty()) {
            throw CliError(ExitCode::usage, dir + " holds messages with UIDs but no " + kSyncStateName +
                                                ": it was not made by imap sync");
        }
        // Recorded before the first message: every ",U=" in this Maildir is of this UIDVALIDITY.
        state = SyncState{source, box.uidvalidity, 0};
        save_sync_state(state_path, *state);
    }
    for (const auto& d : duplicates) unlink(d.path.c_str());

    const std::vector<std::uint32_t> on_server =
        box.exists ? imap.uid_search(ImapCommand("ALL")) : std::vector<std::uint32_t>{};
    const std::set<std::uint32_t> server_set(on_server.begin(), on_server.end());
    // Expunged on the server: gone here too (QRESYNC's VANISHED says the same, sooner).
    std::size_t expunged = 0;
    for (auto it = local.begin(); it != local.end();) {
        if (server_set.count(it->first)) {
            ++it;
            continue;
        }
        if (unlink(it->second.path.c_str()) != 0 && errno != ENOENT) {
            throw CliError(ExitCode::failure, "cannot remove " + it->second.path + ": " + std::strerror(errno));
        }
        ++expunged;
        it = local.erase(it);
    }
    // Flags: with CONDSTORE only what changed since the last sync, else every known message's.
    std::size_t flag_changes = 0;
    auto apply_flags = [&](ImapFetch& f) {
        auto it = local.find(*f.uid);
        if (it == local.end() || !f.flags) return;
        const std::string flags = maildir_flags_of(*f.flags);
        if (flags == it->second.flags) return;
        maildir_set_flags(dir, it->second, flags);
        ++flag_changes;
    };
    if (!local.empty()) {
        if (imap.condstore_enabled() && state->highestmodseq && box.highestmodseq) {
            for (auto& f : box.changed) apply_flags(f);
            if (box.highestmodseq != state->highestmodseq)
                imap.uid_fetch("1:*", "(UID FLAGS)", apply_flags, state->highestmodseq);
        } else {
            std::vector<std::uint32_t> known;
            for (const auto& [uid, m] : local) known.push_back(uid);
            imap.uid_fetch(uid_set_of(known), "(UID FLAGS)", apply_flags);
        }
    }
    std::vector<std::uint32_t> wanted;
    for (std::uint32_t uid : on_server) {
        if (!local.count(uid)) wanted.push_back(uid);
    }
    const std::vector<DownloadItem> items = sizes_of(imap, wanted);
    imap.logout();
    const DownloadReport r = download_messages(
        download_options(ctx, mailbox, box.uidvalidity, connections), items,
        [&](DownloadedMessage&& m) { maildir_store(dir, m.bytes, m.uid, maildir_flags_of(m.flags)); });
    warn_failed_connections(r);
    // Only now is the Maildir as the server was at SELECT: the next sync may start from here.
    state->highestmodseq = box.highestmodseq;
    save_sync_state(state_path, *state);
    if (ctx.g.json) {
        std::printf("{\"mailbox\":%s,\"new\":%zu,\"flag_changes\":%zu,\"expunged\":%zu,%s}\n",
                    json_string(mailbox).c_str(), r.messages, flag_changes, expunged,
                    report_json(r, connections).c_str());
    } else {
        std::printf("synced %s: %zu new, %zu flag changes, %zu expunged (%s)\n", terminal_safe(mailbox).c_str(),
                    r.messages, flag_changes, expunged, download_summary(r, connections).c_str());
    }
    return 0;
}

// ---- watch ----------------------------------------------------------------------------------

void run_exec(const std::string& command, const Summary& s, const std::string& mailbox) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) throw CliError(ExitCode::failure, std::string("cannot run --exec: ") + std::strerror(errno));
    if (pid == 0) {
        setenv("MAILCLI_UID", std::to_string(s.uid).c_str(), 1);
        setenv("MAILCLI_MAILBOX", mailbox.c_str(), 1);
        setenv("MAILCLI_FROM", s.from.c_str(), 1);
        setenv("MAILCLI_TO", s.to.c_str(), 1);
        setenv("MAILCLI_SUBJECT", s.subject.c_str(), 1);
        setenv("MAILCLI_DATE", s.date.c_str(), 1);
        setenv("MAILCLI_SIZE", std::to_string(s.size).c_str(), 1);
        setenv("MAILCLI_MESSAGE_ID", s.message_id.c_str(), 1);
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "mailcli: --exec for UID %u exited with %d\n", s.uid,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
}

struct Watcher {
    Context& ctx;
    std::string mailbox;
    std::string exec;
    std::size_t count = 0;  // 0: forever
    std::chrono::seconds renew;
    std::uint32_t uidvalidity = 0;
    std::uint32_t next_uid = 0;  // the first UID not yet reported
    std::size_t reported = 0;

    bool enough() const { return count && reported >= count; }

    // Reports messages from next_uid on.
    void report_new(ImapClient& imap) {
        std::vector<Summary> found;
        imap.uid_fetch(std::to_string(std::max<std::uint32_t>(next_uid, 1)) + ":*", kListItems, [&](ImapFetch& f) {
            if (*f.uid >= next_uid) found.push_back(summary_of(f));
        });
        std::sort(found.begin(), found.end(), [](const Summary& a, const Summary& b) { return a.uid < b.uid; });
        for (const auto& s : found) {
            if (enough()) return;
            if (ctx.g.json) {
                std::printf("%s\n", summary_json(s, mailbox).c_str());
            } else {
                std::printf("%s  UID %u  %s  %s\n", format_internal_date(s.internal_date).c_str(), s.uid,
                            terminal_safe(s.from).c_str(), terminal_safe(s.subject).c_str());
            }
            std::fflush(stdout);
            next_uid = s.uid + 1;
            ++reported;
            if (!exec.empty()) run_exec(exec, s, mailbox);
        }
    }

    // One connection's life; returns when enough messages were reported.
    void session() {
        ImapClient imap(settings_for(ctx, Protocol::imap));
        const SelectedMailbox box = imap.select(mailbox, true);
        if (uidvalidity != box.uidvalidity) {
            uidvalidity = box.uidvalidity;
            next_uid = box.uidnext;  // only what arrives from now on
        } else {
            report_new(imap);  // what arrived while the connection was down
        }
        const bool idle = imap.has("IDLE");
        while (!enough()) {
            bool arrived = false;
            auto note = [&](ImapResponse& r) {
                if (r.keyword == "EXISTS") arrived = true;
            };
            if (idle) {
                imap.idle_start();
                const auto until = net::ClientClock::now() + renew;
                while (!arrived && imap.idle_wait(until, note)) {}
                imap.idle_done(note);
            } else {
                std::this_thread::sleep_for(kPollInterval);
                imap.run(ImapCommand("NOOP"), note);
            }
            if (arrived) report_new(imap);
        }
        imap.logout();
    }
};

int run_watch(Context& ctx, const std::string& mailbox, const std::string& exec, std::size_t count, int renew) {
    Watcher w{ctx, mailbox, exec, count, std::chrono::seconds(renew)};
    int backoff = 1;
    for (;;) {
        const auto started = std::chrono::steady_clock::now();
        try {
            w.session();
            return 0;
        } catch (const CliError& e) {
            // Only a lost connection is retried; a refused login or a broken server is final.
            if (e.code() != ExitCode::connection) throw;
            if (std::chrono::steady_clock::now() - started > std::chrono::seconds(kMaxBackoffSeconds)) backoff = 1;
            std::fprintf(stderr, "mailcli: %s; reconnecting in %d s\n", terminal_safe(e.what()).c_str(), backoff);
            std::this_thread::sleep_for(std::chrono::seconds(backoff));
            backoff = std::min(backoff * 2, kMaxBackoffSeconds);
        }
    }
}

}  // namespace

std::string save_sent(Context& ctx, std::string_view message) {
    ImapClient imap(settings_for(ctx, Protocol::imap));
    const std::string sent = imap.find_special("\\Sent", "Sent");
    if (sent.empty()) throw CliError(ExitCode::partial, "sent, but the server has no Sent mailbox to save it in");
    imap.append(sent, {"\\Seen"}, "", message);
    imap.logout();
    return sent;
}

std::optional<int> ImapCommands::run() {
    Options& o = *options_;
    Context& ctx = ctx_;
    if (!o.imap->parsed()) return std::nullopt;
    if (o.mailboxes->parsed()) return run_mailboxes(ctx);
    if (o.list->parsed()) return run_list(ctx, o.list_mailbox, o.limit, o.unseen);
    if (o.read->parsed()) return run_read(ctx, o.mailbox, o.uid, false);
    if (o.raw->parsed()) return run_read(ctx, o.mailbox, o.uid, true);
    if (o.save->parsed()) return run_save(ctx, o.mailbox, o.uid, o.attachments_dir);
    if (o.search->parsed()) return run_search(ctx, o.mailbox, o.search->remaining(), o.raw_keys, o.limit);
    if (o.flag->parsed()) return run_flag(ctx, o.mailbox, o.flag->remaining());
    if (o.move->parsed()) return run_transfer(ctx, o.mailbox, o.uids_and_target, true);
    if (o.copy->parsed()) return run_transfer(ctx, o.mailbox, o.uids_and_target, false);
    if (o.del->parsed()) return run_delete(ctx, o.mailbox, o.uids_and_target, o.expunge);
    if (o.mkdir->parsed()) return run_mailbox_change(ctx, "mkdir", o.name, {});
    if (o.rmdir->parsed()) return run_mailbox_change(ctx, "rmdir", o.name, {});
    if (o.rename->parsed()) return run_mailbox_change(ctx, "rename", o.name, o.new_name);
    if (o.append->parsed()) return run_append(ctx, o.name, o.files, o.append_flags);
    if (o.import->parsed()) return run_import(ctx, o.import_maildir, o.import_mbox, o.import_to);
    if (o.export_->parsed()) return run_export(ctx, o.name, o.maildir, o.connections);
    if (o.sync->parsed()) return run_sync(ctx, o.name, o.maildir, o.connections);
    if (o.watch->parsed()) return run_watch(ctx, o.list_mailbox, o.exec, o.count, o.renew);
    throw CliError(ExitCode::usage, "no imap command");
}

}  // namespace hikyaku::mailcli
