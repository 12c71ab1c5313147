// imap_client.cpp: one IMAP session (see imap_client.h).
// Must never: log in without TLS when STARTTLS was requested, put a password in the trace,
// or take a NO for an OK.
#include "mailcli/imap_client.h"

#include <algorithm>
#include <cstdio>

#include "common/text/base64.h"
#include "imapd/imap_lexer.h"
#include "imapd/mailbox_name.h"
#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

constexpr std::size_t kShownText = 200;
constexpr std::size_t kShownCommand = 60;
// A response must bring this many octets (or end) within each --timeout period.
constexpr std::size_t kMinProgress = 1024;
// Under LITERAL- (RFC 7888 4) a non-synchronizing literal may hold at most this many octets.
constexpr std::size_t kLiteralMinusMax = 4096;

std::string upper(std::string_view s) { return imap::ascii_upper(s); }

std::string said(const ImapResponse& r) {
    std::string out = r.status;
    if (!r.code.empty()) out += " [" + r.code + (r.code_args.empty() ? "" : " " + r.code_args) + "]";
    if (!r.text.empty()) out += " " + r.text.substr(0, kShownText);
    return out;
}

}  // namespace

// ---- ImapCommand ----------------------------------------------------------------------------

bool is_imap_atom(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return imap::is_atom_char(c); });
}

std::optional<std::string> imap_quoted(std::string_view value) {
    std::string out = "\"";
    for (unsigned char c : value) {
        if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80) return std::nullopt;
        if (c == '"' || c == '\\') out += '\\';
        out += static_cast<char>(c);
    }
    return out + "\"";
}

ImapCommand& ImapCommand::raw(std::string_view text) {
    if (text.empty()) return *this;
    if (parts_.empty() || parts_.back().is_literal) parts_.push_back({});
    parts_.back().text.append(text);
    return *this;
}

ImapCommand& ImapCommand::astring(std::string_view value) {
    raw(" ");
    if (is_imap_atom(value)) return raw(value);
    if (auto q = imap_quoted(value)) return raw(*q);
    parts_.push_back({std::string(value), true});
    return *this;
}

ImapCommand& ImapCommand::literal(std::string_view value) {
    raw(" ");
    parts_.push_back({std::string(value), true});
    return *this;
}

ImapCommand& ImapCommand::append(const ImapCommand& other) {
    for (const Part& p : other.parts_) {
        if (p.is_literal) parts_.push_back(p);
        else raw(p.text);
    }
    return *this;
}

bool ImapCommand::has_literal() const {
    return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.is_literal; });
}

bool ImapCommand::needs_utf8() const {
    return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) {
        return p.is_literal && std::any_of(p.text.begin(), p.text.end(), [](char c) { return c & 0x80; });
    });
}

std::string ImapCommand::shown() const {
    std::string out;
    for (const Part& p : parts_) {
        if (!p.is_literal) {
            out += p.text;
            continue;
        }
        const bool printable = p.text.size() <= 80 && std::none_of(p.text.begin(), p.text.end(), [](char c) {
                                   return c == '\r' || c == '\n' || c == '\0';
                               });
        out += "{" + std::to_string(p.text.size()) + "}" + (printable ? "[" + p.text + "]" : "");
    }
    return out;
}

// ---- flags ----------------------------------------------------------------------------------

std::string maildir_flags_of(const std::vector<std::string>& imap_flags) {
    static const std::pair<const char*, char> table[] = {{"\\DRAFT", 'D'},    {"\\FLAGGED", 'F'}, {"$FORWARDED", 'P'},
                                                         {"\\ANSWERED", 'R'}, {"\\SEEN", 'S'},    {"\\DELETED", 'T'}};
    std::string out;
    for (const auto& [name, letter] : table) {  // the table is in ASCII order of the letters
        for (const auto& f : imap_flags) {
            if (upper(f) == name) {
                out += letter;
                break;
            }
        }
    }
    return out;
}

