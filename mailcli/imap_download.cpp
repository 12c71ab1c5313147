// imap_download.cpp: IMAP connections for the parallel download (see imap_download.h).
// Must never: hand on a FETCH response without its body.
#include "mailcli/imap_download.h"

#include <algorithm>
#include <memory>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

class ImapDownloadConnection final : public DownloadConnection {
public:
    explicit ImapDownloadConnection(const DownloadOptions& options) : imap_(options.settings) {
        const SelectedMailbox box = imap_.select(options.mailbox, true);
        if (box.uidvalidity != options.uidvalidity) {
            throw CliError(ExitCode::protocol,
                           "the UIDVALIDITY of " + options.mailbox + " changed during the download");
        }
    }

    void fetch(const std::vector<DownloadItem>& batch, const StoreMessage& deliver) override {
        std::vector<std::uint32_t> uids;
        for (const auto& item : batch) uids.push_back(item.uid);
        std::sort(uids.begin(), uids.end());
        imap_.uid_fetch(uid_set_of(uids), "(UID FLAGS INTERNALDATE BODY.PEEK[])", [&](ImapFetch& f) {
            auto body =
                std::find_if(f.sections.begin(), f.sections.end(), [](const auto& s) { return s.first == "BODY[]"; });
            if (body == f.sections.end() || !f.uid) return;
            DownloadedMessage m;
            m.uid = *f.uid;
            m.flags = f.flags.value_or(std::vector<std::string>{});
            m.internal_date = f.internal_date;
            m.bytes = std::move(body->second);
            deliver(std::move(m));
        });
    }

    void finish() override { imap_.logout(); }

private:
    ImapClient imap_;
};

}  // namespace

std::string uid_set_of(const std::vector<std::uint32_t>& uids) {
    std::string out;
    for (std::size_t i = 0; i < uids.size();) {
        std::size_t j = i;
        while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(uids[i]);
        if (j > i) out += ':' + std::to_string(uids[j]);
        i = j + 1;
    }
    return out;
}

DownloadReport download_messages(const DownloadOptions& options, const std::vector<DownloadItem>& items,
                                 const StoreMessage& store) {
    return download_in_parallel(
        options.connections, options.progress,
        [&](unsigned) { return std::make_unique<ImapDownloadConnection>(options); }, items, store);
}

}  // namespace hikyaku::mailcli
