// store_tool.cpp: test-only access to a store, so script tests can check what was stored
// byte for byte without knowing its schema.
//   store-tool DB dump ADDRESS        one JSON object per INBOX entry (uid, size, flags, raw as base64)
//   store-tool DB count ADDRESS       number of INBOX entries
//   store-tool DB deliver ADDRESS...  stores stdin as one message for the given users
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
    if (argc < 3) return fail("usage: store-tool DB dump|count|deliver|integrity [ADDRESS...]");
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
    auto user = (*store)->find_user(argv[3]);
    if (!user) return fail(user.error().message);
    auto inbox = (*store)->inbox(user->id);
    if (!inbox) return fail(inbox.error().message);
    storage::UidRange all;
    auto entries = (*store)->fetch_entries(inbox->id, std::span(&all, 1));
    if (!entries) return fail(entries.error().message);
    if (command == "count") {
        std::cout << entries->size() << "\n";
        return 0;
    }
    if (command != "dump") return fail("unknown command " + command);
    for (auto& entry : *entries) {
        auto raw = (*store)->read_message(inbox->id, entry.uid);
        if (!raw) return fail(raw.error().message);
        std::cout << "{\"uid\": " << entry.uid << ", \"size\": " << entry.size << ", \"flags\": " << entry.flags
                  << ", \"message\": " << entry.message << ", \"raw\": \"" << text::base64_encode(*raw) << "\"}\n";
    }
    return 0;
}
