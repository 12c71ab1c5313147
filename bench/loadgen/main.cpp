// hikyaku-bench: entry point of the load generator; picks the subcommand and prints its figures.
#include <iostream>
#include <string>

#include "bench/loadgen/bench.hpp"

namespace {

const char* kUsage = R"(hikyaku-bench: load generator for SMTP/POP3/IMAP servers on loopback.

usage: hikyaku-bench SUBCOMMAND [options] [--json]

Every figure is printed as one line `name value unit` (or one JSON object with --json).
Exit status: 0 ok, 1 the workload ran but had errors or missed its goal, 2 usage error.
Only loopback addresses are accepted as --host.

common:   --host 127.0.0.1  --port P  --duration SECONDS (default 10)  --timeout SECONDS
          (one network operation, default 30)

smtp      N clients loop EHLO, MAIL, RCPT, DATA of S-byte messages.
          --clients N (1)  --size BYTES (4096)  --rcpt ADDR[,ADDR...] (required; each message
          goes to the next --rcpts-per-msg of them, round robin)  --rcpts-per-msg K (1)
          --from ADDR (bench@bench.test)  --helo NAME  --count MAX (total messages, 1000000)
          --auth USER:PASSWORD (AUTH PLAIN after EHLO: submission, on loopback)
          --mode rset|reuse|reconnect (rset: RSET between messages on one connection; reuse: the
          next MAIL directly; reconnect: one connection per message)
          end-to-end: --wait-maildir DIR[,DIR...] (one Maildir per --rcpt) or --wait-pop3-port P
          with --wait-user U[,U...] (one login per --rcpt, default the addresses) and
          --wait-password PW; --wait-timeout SECONDS (120). Waits until every acknowledged
          message is visible and reports messages delivered per second.
pop3      U users in parallel log in and RETR every message, session after session, until
          --duration or --passes (0 = no limit).  --user U[,U...]  --password PW  --auth user|plain
          (pop3 and idle also read logins, one a line, from --user-file PATH)
idle      C connections log in over POP3 and stay idle, connection i as user i mod U.
          --connections C  --user U[,U...]
          --password PW  --parallel P (logins at once, 200)  --hold SECONDS (5)
          --login-timeout SECONDS (300)  --ready-file PATH (written once all are logged in)
          --measure-pid PID[,PID...] (sum RSS/PSS of these processes and their descendants
          before and after, and report memory per connection)  --exclude-mapping FILE[,FILE...]
          (leave these files' memory mappings out of the sums: a store read through mmap)
wait-delivered  poll until --count N messages are visible, in --maildir DIR[,DIR...] (sum) or over
          POP3 STAT (--port, --user, --password, sum over users); --timeout SECONDS (120)
fsync     4 KB write + fsync loop in a file in --dir D (appending); --size BYTES (4096) --count MAX;
          --overwrite: rewrite one block in place with fdatasync (what a recycled WAL does)
mem       --pid PID[,PID...]: RSS/PSS now of these processes and their descendants

IMAP (--port is the IMAP port; every session LOGINs with --password):
imap-idle    C sessions LOGIN, SELECT INBOX and IDLE, as imap-idle's options are idle's
          (--connections, --user/--user-file, --parallel, --hold, --settle, --login-timeout,
          --measure-pid, --exclude-mapping); --compress: COMPRESS DEFLATE after LOGIN
imap-notify  one IDLE session per --user/--user-file login, then one SMTP client (--smtp-port)
          sends --messages N (1000) of --size BYTES (4096) to them in turn, each after the 250
          of the one before (--interval SECONDS between); reports 250-to-"* n EXISTS" p50/p95/p99;
          --wait-timeout SECONDS (60) for the last EXISTS
imap-fetch   --clients N sessions of --user each SELECT INBOX, then UID FETCH 1:* BODY.PEEK[]
          again and again for --duration; MB/s of message octets (only the FETCHes are timed)
imap-sync    --runs R (3, after one warm-up): LOGIN, then SELECT INBOX + UID FETCH 1:* (FLAGS)
          timed (median), --measure-pid memory before the first LOGIN and after the last
          FETCH; --search WORD: also SEARCH TEXT WORD (median ms, hits); says whether
          CONDSTORE is announced, and if so with --resync N: one session changes the flags of
          N messages, then SELECT (CONDSTORE) + UID FETCH 1:* (FLAGS) (CHANGEDSINCE m) from
          the modseq before is timed (median ms, octets received)
imap-login   --clients N (100) loop connect, LOGIN, LOGOUT for --duration, client i as user
          i mod U (--user/--user-file); logins/s, p50/p99
)";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    std::string cmd = argv[1];
    try {
        bench::Args args(argc, argv, 2, {"json", "help", "overwrite", "compress"});
        if (args.flag("help")) {
            std::cout << kUsage;
            return 0;
        }
        bool json = args.flag("json");
        bench::Report report;
        int rc;
        if (cmd == "smtp") rc = bench::run_smtp(args, report);
        else if (cmd == "pop3") rc = bench::run_pop3(args, report);
        else if (cmd == "idle") rc = bench::run_idle(args, report);
        else if (cmd == "wait-delivered") rc = bench::run_wait_delivered(args, report);
        else if (cmd == "fsync") rc = bench::run_fsync(args, report);
        else if (cmd == "mem") rc = bench::run_mem(args, report);
        else if (cmd == "imap-idle") rc = bench::run_imap_idle(args, report);
        else if (cmd == "imap-notify") rc = bench::run_imap_notify(args, report);
        else if (cmd == "imap-fetch") rc = bench::run_imap_fetch(args, report);
        else if (cmd == "imap-sync") rc = bench::run_imap_sync(args, report);
        else if (cmd == "imap-login") rc = bench::run_imap_login(args, report);
        else throw bench::UsageError("unknown subcommand: " + cmd);
        report.print(json);
        return rc;
    } catch (const bench::UsageError& e) {
        std::cerr << "hikyaku-bench: " << e.what() << "\n(see hikyaku-bench --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "hikyaku-bench " << cmd << ": " << e.what() << "\n";
        return 1;
    }
}
