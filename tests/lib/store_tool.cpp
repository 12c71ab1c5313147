// store_tool.cpp: test-only access to a store, so script tests can check what was stored
// byte for byte without knowing its schema.
//   store-tool DB dump ADDRESS [MAILBOX]   one JSON object per entry of INBOX (or MAILBOX):
//                                         uid, size, flags, keywords, raw as base64
//   store-tool DB count ADDRESS [MAILBOX]  number of entries
//   store-tool DB mailboxes ADDRESS   the user's mailbox names, one a line
//   store-tool DB deliver ADDRESS...  stores stdin as one message for the given users
//   store-tool DB queue SENDER RCPT...  queues stdin for remote recipients with envelope
//                                       sender SENDER ("" for the null sender "<>"), as a
//                                       bounce for a remote sender is queued
//   store-tool DB integrity           "ok" or the problem
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "common/text/base64.h"
#include "storage/store.h"

using namespace hikyaku;

static int fail(const std::string& message) {
    std::cerr << "store-tool: " << message << "\n";
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 3) return fail("usage: store-tool DB dump|count|mailboxes|deliver|queue|integrity [ADDRESS...]");
    storage::StoreOptions options;
    options.path = argv[1];
    auto store = storage::open_store(options);
    if (!store) return fail(store.error().message);
    std::string command = argv[2];
    if (command == "integrity") {
        auto status = (*store)->integrity_check();
        std::cout << (status ? "ok" : status.error().message) << "\n";
        return status ? 0 : 1;
    }
    if (argc < 4) return fail("missing ADDRESS");
    if (command == "deliver") {
        std::string raw((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        std::vector<storage::UserId> users;
        for (int i = 3; i < argc; ++i) {
            auto user = (*store)->find_user(argv[i]);
            if (!user) return fail(user.error().message);
            users.push_back(user->id);
        }
        auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        auto receipt = (*store)->deliver(raw, users, storage::TimePoint(now.time_since_epoch()));
        if (!receipt) return fail(receipt.error().message);
        std::cout << receipt->message << "\n";
        return 0;
    }
    if (command == "queue") {
        if (argc < 5) return fail("usage: store-tool DB queue SENDER RCPT...");
        std::string raw((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        storage::OutboundEnvelope outbound{argv[3], {}};
        for (int i = 4; i < argc; ++i) outbound.recipients.emplace_back(argv[i]);
        auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        auto receipt = (*store)->submit(raw, {}, outbound, storage::TimePoint(now.time_since_epoch()));
        if (!receipt) return fail(receipt.error().message);
        std::cout << receipt->message << "\n";
        return 0;
    }
    auto user = (*store)->find_user(argv[3]);
    if (!user) return fail(user.error().message);
    if (command == "mailboxes") {
        auto mailboxes = (*store)->list_mailboxes(user->id);
        if (!mailboxes) return fail(mailboxes.error().message);
        for (auto& m : *mailboxes) std::cout << m.name << "\n";
        return 0;
    }
    auto mailbox = (*store)->find_mailbox(user->id, argc > 4 ? argv[4] : "INBOX");
    if (!mailbox) return fail(mailbox.error().message);
    storage::UidRange all;
    auto entries = (*store)->fetch_entries(mailbox->id, std::span(&all, 1));
    if (!entries) return fail(entries.error().message);
    if (command == "count") {
        std::cout << entries->size() << "\n";
        return 0;
    }
    if (command != "dump") return fail("unknown command " + command);
    for (auto& entry : *entries) {
        auto raw = (*store)->read_message(mailbox->id, entry.uid);
        if (!raw) return fail(raw.error().message);
        std::string keywords;  // space-separated; keywords are atoms (RFC 9051 2.3.2), no JSON escapes
        for (auto& k : entry.keywords) keywords += (keywords.empty() ? "" : " ") + k;
        std::cout << "{\"uid\": " << entry.uid << ", \"size\": " << entry.size << ", \"flags\": " << entry.flags
                  << ", \"keywords\": \"" << keywords << "\", \"message\": " << entry.message << ", \"raw\": \""
                  << text::base64_encode(*raw) << "\"}\n";
    }
    return 0;
}
