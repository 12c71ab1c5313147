// imap_policy.h: what an IMAP client may use now, and what the server says about itself.
// Pure decisions: no I/O, no store.
//
// - CAPABILITY (RFC 9051 6.1.1, 7.2.2): IMAP4rev1 and IMAP4rev2 both; before login the
//   login methods only where plaintext is allowed (TLS or loopback; else LOGINDISABLED and no
//   AUTH=, RFC 9051 6.2.3, 7.1 PRIVACYREQUIRED), STARTTLS while not yet on TLS; after login
//   the extensions of issue 12 (LITERAL+ SASL-IR ENABLE IDLE UNSELECT UIDPLUS MOVE NAMESPACE
//   CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES BINARY STATUS=SIZE
//   APPENDLIMIT ID), and of issue 13: CONDSTORE QRESYNC (RFC 7162), SORT SORT=DISPLAY ESORT
//   THREAD=ORDEREDSUBJECT THREAD=REFERENCES (RFC 5256, 5267, 5957), CONTEXT=SEARCH
//   CONTEXT=SORT (RFC 5267 4: UPDATE, PARTIAL, CANCELUPDATE), COMPRESS=DEFLATE (RFC 4978),
//   WITHIN (RFC 5032), CREATE-SPECIAL-USE (RFC 6154), QUOTA QUOTA=RES-STORAGE (RFC 9208),
//   OBJECTID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970), MULTIAPPEND (RFC 3502),
//   UTF8=ACCEPT (RFC 6855).
// - ENABLE (RFC 5161): which capabilities can be enabled (IMAP4rev2, CONDSTORE, QRESYNC,
//   UTF8=ACCEPT).
// Must never: announce what the session does not implement, or a login method it refuses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::imap {

struct ImapClientFacts {
    bool tls = false;                // the link is encrypted now
    bool tls_available = false;      // STARTTLS could be started
    bool plaintext_allowed = false;  // TLS or loopback
    bool authenticated = false;
    std::uint64_t append_limit = 0;  // octets, APPENDLIMIT=n
};

std::vector<std::string> capabilities(const ImapClientFacts& client);
// The capability list as one line's worth of atoms, for "* CAPABILITY ..." and [CAPABILITY ...].
std::string capability_text(const ImapClientFacts& client);

// RFC 5161 3: only capabilities that say they can be enabled; others are ignored (not an
// error). The names upper case.
bool can_enable(std::string_view capability);

}  // namespace hikyaku::imap
