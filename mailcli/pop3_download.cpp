// pop3_download.cpp: `pop fetch` over one or N POP3 sessions (see pop3_download.h).
// Must never: DELE a message whose store failed, or count a deletion its session did not
// commit.
#include "mailcli/pop3_download.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "mailcli/errors.h"
#include "mailcli/maildir.h"
#include "mailcli/pop3_client.h"

namespace hikyaku::mailcli {

namespace {

// One session of the download. DownloadItem::uid is the message number in the first
// session; `planned_uidl` maps it to its UIDL (empty without UIDL: numbers are used). The
// first session itself goes on as connection 0, with its numbers and its deletions.
class Pop3DownloadConnection final : public DownloadConnection {
public:
    Pop3DownloadConnection(std::unique_ptr<Pop3Client> pop, bool first, std::size_t pending_deletions,
                           const PopFetchOptions& options, const std::map<std::uint32_t, std::string>& planned_uidl,
                           std::atomic<std::size_t>& deleted)
        : pop_(std::move(pop)),
          first_(first),
          keep_(options.keep),
          planned_uidl_(planned_uidl),
          deleted_(deleted),
          pending_deletions_(pending_deletions) {
        if (!first_ && !planned_uidl_.empty()) {
            for (auto& u : pop_->uidl()) number_of_[u.uid] = u.number;
        }
    }

    void fetch(const std::vector<DownloadItem>& batch, const StoreMessage& deliver) override {
        for (const auto& item : batch) {
            std::uint32_t number = item.uid;
            if (!first_ && !planned_uidl_.empty()) {
                auto planned = planned_uidl_.find(item.uid);
                if (planned == planned_uidl_.end()) continue;
                auto mine = number_of_.find(planned->second);
                if (mine == number_of_.end()) continue;  // deleted meanwhile by another client
                number = mine->second;
            }
            DownloadedMessage m;
            m.uid = item.uid;
            m.bytes = pop_->retr(number);
            deliver(std::move(m));
            if (!keep_) {
                pop_->dele(number);
                ++pending_deletions_;
            }
        }
    }

    void finish() override {
        pop_->quit();
        deleted_ += pending_deletions_;
    }

private:
    std::unique_ptr<Pop3Client> pop_;
    bool first_;
    bool keep_;
    const std::map<std::uint32_t, std::string>& planned_uidl_;
    std::map<std::string, std::uint32_t> number_of_;
    std::atomic<std::size_t>& deleted_;
    std::size_t pending_deletions_;
};

}  // namespace

PopFetchResult fetch_maildrop(const PopFetchOptions& options) {
    PopFetchResult result;
    maildir_create(options.maildir);
    const std::string key =
        options.settings.user + "@" + options.settings.host + ":" + std::to_string(options.settings.port);
    const std::string state = uid_state_path(options.maildir);

    // The first session: what is there, and what an earlier run already has (deleted now,
    // committed when this session quits as connection 0).
    std::map<std::uint32_t, std::string> planned_uidl;
    std::vector<DownloadItem> items;
    std::atomic<std::size_t> deleted{0};
    auto first = std::make_unique<Pop3Client>(options.settings);
    const std::vector<Pop3Listing> listing = first->list();
    bool have_uids = true;
    try {
        for (auto& u : first->uidl()) planned_uidl[u.number] = u.uid;
    } catch (const CliError& e) {
        if (options.keep) throw CliError(ExitCode::protocol, std::string("fetch --keep needs UIDL: ") + e.what());
        have_uids = false;
    }
    const std::set<std::string> seen = have_uids ? load_uid_state(state, key) : std::set<std::string>{};
    std::size_t known_deleted = 0;
    for (const auto& l : listing) {
        auto u = planned_uidl.find(l.number);
        if (u != planned_uidl.end() && seen.count(u->second)) {
            ++result.skipped;
            if (!options.keep) {
                first->dele(l.number);
                ++known_deleted;
            }
        } else {
            items.push_back({l.number, l.size});
        }
    }
    result.connections = have_uids ? options.connections : 1;

    std::mutex store_mutex;  // the UIDL file and the list of files
    result.download = download_in_parallel(
        result.connections, options.progress,
        [&](unsigned index) {
            if (index == 0) {
                return std::make_unique<Pop3DownloadConnection>(std::move(first), true, known_deleted, options,
                                                                planned_uidl, deleted);
            }
            return std::make_unique<Pop3DownloadConnection>(std::make_unique<Pop3Client>(options.settings), false, 0,
                                                            options, planned_uidl, deleted);
        },
        items,
        [&](DownloadedMessage&& m) {
            const std::string path = maildir_deliver(options.maildir, m.bytes);
            std::lock_guard lock(store_mutex);
            auto u = planned_uidl.find(m.uid);
            if (u != planned_uidl.end()) record_uid(state, key, u->second);
            result.files.push_back(path);
        });
    if (first) {  // nothing to download: connection 0 never opened
        first->quit();
        deleted += known_deleted;
    }
    result.deleted = deleted.load();
    return result;
}

}  // namespace hikyaku::mailcli
