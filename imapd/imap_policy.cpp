// imap_policy.cpp: see imap_policy.h.
#include "imapd/imap_policy.h"

namespace hikyaku::imap {

std::vector<std::string> capabilities(const ImapClientFacts& client) {
    std::vector<std::string> caps{"IMAP4rev1", "IMAP4rev2"};
    if (!client.authenticated) {
        if (client.tls_available && !client.tls) caps.emplace_back("STARTTLS");
        if (client.plaintext_allowed) {
            caps.emplace_back("AUTH=PLAIN");
            caps.emplace_back("AUTH=LOGIN");
            caps.emplace_back("SASL-IR");
        } else {
            caps.emplace_back("LOGINDISABLED");
        }
        caps.emplace_back("LITERAL+");
        caps.emplace_back("ENABLE");
        caps.emplace_back("ID");
        return caps;
    }
    for (const char* c : {"LITERAL+",
                          "SASL-IR",
                          "ENABLE",
                          "IDLE",
                          "UNSELECT",
                          "UIDPLUS",
                          "MOVE",
                          "NAMESPACE",
                          "CHILDREN",
                          "SPECIAL-USE",
                          "LIST-EXTENDED",
                          "LIST-STATUS",
                          "ESEARCH",
                          "SEARCHRES",
                          "BINARY",
                          "STATUS=SIZE",
                          "ID",
                          "CONDSTORE",
                          "QRESYNC",
                          "SORT",
                          "SORT=DISPLAY",
                          "ESORT",
                          "CONTEXT=SEARCH",
                          "CONTEXT=SORT",
                          "THREAD=ORDEREDSUBJECT",
                          "THREAD=REFERENCES",
                          "COMPRESS=DEFLATE",
                          "WITHIN",
                          "CREATE-SPECIAL-USE",
                          "QUOTA",
                          "QUOTA=RES-STORAGE",
                          "QUOTA=RES-MESSAGE",
                          "OBJECTID",
                          "SAVEDATE",
                          "PREVIEW",
                          "MULTIAPPEND",
                          "CATENATE",
                          "UTF8=ACCEPT",
                          "NOTIFY"})
        caps.emplace_back(c);
    caps.push_back("APPENDLIMIT=" + std::to_string(client.append_limit));
    return caps;
}

std::string capability_text(const ImapClientFacts& client) {
    std::string out;
    for (const auto& c : capabilities(client)) {
        if (!out.empty()) out += ' ';
        out += c;
    }
    return out;
}

bool can_enable(std::string_view capability) {
    return capability == "IMAP4REV2" || capability == "CONDSTORE" || capability == "QRESYNC" ||
           capability == "UTF8=ACCEPT";
}

}  // namespace hikyaku::imap