std::vector<std::string> imap_flags_of(std::string_view maildir_flags) {
    std::vector<std::string> out;
    for (char c : maildir_flags) {
        switch (c) {
            case 'D': out.push_back("\\Draft"); break;
            case 'F': out.push_back("\\Flagged"); break;
            case 'P': out.push_back("$Forwarded"); break;
            case 'R': out.push_back("\\Answered"); break;
            case 'S': out.push_back("\\Seen"); break;
            case 'T': out.push_back("\\Deleted"); break;
            default: break;  // lower-case letters are keywords local to one Maildir
        }
    }
    return out;
}

// ---- listings -------------------------------------------------------------------------------

bool MailboxListing::selectable() const {
    return std::none_of(attributes.begin(), attributes.end(), [](const std::string& a) {
        const std::string u = upper(a);
        return u == "\\NOSELECT" || u == "\\NONEXISTENT";
    });
}

std::string MailboxListing::special_use() const {
    for (const auto& a : attributes) {
        const std::string u = upper(a);
        for (const char* use : {"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT", "\\TRASH"}) {
            if (u == use) return a;
        }
    }
    return {};
}

// ---- the session ----------------------------------------------------------------------------

ImapResponse ImapClient::read_response() {
    parser_.reset();
    try {
        connection_->read_streamed_response(parser_, kMinProgress);
    } catch (const CliError& e) {
        if (!bye_.empty() && e.code() == ExitCode::connection) {
            throw CliError(ExitCode::connection, std::string(e.what()) + " after it said BYE " + bye_);
        }
        throw;
    }
    if (connection_->tracing()) {
        std::string line = parser_.first_line();
        if (parser_.literal_octets() > 0)
            line += " [... " + std::to_string(parser_.literal_octets()) + " bytes of literals]";
        connection_->trace_received(line);
    }
    if (parser_.status() != client::ImapParseStatus::complete) {
        throw CliError(ExitCode::protocol, parser_.error_message());
    }
    ImapResponse r = parser_.take_response();
    if (r.kind == ImapResponse::Kind::untagged) note_untagged(r);
    return r;
}

void ImapClient::note_untagged(const ImapResponse& r) {
    if (r.status == "BYE") bye_ = r.text.substr(0, kShownText);
    if (r.keyword == "CAPABILITY" || r.code == "CAPABILITY") capabilities_ = client::parse_capabilities(r);
}

void ImapClient::send(const std::string& tag, const ImapCommand& command, const UntaggedHandler& on_untagged) {
    const bool plus = has("LITERAL+");
    const bool minus = has("LITERAL-");
    std::string line = tag + " ";
    for (const ImapCommand::Part& part : command.parts()) {
        if (!part.is_literal) {
            line += part.text;
            continue;
        }
        const bool sync = !(plus || (minus && part.text.size() <= kLiteralMinusMax));
        line += "{" + std::to_string(part.text.size()) + (sync ? "}" : "+}");
        connection_->write_line(line);
        line.clear();
        while (sync) {
            ImapResponse r = read_response();
            if (r.kind == ImapResponse::Kind::continuation) break;
            if (r.kind == ImapResponse::Kind::tagged) {
                throw CliError(ExitCode::protocol, command.shown().substr(0, kShownCommand) + ": " + said(r));
            }
            if (on_untagged) on_untagged(r);
        }
        connection_->write_data(part.text);
    }
    connection_->write_line(line);
}

ImapResponse ImapClient::run(const ImapCommand& command, const UntaggedHandler& on_untagged, bool accept_no) {
    const std::string tag = "m" + std::to_string(next_tag_++);
    send(tag, command, on_untagged);
    for (;;) {
        ImapResponse r = read_response();
        if (r.kind == ImapResponse::Kind::untagged) {
            if (on_untagged) on_untagged(r);
            continue;
        }
        if (r.kind == ImapResponse::Kind::continuation) {
            throw CliError(ExitCode::protocol, "the server asked for more of " +
                                                   command.shown().substr(0, kShownCommand) + ": + " +
                                                   r.text.substr(0, kShownText));
        }
        if (r.tag != tag) {
            throw CliError(ExitCode::protocol, "a response with the wrong tag: " + r.tag + " " + said(r));
        }
        if (r.code == "CAPABILITY") capabilities_ = client::parse_capabilities(r);
        if (r.status != "OK" && !accept_no) {
            throw CliError(ExitCode::protocol, command.shown().substr(0, kShownCommand) + ": " + said(r));
        }
        return r;
    }
}

