// errors.h: mailcli's failure kinds and their exit codes. Every failure reaches main() as a
// CliError and is printed as one line; the code tells scripts what went wrong.
// Must never: carry a password or other secret in a message.
#pragma once

#include <stdexcept>
#include <string>

namespace hikyaku::mailcli {

enum class ExitCode : int {
    ok = 0,
    failure = 1,     // local problems: files, directories, the editor, libmagic
    usage = 2,       // bad command line or accounts file
    connection = 3,  // cannot connect, timeout, connection closed
    tls = 4,         // handshake or certificate verification failed, STARTTLS refused
    auth = 5,        // credentials refused, or no usable mechanism
    protocol = 6,    // the server said no, or said something that is not the protocol
    partial = 7,     // sent, but some recipients were refused
};

class CliError : public std::runtime_error {
public:
    CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

}  // namespace hikyaku::mailcli
