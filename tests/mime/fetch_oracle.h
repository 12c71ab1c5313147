// fetch_oracle.h: the Dovecot oracle of the MIME corpus (tests/mime/corpus/README.md), shared
// by the tests that compare FETCH data with it: the structure writers (mime_corpus_test) and
// imapd's own FETCH (tests/imap_fetch). Loads the corpus and its answers, applies the RFC
// exceptions, and compares FETCH items as IMAP data: type, subtype, encoding and parameter
// names case-insensitively, everything else (sizes, line counts, envelope fields, NIL versus
// "", part order) exactly.
// Must never: pass an incomplete corpus (it names every missing file); read outside the
// repository.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace hikyaku::test {

// The corpus as the oracle describes it (README.md there): this many messages.
inline constexpr std::size_t kCorpusMessages = 80;

struct Corpus {
    std::map<std::string, std::string> oracle;    // name -> "* n FETCH (...)"
    std::map<std::string, std::string> messages;  // name -> raw bytes
    std::string problems;                         // one line per missing or unexpected file; empty when complete
};

// tests/mime/corpus, loaded once; fails the calling test when incomplete.
const Corpus& corpus();
std::filesystem::path corpus_dir();

// Where we follow the RFC and Dovecot does not: the oracle answer with those patched in.
// `stale` is set when an exception no longer applies to the oracle.
std::string apply_exceptions(const std::string& name, std::string oracle, bool& stale);
struct OracleException {
    const char* message;
    const char* why;
    const char* dovecot;
    const char* rfc;
};
extern const OracleException kExceptions[];
extern const std::size_t kExceptionCount;

// Compares FETCH items ("RFC822.SIZE n ENVELOPE (...) ...") with the oracle's whole
// "* n FETCH (...)"; empty when equal as IMAP data, else what differs.
std::string compare_fetch(const std::string& ours_text, const std::string& oracle_text);

}  // namespace hikyaku::test