void ImapClient::refresh_capabilities() { run(ImapCommand("CAPABILITY")); }

ImapClient::ImapClient(const ServerSettings& settings, bool enable_qresync) : settings_(settings) {
    if (settings_.user.empty()) throw CliError(ExitCode::usage, "IMAP needs a user (--user)");
    connection_ = std::make_unique<ServerConnection>(settings_, client::ServerKind::imap);
    connection_->await_greeting();
    parser_.reset();
    connection_->read_response(parser_);  // the greeting whole within the timeout
    if (connection_->tracing()) connection_->trace_received(parser_.first_line());
    if (parser_.status() != client::ImapParseStatus::complete &&
        parser_.status() != client::ImapParseStatus::malformed) {
        throw CliError(ExitCode::protocol, parser_.error_message());
    }
    const bool parsed = parser_.status() == client::ImapParseStatus::complete;
    const ImapResponse greeting = parsed ? parser_.take_response() : ImapResponse();
    if (!parsed || greeting.kind != ImapResponse::Kind::untagged ||
        (greeting.status != "OK" && greeting.status != "PREAUTH" && greeting.status != "BYE")) {
        connection_->wrong_server(parser_.first_line().empty() ? parser_.bad_line() : parser_.first_line());
    }
    if (greeting.status == "BYE") {
        throw CliError(ExitCode::protocol, "the server refused the connection: " + said(greeting));
    }
    const bool preauth = greeting.status == "PREAUTH";
    if (greeting.code == "CAPABILITY") capabilities_ = client::parse_capabilities(greeting);
    else refresh_capabilities();

    if (settings_.tls == TlsMode::starttls) {
        if (preauth) throw CliError(ExitCode::tls, "the server logged us in before STARTTLS (PREAUTH): refusing");
        if (!has("STARTTLS")) throw CliError(ExitCode::tls, "the server does not offer STARTTLS");
        const ImapResponse r = run(ImapCommand("STARTTLS"), {}, true);
        if (r.status != "OK") throw CliError(ExitCode::tls, "STARTTLS refused: " + said(r));
        connection_->start_tls();
        capabilities_.clear();
        refresh_capabilities();  // RFC 9051 6.2.1: forget what was said before TLS
    }
    if (!preauth) login();
    if (enable_qresync && (has("QRESYNC") || has("CONDSTORE"))) {
        const std::string what = has("QRESYNC") ? "QRESYNC" : "CONDSTORE";
        run(ImapCommand("ENABLE " + what), [&](ImapResponse& r) {
            if (r.keyword != "ENABLED") return;
            for (const auto& v : r.values) {
                const std::string e = upper(v.text);
                if (e == "QRESYNC") qresync_ = condstore_ = true;
                if (e == "CONDSTORE") condstore_ = true;
            }
        });
    }
}

void ImapClient::login() {
    const std::string password = settings_.password ? settings_.password() : std::string();
    const auto quoted_user = imap_quoted(settings_.user);
    const auto quoted_password = imap_quoted(password);
    const bool plain = has("AUTH=PLAIN");
    const bool use_login = !has("LOGINDISABLED") && quoted_user && quoted_password;
    if (!use_login && !plain) {
        throw CliError(ExitCode::auth,
                       connection_->tls_active()
                           ? "the server offers no LOGIN and no AUTHENTICATE PLAIN"
                           : "the server allows no login without TLS (try --tls starttls or --tls tls)");
    }
    const std::string tag = "m" + std::to_string(next_tag_++);
    if (use_login) {
        connection_->write_line(tag + " LOGIN " + *quoted_user + " " + *quoted_password,
                                tag + " LOGIN " + *quoted_user + " ****");
    } else {
        std::string message;
        message += '\0';
        message += settings_.user;
        message += '\0';
        message += password;
        const std::string encoded = text::base64_encode(message);
        if (has("SASL-IR")) {
            connection_->write_line(tag + " AUTHENTICATE PLAIN " + encoded, tag + " AUTHENTICATE PLAIN ****");
        } else {
            connection_->write_line(tag + " AUTHENTICATE PLAIN");
            for (;;) {
                ImapResponse r = read_response();
                if (r.kind == ImapResponse::Kind::continuation) break;
                if (r.kind == ImapResponse::Kind::tagged) throw CliError(ExitCode::auth, "login failed: " + said(r));
            }
            connection_->write_line(encoded, "****");
        }
    }
    for (;;) {
        ImapResponse r = read_response();
        if (r.kind == ImapResponse::Kind::continuation) {
            connection_->write_line("*");  // RFC 9051 6.2.2: cancel an exchange we cannot continue
            continue;
        }
        if (r.kind != ImapResponse::Kind::tagged) continue;
        if (r.status != "OK") throw CliError(ExitCode::auth, "login failed: " + said(r));
        if (r.code == "CAPABILITY") capabilities_ = client::parse_capabilities(r);
        else refresh_capabilities();  // they may change after login (RFC 9051 6.2.3)
        return;
    }
}

