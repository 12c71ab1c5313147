// imap_quota.cpp: the QUOTA extension (RFC 9208) over the store's per-user quotas: one quota
// root per user, named "" (every mailbox of the user is under it), with the STORAGE resource
// (4.2.1 / 5.1: in units of 1024 octets, the usage rounded up, the limit down) and the MESSAGE
// resource (5.2: the messages in all the user's mailboxes, a copy counting again). Only a
// resource with a limit is listed, and a user without any limit has no quota root (RFC 9208
// 4.1.2: QUOTAROOT then names none). SETQUOTA is refused: quotas are set by the administrator
// (mailctl).
// Must never: report a root or resource that does not limit anything; change a quota.
#include "imapd/imap_session_internal.h"
#include "storage/store.h"

namespace hikyaku::imap {

namespace {

// The user's single quota root.
constexpr std::string_view kQuotaRoot = "";

// Whether the user's quota root exists: some resource has a limit.
bool has_quota_root(const storage::QuotaUsage& usage) { return usage.limit_bytes > 0 || usage.limit_messages > 0; }

// "* QUOTA "" (STORAGE used limit MESSAGE used limit)\r\n", each resource only with a limit.
std::string quota_response(const storage::QuotaUsage& usage) {
    std::string resources;
    if (usage.limit_bytes > 0)
        resources += "STORAGE " + std::to_string((usage.used_bytes + 1023) / 1024) + " " +
                     std::to_string(usage.limit_bytes / 1024);
    if (usage.limit_messages > 0) {
        if (!resources.empty()) resources += ' ';
        resources += "MESSAGE " + std::to_string(usage.messages) + " " + std::to_string(usage.limit_messages);
    }
    std::string out = "* QUOTA ";
    append_astring(out, kQuotaRoot);
    out += " (" + resources + ")\r\n";
    return out;
}

}  // namespace

asio::awaitable<Tagged> Session::on_getquotaroot(const Command& c) {
    Tagged error;
    auto name = mailbox_name(c.get<MailboxArgs>()->mailbox, error);
    if (!name) co_return error;
    const storage::UserId user = user_->id;
    auto usage = co_await store().read([&]() -> Result<storage::QuotaUsage> {
        auto info = store()->find_mailbox(user, *name);
        if (!info) return info.error();
        return store()->quota_usage(user);
    });
    if (!usage) co_return store_failure(usage.error(), "getquotaroot");
    std::string out = "* QUOTAROOT ";
    append_mailbox(out, wire_name(*name));
    if (has_quota_root(*usage)) {
        out += ' ';
        append_astring(out, kQuotaRoot);
    }
    out += "\r\n";
    if (has_quota_root(*usage)) out += quota_response(*usage);
    send(out);
    co_return Tagged::ok("Getquotaroot completed");
}

asio::awaitable<Tagged> Session::on_getquota(const Command& c) {
    const QuotaArgs& args = *c.get<QuotaArgs>();
    const storage::UserId user = user_->id;
    auto usage = co_await store().read([&] { return store()->quota_usage(user); });
    if (!usage) co_return store_failure(usage.error(), "getquota");
    if (args.root != kQuotaRoot || !has_quota_root(*usage))
        co_return Tagged::no("No such quota root", ResponseCode::simple(ResponseCodeKind::nonexistent));
    send(quota_response(*usage));
    co_return Tagged::ok("Getquota completed");
}

asio::awaitable<Tagged> Session::on_setquota(const Command&) {
    // RFC 9208 4.1.3: a server may refuse; the limits are the administrator's.
    co_return Tagged::no("Quotas are set by the administrator", ResponseCode::simple(ResponseCodeKind::noperm));
}

}  // namespace hikyaku::imap
