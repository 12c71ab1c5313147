// imap_store_tool.cpp: a test-only helper for tests/imap/imap_transcripts.py: puts messages into
// a user's mailbox with a fixed internal date (store_snapshot.h: kSeedInternalDate), and prints
// what the store holds (store_snapshot.h), through the storage interface only. Never used
// outside tests.
//
//   imap-store-tool STORE deliver ADDRESS FILE...         one message per file into INBOX
//   imap-store-tool STORE nested ADDRESS DEPTH            a nested_multipart(DEPTH) into INBOX
//   imap-store-tool STORE snapshot ADDRESS...             the snapshot lines
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "storage/store.h"
#include "tests/imap/store_snapshot.h"

using namespace hikyaku;

namespace {

int fail(const std::string& what) {
    std::cerr << "imap-store-tool: " << what << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) return fail("usage: imap-store-tool STORE deliver|nested|snapshot ADDRESS [FILE...|DEPTH]");
    storage::StoreOptions options;
    options.path = argv[1];
    options.max_message_size = 256u << 20;
    auto store = storage::open_store(options);
    if (!store) return fail(store.error().message);
    const std::string command = argv[2];
    if (command == "snapshot") {
        std::vector<std::string> addresses(argv + 3, argv + argc);
        const std::string snapshot = test::store_snapshot(**store, addresses);
        std::cout << snapshot;
        return snapshot.rfind("error: ", 0) == 0 ? 1 : 0;
    }
    auto user = (*store)->find_user(argv[3]);
    if (!user) return fail(user.error().message);
    auto deliver = [&](const std::string& raw, const std::string& what) {
        const storage::UserId to[] = {user->id};
        auto receipt = (*store)->deliver(raw, to, storage::TimePoint(std::chrono::seconds(test::kSeedInternalDate)));
        if (!receipt) return fail(what + ": " + receipt.error().message);
        std::cout << "delivered uid=" << receipt->entries.at(0).uid << " size=" << raw.size() << "\n";
        return 0;
    };
    if (command == "deliver") {
        for (int i = 4; i < argc; ++i) {
            std::ifstream in(argv[i], std::ios::binary);
            if (!in) return fail(std::string("cannot read ") + argv[i]);
            std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (int code = deliver(raw, argv[i]); code != 0) return code;
        }
        return 0;
    }
    if (command == "nested" && argc == 5) return deliver(test::nested_multipart(std::stoul(argv[4])), "nested");
    return fail("unknown command " + command);
}