ImapClient::~ImapClient() = default;

std::string ImapClient::mailbox_to_wire(std::string_view name) const { return imap::encode_modified_utf7(name); }

std::string ImapClient::mailbox_from_wire(std::string_view wire) const {
    auto decoded = imap::decode_modified_utf7(wire);
    if (!decoded) {
        throw CliError(ExitCode::protocol, "the server sent a mailbox name that is not valid modified UTF-7: \"" +
                                               std::string(wire.substr(0, 80)) + "\" (" + decoded.error().message +
                                               ")");
    }
    return std::move(decoded.value());
}

std::vector<MailboxListing> ImapClient::list(bool with_status) {
    std::vector<MailboxListing> out;
    std::vector<client::ImapStatusEntry> statuses;
    const bool list_status = with_status && has("LIST-STATUS");
    std::string command = "LIST \"\" \"*\"";
    if (has("SPECIAL-USE") || list_status) {
        command += " RETURN (";
        if (has("SPECIAL-USE")) command += "SPECIAL-USE";
        if (list_status) {
            command += has("SPECIAL-USE") ? " " : "";
            command +=
                std::string("STATUS (MESSAGES UNSEEN") + (has("STATUS=SIZE") || has("IMAP4REV2") ? " SIZE" : "") + ")";
        }
        command += ")";
    }
    run(ImapCommand(command), [&](ImapResponse& r) {
        if (r.keyword == "LIST") {
            auto e = client::parse_list(r);
            if (!e) throw CliError(ExitCode::protocol, "malformed LIST response");
            MailboxListing m;
            m.wire_name = e->name;
            m.name = mailbox_from_wire(e->name);
            m.attributes = std::move(e->attributes);
            m.delimiter = e->delimiter;
            out.push_back(std::move(m));
        } else if (r.keyword == "STATUS") {
            auto s = client::parse_status(r);
            if (!s) throw CliError(ExitCode::protocol, "malformed STATUS response");
            statuses.push_back(std::move(*s));
        }
    });
    for (auto& s : statuses) {
        for (auto& m : out) {
            if (m.wire_name == s.name) m.status = s;
        }
    }
    if (with_status && !list_status) {
        for (auto& m : out) {
            if (m.selectable()) m.status = status(m.name);
        }
    }
    return out;
}

client::ImapStatusEntry ImapClient::status(std::string_view mailbox) {
    client::ImapStatusEntry entry;
    ImapCommand c("STATUS");
    c.astring(mailbox_to_wire(mailbox));
    c.word(std::string("(MESSAGES UNSEEN UIDNEXT UIDVALIDITY") +
           (has("STATUS=SIZE") || has("IMAP4REV2") ? " SIZE" : "") + ")");
    bool seen = false;
    run(c, [&](ImapResponse& r) {
        if (r.keyword != "STATUS") return;
        auto s = client::parse_status(r);
        if (!s) throw CliError(ExitCode::protocol, "malformed STATUS response");
        entry = std::move(*s);
        seen = true;
    });
    if (!seen) throw CliError(ExitCode::protocol, "STATUS " + std::string(mailbox) + ": no STATUS response");
    return entry;
}

std::string ImapClient::find_special(std::string_view use, std::string_view fallback) {
    const std::vector<MailboxListing> boxes = list(false);
    for (const auto& m : boxes) {
        if (upper(m.special_use()) == upper(use)) return m.name;
    }
    for (const auto& m : boxes) {
        if (upper(m.name) == upper(fallback) && m.selectable()) return m.name;
    }
    return {};
}

