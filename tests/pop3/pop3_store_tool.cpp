// pop3_store_tool.cpp: a test-only helper that puts messages into a user's INBOX and shows
// what the INBOX holds, straight through the storage interface (there is no "mailctl
// deliver"), so the POP3 tests do not depend on smtpd. Never used outside tests.
//
//   pop3-store-tool STORE deliver ADDRESS FILE...   one message per file, bytes as they are
//   pop3-store-tool STORE list ADDRESS              "uid size" per INBOX entry, then "uidvalidity N"
//   pop3-store-tool STORE cat ADDRESS UID           the stored bytes of one message
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "storage/store.h"

using namespace hikyaku;

namespace {

int fail(const std::string& what) {
    std::cerr << "pop3-store-tool: " << what << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) return fail("usage: pop3-store-tool STORE deliver|list|cat ADDRESS [FILE...|UID]");
    storage::StoreOptions options;
    options.path = argv[1];
    options.max_message_size = 256u << 20;
    auto store = storage::open_store(options);
    if (!store) return fail(store.error().message);
    const std::string command = argv[2];
    auto user = (*store)->find_user(argv[3]);
    if (!user) return fail(user.error().message);
    auto inbox = (*store)->inbox(user->id);
    if (!inbox) return fail(inbox.error().message);

    if (command == "deliver") {
        for (int i = 4; i < argc; ++i) {
            std::ifstream in(argv[i], std::ios::binary);
            if (!in) return fail(std::string("cannot read ") + argv[i]);
            std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const storage::UserId to[] = {user->id};
            auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
            auto receipt = (*store)->deliver(raw, to, storage::TimePoint(now.time_since_epoch()));
            if (!receipt) return fail(std::string(argv[i]) + ": " + receipt.error().message);
            std::cout << "delivered uid=" << receipt->entries.at(0).uid << " size=" << raw.size() << "\n";
        }
        return 0;
    }
    if (command == "list") {
        const storage::UidRange all[] = {storage::UidRange{}};
        auto entries = (*store)->fetch_entries(inbox->id, all);
        if (!entries) return fail(entries.error().message);
        for (const auto& e : *entries) std::cout << e.uid << " " << e.size << "\n";
        std::cout << "uidvalidity " << inbox->uidvalidity << "\n";
        return 0;
    }
    if (command == "cat" && argc == 5) {
        auto raw = (*store)->read_message(inbox->id, static_cast<storage::Uid>(std::stoul(argv[4])));
        if (!raw) return fail(raw.error().message);
        std::fwrite(raw->data(), 1, raw->size(), stdout);
        return 0;
    }
    return fail("unknown command " + command);
}
