// log.cpp: spdlog setup (see log.h). Never logs a credential: mask_secrets() is applied by
// the connection core to every protocol line before it reaches the logger.
#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <mutex>
#include <vector>

#include "common/config.h"

namespace hikyaku {

namespace {
std::mutex log_mutex;
std::string log_program;
LogConfig log_config;

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string_view> split_words(std::string_view line, std::vector<size_t>& starts) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i >= line.size()) break;
        size_t j = i;
        while (j < line.size() && line[j] != ' ') ++j;
        words.push_back(line.substr(i, j - i));
        starts.push_back(i);
        i = j;
    }
    return words;
}
}  // namespace

Status setup_logging(const std::string& program, const LogConfig& config) {
    std::lock_guard lock(log_mutex);
    std::shared_ptr<spdlog::logger> logger;
    try {
        if (config.file.empty())
            logger = std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
        else
            logger = std::make_shared<spdlog::logger>(
                program, std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file, false));
    } catch (const spdlog::spdlog_ex& e) {
        return make_error(Errc::io_error, std::string("cannot open log: ") + e.what());
    }
    // time, program, level, thread id: the thread id shows which worker served a line.
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n[%P] %l [t%t] %v");
    logger->set_level(spdlog::level::from_str(config.level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    log_program = program;
    log_config = config;
    return {};
}

void reopen_logs() {
    std::string program;
    LogConfig config;
    {
        std::lock_guard lock(log_mutex);
        if (log_config.file.empty()) return;
        program = log_program;
        config = log_config;
    }
    // A failure keeps the old file (perhaps renamed by the rotation, or deleted): say so loudly
    // there and on stderr (the journal under systemd), where an administrator will look.
    if (auto status = setup_logging(program, config); !status) {
        spdlog::error("SIGHUP: {}; still logging to the file opened before", status.error().message);
        std::fprintf(stderr, "%s: error: SIGHUP: %s; still logging to the file opened before\n", program.c_str(),
                     status.error().message.c_str());
    }
}

bool debug_logging() { return spdlog::should_log(spdlog::level::debug); }

std::string mask_secrets(std::string_view line) {
    std::vector<size_t> starts;
    auto words = split_words(line, starts);
    if (words.empty()) return std::string(line);
    auto mask_from = [&](size_t word) {
        if (word >= words.size()) return std::string(line);
        return std::string(line.substr(0, starts[word])) + "***";
    };
    std::string first = upper(words[0]);
    if (first == "PASS") return mask_from(1);  // POP3 (RFC 1939)
    if (first == "AUTH") return mask_from(2);  // SMTP/POP3 initial response
    if (words.size() >= 2) {                   // IMAP: tag command ...
        std::string second = upper(words[1]);
        if (second == "LOGIN") return mask_from(3);         // RFC 3501 6.2.3
        if (second == "AUTHENTICATE") return mask_from(3);  // RFC 4959 initial response
    }
    return std::string(line);
}

}  // namespace hikyaku