SelectedMailbox ImapClient::select(std::string_view mailbox, bool read_only, std::uint32_t known_uidvalidity,
                                   std::uint64_t known_modseq) {
    SelectedMailbox s;
    s.name = std::string(mailbox);
    ImapCommand c(read_only ? "EXAMINE" : "SELECT");
    c.astring(mailbox_to_wire(mailbox));
    if (qresync_ && known_uidvalidity && known_modseq) {
        c.word("(QRESYNC (" + std::to_string(known_uidvalidity) + " " + std::to_string(known_modseq) + "))");
    } else if (condstore_) {
        c.word("(CONDSTORE)");
    }
    const ImapResponse done = run(c, [&](ImapResponse& r) {
        if (r.keyword == "EXISTS" && r.number) s.exists = *r.number;
        else if (r.code == "UIDVALIDITY")
            s.uidvalidity = static_cast<std::uint32_t>(client::code_number(r).value_or(0));
        else if (r.code == "UIDNEXT") s.uidnext = static_cast<std::uint32_t>(client::code_number(r).value_or(0));
        else if (r.code == "HIGHESTMODSEQ") s.highestmodseq = client::code_number(r).value_or(0);
        else if (r.keyword == "VANISHED") {
            auto v = client::parse_vanished(r);
            if (!v) throw CliError(ExitCode::protocol, "malformed VANISHED response");
            s.vanished += (s.vanished.empty() ? "" : ",") + v->uids;
        } else if (r.keyword == "FETCH") {
            auto f = client::parse_fetch(r);
            if (f && f->uid) s.changed.push_back(std::move(*f));
        }
    });
    s.read_only = read_only || done.code == "READ-ONLY";
    if (s.uidvalidity == 0) throw CliError(ExitCode::protocol, "SELECT " + std::string(mailbox) + ": no UIDVALIDITY");
    selected_ = s;
    return s;
}

std::vector<std::uint32_t> ImapClient::uid_search(const ImapCommand& keys) {
    const bool esearch = has("ESEARCH");
    ImapCommand c(esearch ? "UID SEARCH RETURN (ALL)" : "UID SEARCH");
    if (keys.needs_utf8()) c.word("CHARSET UTF-8");
    c.raw(" ").append(keys);
    std::vector<std::uint32_t> uids;
    run(c, [&](ImapResponse& r) {
        if (r.keyword == "SEARCH") {
            auto found = client::parse_search(r);
            if (!found) throw CliError(ExitCode::protocol, "malformed SEARCH response");
            if (uids.size() + found->size() > kMaxSearchResults)
                throw CliError(ExitCode::protocol, "too many search results");
            uids.insert(uids.end(), found->begin(), found->end());
        } else if (r.keyword == "ESEARCH") {
            auto e = client::parse_esearch(r);
            if (!e) throw CliError(ExitCode::protocol, "malformed ESEARCH response");
            auto found = client::expand_uid_set(e->all, kMaxSearchResults);
            if (!found) throw CliError(ExitCode::protocol, "an ESEARCH result that is malformed or too large");
            uids.insert(uids.end(), found->begin(), found->end());
        }
    });
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    return uids;
}

void ImapClient::uid_fetch(std::string_view set, std::string_view items,
                           const std::function<void(ImapFetch&)>& on_fetch, std::uint64_t changed_since) {
    std::string command = "UID FETCH " + std::string(set) + " " + std::string(items);
    if (changed_since) command += " (CHANGEDSINCE " + std::to_string(changed_since) + ")";
    run(ImapCommand(command), [&](ImapResponse& r) {
        if (r.keyword != "FETCH") return;
        auto f = client::parse_fetch(r);
        if (!f)
            throw CliError(ExitCode::protocol,
                           "malformed FETCH response for message " + std::to_string(r.number.value_or(0)));
        if (f->uid) on_fetch(*f);  // a FETCH without UID is an unsolicited flag update
    });
}

