// mbox.cpp: splitting an mbox file into messages (see mbox.h).
#include "mailcli/mbox.h"

namespace hikyaku::mailcli {

namespace {

// A body line ">From ", ">>From ", ...: one '>' is removed (mboxrd).
bool is_escaped_from(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == '>') ++i;
    return i > 0 && line.substr(i).starts_with("From ");
}

bool status_seen(std::string_view message) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t end = message.find('\n', pos);
        if (end == std::string_view::npos) end = message.size();
        std::string_view line = message.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return false;  // the end of the header
        if (line.size() > 7 && (line.starts_with("Status:") || line.starts_with("status:"))) {
            return line.substr(7).find('R') != std::string_view::npos;
        }
        pos = end + 1;
    }
    return false;
}

}  // namespace

std::string to_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

std::vector<MboxMessage> split_mbox(std::string_view mbox) {
    std::vector<MboxMessage> out;
    std::string current;
    bool in_message = false, previous_blank = true;
    auto finish = [&] {
        if (!in_message || current.empty()) return;
        // The empty line before the next separator belongs to the separator (RFC 4155 2).
        if (current.ends_with("\n\n")) current.pop_back();
        else if (current.ends_with("\r\n\r\n")) current.resize(current.size() - 2);
        MboxMessage m;
        m.bytes = to_crlf(current);
        m.seen = status_seen(m.bytes);
        out.push_back(std::move(m));
        current.clear();
    };
    std::size_t pos = 0;
    while (pos < mbox.size()) {
        std::size_t end = mbox.find('\n', pos);
        const std::size_t next = end == std::string_view::npos ? mbox.size() : end + 1;
        const std::string_view line = mbox.substr(pos, next - pos);
        std::string_view text = line;
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
        if (previous_blank && line.starts_with("From ")) {
            finish();
            in_message = true;
        } else if (in_message) {
            if (is_escaped_from(text)) current.append(line.substr(1));
            else current.append(line);
        }
        previous_blank = text.empty();
        pos = next;
    }
    finish();
    return out;
}

}  // namespace hikyaku::mailcli
