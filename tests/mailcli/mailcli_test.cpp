// mailcli_test.cpp: the pure parts of mailcli: dot-stuffing, the renderer (HTML, terminal
// safety, attachments, file names), the accounts file (unknown keys named with file and
// line), Maildir delivery and UIDL state, JSON and tables. (The reply parsers it uses are
// common/client's, tested in tests/client.)
// Must never: need a network or a terminal.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/mime/compose.h"
#include "mailcli/accounts.h"
#include "mailcli/errors.h"
#include "mailcli/maildir.h"
#include "mailcli/output.h"
#include "mailcli/render.h"
#include "mailcli/smtp_client.h"

using namespace hikyaku;
using namespace hikyaku::mailcli;

TEST_CASE("dot-stuffing") {
    CHECK(dot_stuff("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n.\r\n");
    CHECK(dot_stuff(".\r\n") == "..\r\n.\r\n");
    CHECK(dot_stuff("no end") == "no end\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
}

TEST_CASE("renderer: plain text, decoded headers, attachments") {
    mime::ComposeInput in;
    in.from = "Zoë <zoe@example.test>";
    in.to = {"bob@example.test"};
    in.subject = "Grüße";
    in.date = "Thu, 26 Nov 2026 15:00:00 +0000";
    in.message_id = "<1@x>";
    in.boundary = "=_b";
    in.body = "Hallo\n";
    in.attachments.push_back({"../../etc/passwd", "text/plain", "root"});
    in.attachments.push_back({"bild.png", "image/png", std::string("\x89PNG", 4)});
    const std::string raw = mime::compose_message(in).bytes;
    RenderedMessage r = render_message(raw);
    REQUIRE(r.headers.size() == 4);
    CHECK(r.headers[1].first == "From");
    CHECK(r.headers[1].second == "Zoë <zoe@example.test>");
    CHECK(r.headers[3].second == "Grüße");
    CHECK(r.body == "Hallo\n");
    REQUIRE(r.attachments.size() == 2);
    CHECK(r.attachments[0].filename == "../../etc/passwd");
    CHECK(r.attachments[1].content_type == "image/png");
    CHECK(r.attachments[1].size == 4);
    const std::string text = format_rendered(r);
    CHECK(text.find("Subject: Grüße\n") != std::string::npos);
    CHECK(text.find("[2] bild.png  image/png  4 bytes") != std::string::npos);
    auto atts = extract_attachments(raw);
    REQUIRE(atts.size() == 2);
    CHECK(atts[0].data == "root");
    CHECK(safe_filename(atts[0].info.filename, "f") == "_.._etc_passwd");
}

TEST_CASE("renderer: HTML-only and alternative messages") {
    const std::string html_only =
        "Subject: h\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n"
        "<html><head><title>T</title><style>p{}</style></head><body><p>Caf\xe9 &amp; "
        "<b>bar</b></p><!-- hidden --><ul><li>one<li>two</ul>x&#x263A;y<br>z</body></html>\r\n";
    RenderedMessage r = render_message(html_only);
    CHECK(r.body_from_html);
    CHECK(r.body == "Café & bar\n\n* one\n* two\nx☺y\nz\n");
    const std::string alt =
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nplain version\r\n--b\r\n"
        "Content-Type: text/html\r\n\r\n<p>html version</p>\r\n--b--\r\n";
    r = render_message(alt);
    CHECK_FALSE(r.body_from_html);
    CHECK(r.body == "plain version");
    CHECK(r.attachments.empty());
}

TEST_CASE("renderer: terminal control characters never pass") {
    const std::string raw =
        "Subject: =?UTF-8?B?G1szMW1yZWQ=?=\r\n\r\nbody \x1b]0;title\x07 \xc2\x9b"
        "31m\r\n";
    RenderedMessage r = render_message(raw);
    const std::string text = format_rendered(r);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find("\xc2\x9b") == std::string::npos);
    CHECK(terminal_safe("a\r\nb\rc") == "a\nb\nc");
    CHECK(safe_filename("..", "fallback") == "fallback");
    CHECK(safe_filename(".hidden", "f") == "hidden");
    CHECK(safe_filename(std::string(300, 'a'), "f").size() == 200);
}

TEST_CASE("accounts file") {
    const std::string toml = R"(
default = "work"
[accounts.work]
host = "mail.example.test"
user = "me@example.test"
tls = "tls"
pop3_port = 1995
password_command = "echo secret"
[accounts.home]
host = "home.example.test"
tls = "none"
)";
    Account a = parse_account(toml, "", "test.toml");
    CHECK(a.name == "work");
    CHECK(a.host == "mail.example.test");
    CHECK(a.tls == TlsMode::tls);
    CHECK(a.pop3_port == 1995);
    CHECK_FALSE(a.smtp_port);
    Account h = parse_account(toml, "home", "test.toml");
    CHECK(h.tls == TlsMode::none);
    CHECK(default_port(Protocol::smtp, TlsMode::none) == 25);
    CHECK(default_port(Protocol::smtp, TlsMode::starttls) == 587);
    CHECK(default_port(Protocol::smtp, TlsMode::tls) == 465);
    CHECK(default_port(Protocol::pop3, TlsMode::tls) == 995);
    auto code_of = [](auto&& f) {
        try {
            f();
        } catch (const CliError& e) {
            return e.code();
        }
        return ExitCode::ok;
    };
    CHECK(code_of([&] { (void)parse_account(toml, "nope", "t"); }) == ExitCode::usage);
    CHECK(code_of([&] { (void)parse_account("[accounts.x]\ntls = \"ssl\"\n", "", "t"); }) == ExitCode::usage);
    CHECK(code_of([&] { (void)parse_account("[accounts.x]\npassword = \"p\"\n", "", "t"); }) == ExitCode::usage);
    CHECK(code_of([&] { (void)parse_account("[accounts.x]\nsmtp_port = 70000\n", "", "t"); }) == ExitCode::usage);
    CHECK(code_of([&] { (void)parse_account("not toml [", "", "t"); }) == ExitCode::usage);
    CHECK(run_password_command("printf 'pw\\nignored\\n'") == "pw");
    CHECK(code_of([&] { (void)run_password_command("exit 3"); }) == ExitCode::auth);
}