void ImapClient::uid_store(std::string_view set, bool add, const std::vector<std::string>& flags) {
    std::string list;
    for (const auto& f : flags) list += (list.empty() ? "" : " ") + f;
    run(ImapCommand("UID STORE " + std::string(set) + (add ? " +FLAGS.SILENT (" : " -FLAGS.SILENT (") + list + ")"));
}

void ImapClient::uid_copy(std::string_view set, std::string_view mailbox) {
    ImapCommand c("UID COPY " + std::string(set));
    c.astring(mailbox_to_wire(mailbox));
    run(c);
}

void ImapClient::uid_move(std::string_view set, std::string_view mailbox) {
    if (has("MOVE")) {
        ImapCommand c("UID MOVE " + std::string(set));
        c.astring(mailbox_to_wire(mailbox));
        run(c);
        return;
    }
    uid_copy(set, mailbox);
    uid_store(set, true, {"\\Deleted"});
    uid_expunge(set);
}

void ImapClient::uid_expunge(std::string_view set) {
    run(ImapCommand(has("UIDPLUS") ? "UID EXPUNGE " + std::string(set) : std::string("EXPUNGE")));
}

void ImapClient::create(std::string_view mailbox) { run(ImapCommand("CREATE").astring(mailbox_to_wire(mailbox))); }

void ImapClient::delete_mailbox(std::string_view mailbox) {
    run(ImapCommand("DELETE").astring(mailbox_to_wire(mailbox)));
}

void ImapClient::rename(std::string_view from, std::string_view to) {
    run(ImapCommand("RENAME").astring(mailbox_to_wire(from)).astring(mailbox_to_wire(to)));
}

std::optional<std::uint32_t> ImapClient::append(std::string_view mailbox, const std::vector<std::string>& flags,
                                                std::string_view internal_date, std::string_view message) {
    ImapCommand c("APPEND");
    c.astring(mailbox_to_wire(mailbox));
    if (!flags.empty()) {
        std::string list;
        for (const auto& f : flags) list += (list.empty() ? "" : " ") + f;
        c.word("(" + list + ")");
    }
    if (!internal_date.empty()) c.word("\"" + std::string(internal_date) + "\"");
    c.literal(message);
    const ImapResponse r = run(c);
    if (auto uid = client::parse_appenduid(r)) {
        auto uids = client::expand_uid_set(uid->uids, 1);
        if (uids && uids->size() == 1) return uids->front();
    }
    return std::nullopt;
}

void ImapClient::idle_start() {
    idle_tag_ = "m" + std::to_string(next_tag_++);
    connection_->write_line(idle_tag_ + " IDLE");
    for (;;) {
        ImapResponse r = read_response();
        if (r.kind == ImapResponse::Kind::continuation) return;
        if (r.kind == ImapResponse::Kind::tagged) throw CliError(ExitCode::protocol, "IDLE: " + said(r));
    }
}

bool ImapClient::idle_wait(net::ClientClock::time_point deadline, const UntaggedHandler& on_untagged) {
    if (!connection_->wait_for_data(deadline)) return false;
    ImapResponse r = read_response();
    if (r.kind == ImapResponse::Kind::tagged)
        throw CliError(ExitCode::protocol, "IDLE ended by the server: " + said(r));
    if (r.kind == ImapResponse::Kind::untagged) {
        if (r.status == "BYE") throw CliError(ExitCode::connection, "the server ended the session: BYE " + bye_);
        if (on_untagged) on_untagged(r);
    }
    return true;
}

void ImapClient::idle_done(const UntaggedHandler& on_untagged) {
    connection_->write_line("DONE");
    for (;;) {
        ImapResponse r = read_response();
        if (r.kind == ImapResponse::Kind::untagged) {
            if (on_untagged) on_untagged(r);
            continue;
        }
        if (r.kind == ImapResponse::Kind::tagged && r.tag == idle_tag_) {
            if (r.status != "OK") throw CliError(ExitCode::protocol, "IDLE: " + said(r));
            return;
        }
    }
}

void ImapClient::logout() {
    if (logged_out_) return;
    logged_out_ = true;
    try {
        run(ImapCommand("LOGOUT"), {}, true);
    } catch (const CliError&) {
        // The work is done; a server that drops the connection at LOGOUT is fine.
    }
}

}  // namespace hikyaku::mailcli
