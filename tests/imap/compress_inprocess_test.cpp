// compress_inprocess_test.cpp: IMAP COMPRESS=DEFLATE (RFC 4978) through imapd's session in
// process: announced after login only, refused before it, BAD for an unknown mechanism, the
// session compressed both ways after the tagged OK (the client's end is compressed too), and
// NO [COMPRESSIONACTIVE] for a second COMPRESS.
#include <doctest/doctest.h>

#include "imapd/imap_session.h"
#include "tests/lib/session_harness.h"
#include "tests/lib/transcript.h"

using namespace hikyaku;
namespace asio = boost::asio;

namespace {

asio::awaitable<std::string> run(net::Connection& client, const std::string& text, const char* name) {
    co_return co_await test::run_transcript(client, test::parse_transcript(text, name));
}

}  // namespace

TEST_CASE("COMPRESS DEFLATE: refused before login, then the whole session compressed") {
    test::InProcess world("[imapd]\n");
    auto settings = imap::SessionSettings::from(world.config(), imap::Role::imap);
    auto environment = world.environment();
    auto client = world.connect([&](std::shared_ptr<net::Connection> c) {
        return imap::run_imap_session(std::move(c), settings, environment);
    });
    world.deliver("From: a@example.test\r\nSubject: compressed\r\n\r\nhello hello hello hello\r\n",
                  {"alice@example.test"});
    std::string failure = "did not finish";
    bool compressed = false;
    CHECK(world.run([&]() -> asio::awaitable<void> {
        failure = co_await run(*client, R"(
S~ ^\* OK \[CAPABILITY [^\]]*\] 
C: a1 CAPABILITY
S~ ^\* CAPABILITY (?!.*COMPRESS=DEFLATE)
S: a1 OK Capability completed
C: a2 COMPRESS DEFLATE
S~ ^a2 BAD
C: a3 LOGIN alice@example.test alice-pw
S~ ^a3 OK \[CAPABILITY [^\]]* COMPRESS=DEFLATE
C: a4 COMPRESS LZW
S: a4 BAD Unknown compression mechanism
C: a5 COMPRESS DEFLATE
S: a5 OK DEFLATE active
)",
                               "before");
        if (!failure.empty()) co_return;
        compressed = client->start_deflate();
        failure = co_await run(*client, R"(
C: b1 SELECT INBOX
S* ^\* 
S~ ^b1 OK \[READ-WRITE\]
C: b2 FETCH 1 (BODY.PEEK[TEXT])
S: * 1 FETCH (BODY[TEXT] {25}
S: hello hello hello hello
S: )
S: b2 OK Fetch completed
C: b3 COMPRESS DEFLATE
S: b3 NO [COMPRESSIONACTIVE] DEFLATE is active already
C: b4 LOGOUT
S~ ^\* BYE
S~ ^b4 OK
CLOSED
)",
                               "after");
    }));
    CHECK(compressed);
    CHECK_MESSAGE(failure.empty(), failure);
}