TEST_CASE("accounts file: an unknown key is an error naming the file, the line and the key") {
    auto message_of = [](const std::string& toml) -> std::string {
        try {
            (void)parse_account(toml, "", "mailcli.toml");
        } catch (const CliError& e) {
            CHECK(e.code() == ExitCode::usage);
            return e.what();
        }
        return "no error";
    };
    CHECK(message_of("[accounts.x]\nhost = \"h\"\nsmtp-port = 25\n") ==
          "mailcli.toml:3: unknown key 'smtp-port' in [accounts.x]");
    // In any account, not only the one used.
    CHECK(message_of("default = \"x\"\n[accounts.x]\nhost = \"h\"\n[accounts.y]\nhots = \"h\"\n") ==
          "mailcli.toml:5: unknown key 'hots' in [accounts.y]");
    CHECK(message_of("defualt = \"x\"\n[accounts.x]\n") == "mailcli.toml:1: unknown key 'defualt'");
    CHECK(message_of("[acounts.x]\nhost = \"h\"\n") == "mailcli.toml:1: unknown key 'acounts'");
    CHECK(message_of("accounts = 3\n") == "mailcli.toml: accounts must be a table ([accounts.NAME])");
    // Every documented key is known.
    const Account a = parse_account(
        "[accounts.all]\nhost = \"h\"\nuser = \"u\"\nfrom = \"f <f@x>\"\ntls = \"tls\"\nsmtp_port = 1\n"
        "pop3_port = 2\nimap_port = 3\nca = \"c.pem\"\ninsecure = true\npassword_command = \"pass x\"\n",
        "", "t");
    CHECK(a.imap_port == 3);
    CHECK(a.insecure);
}

TEST_CASE("Maildir delivery, UIDL state and new files") {
    char tmpl[] = "/tmp/mailcli-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    const std::string dir = std::string(tmpl) + "/Mail";
    maildir_create(dir);
    const std::string path = maildir_deliver(dir, "Subject: x\r\n\r\nbody\r\n");
    CHECK(path.find(dir + "/new/") == 0);
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    CHECK(ss.str() == "Subject: x\r\n\r\nbody\r\n");
    CHECK(std::filesystem::is_empty(dir + "/tmp"));
    const std::string state = uid_state_path(dir);
    record_uid(state, "a@h:110", "uid1");
    record_uid(state, "b@h:110", "uid2");
    auto seen = load_uid_state(state, "a@h:110");
    CHECK(seen.size() == 1);
    CHECK(seen.count("uid1") == 1);
    CHECK(write_new_file(tmpl, "a.txt", "1") == std::string(tmpl) + "/a.txt");
    CHECK(write_new_file(tmpl, "a.txt", "2") == std::string(tmpl) + "/a-1.txt");
    std::filesystem::remove_all(tmpl);
}

TEST_CASE("JSON strings and tables") {
    CHECK(json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
    CHECK(json_string("\xff") == "\"\xEF\xBF\xBD\"");
    OutputStyle plain;
    CHECK(format_table({"#", "NAME"}, {{"1", "x"}, {"10", "yy"}}, {true, false}, plain) == " #  NAME\n 1  x\n10  yy\n");
    OutputStyle tty;
    tty.tty = true;
    tty.width = 20;
    tty.color = true;
    const std::string t = format_table({"#", "SUBJECT"}, {{"1", std::string(40, 's')}}, {true, false}, tty);
    CHECK(t.starts_with("\x1b[1m"));
    CHECK(t.find("\xE2\x80\xA6") != std::string::npos);
    CHECK(display_width("日本") == 4);
}
