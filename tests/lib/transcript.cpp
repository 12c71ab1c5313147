// transcript.cpp: the transcript runner for in-process tests (transcript.h).
#include "tests/lib/transcript.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace hikyaku::test {

std::string Transcript::directive(const std::string& key) const {
    for (const auto& [k, v] : file_directives)
        if (k == key) return v;
    return {};
}

std::vector<std::string> Transcript::directives(const std::string& key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : file_directives)
        if (k == key) out.push_back(v);
    return out;
}

bool Transcript::uses_tls() const {
    return std::any_of(steps.begin(), steps.end(), [](const auto& s) { return s.kind == TranscriptStep::Kind::tls; });
}

std::string unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char c = text[++i];
        switch (c) {
            case 'r': out += '\r'; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case '\\': out += '\\'; break;
            case 'x':
                if (i + 2 < text.size()) {
                    out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
                    i += 2;
                }
                break;
            default: out += '\\'; out += c;
        }
    }
    return out;
}

Transcript parse_transcript(std::string_view text, const std::string& name) {
    Transcript t;
    t.name = name;
    int number = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string line(text.substr(pos, end - pos));
        pos = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("#! ", 0) == 0) {
            std::string rest = line.substr(3);
            auto space = rest.find(' ');
            t.file_directives.emplace_back(rest.substr(0, space),
                                           space == std::string::npos ? "" : rest.substr(space + 1));
            continue;
        }
        if (line.rfind("# role: ", 0) == 0) {
            t.file_directives.emplace_back("role", line.substr(8));
            continue;
        }
        if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t") == std::string::npos) continue;
        using K = TranscriptStep::Kind;
        if (line.rfind("C: ", 0) == 0) t.steps.push_back({K::send, line.substr(3), number});
        else if (line == "C:") t.steps.push_back({K::send, "", number});
        else if (line.rfind("C+ ", 0) == 0) t.steps.push_back({K::send_raw, unescape(line.substr(3)), number});
        else if (line.rfind("S: ", 0) == 0) t.steps.push_back({K::expect, line.substr(3), number});
        else if (line == "S:") t.steps.push_back({K::expect, "", number});
        else if (line.rfind("S? ", 0) == 0) t.steps.push_back({K::expect_if_tls, line.substr(3), number});
        else if (line.rfind("S~ ", 0) == 0) t.steps.push_back({K::expect_regex, line.substr(3), number});
        else if (line.rfind("S* ", 0) == 0) t.steps.push_back({K::skip_matching, line.substr(3), number});
        else if (line == "CLOSED") t.steps.push_back({K::closed, "", number});
        else if (line == "TLS") t.steps.push_back({K::tls, "", number});
        else if (line.rfind("! ", 0) == 0) t.steps.push_back({K::directive, line.substr(2), number});
        else throw std::runtime_error(name + ":" + std::to_string(number) + ": unknown transcript line: " + line);
        if (pos > text.size()) break;
    }
    return t;
}

Transcript load_transcript(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return parse_transcript(s.str(), std::filesystem::path(path).filename().string());
}

std::vector<std::string> transcript_files(const std::string& folder) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(folder))
        if (e.path().extension() == ".txt") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

namespace {
// The next server line: the one S* read and did not use, if any.
boost::asio::awaitable<net::Line> next_line(net::Connection& client, std::optional<net::Line>& pushed_back) {
    if (pushed_back) {
        net::Line l = std::move(*pushed_back);
        pushed_back.reset();
        co_return l;
    }
    co_return co_await client.read_line(1 << 20);
}
}  // namespace

boost::asio::awaitable<std::string> run_transcript(net::Connection& client, const Transcript& transcript,
                                                   DirectiveHandler directive,
                                                   std::function<std::string(const std::string&)> substitute,
                                                   bool server_has_tls) {
    using K = TranscriptStep::Kind;
    std::optional<net::Line> pushed_back;  // a line S* read that did not match
    for (const auto& step : transcript.steps) {
        const std::string where = transcript.name + ":" + std::to_string(step.line) + ": ";
        std::string text = step.text;
        if (substitute && step.kind != K::send && step.kind != K::send_raw) text = substitute(text);
        if (step.kind == K::expect_if_tls && !server_has_tls) continue;
        switch (step.kind) {
            case K::send:
            case K::send_raw: {
                client.write(step.kind == K::send ? text + "\r\n" : text);
                const bool sent = co_await client.flush();
                if (!sent) co_return where + "could not send: connection closed";
                break;
            }
            case K::expect:
            case K::expect_if_tls:
            case K::expect_regex: {
                net::Line got = co_await next_line(client, pushed_back);
                if (!got.ok()) co_return where + "expected '" + text + "', got " + net::to_string(got.status);
                const bool matches =
                    step.kind != K::expect_regex ? got.text == text : std::regex_search(got.text, std::regex(text));
                if (!matches) co_return where + "expected '" + text + "'\n   got: '" + got.text + "'";
                break;
            }
            case K::skip_matching: {
                std::regex rx(text);
                for (int i = 0; i < 1000; ++i) {
                    net::Line got = co_await next_line(client, pushed_back);
                    if (!got.ok()) co_return where + "connection ended while skipping: " + net::to_string(got.status);
                    if (!std::regex_search(got.text, rx)) {
                        pushed_back = std::move(got);
                        break;
                    }
                }
                break;
            }
            case K::closed: {
                if (pushed_back) co_return where + "expected the close, got '" + pushed_back->text + "'";
                net::Line got = co_await client.read_line(1 << 20);
                if (got.status != net::ReadStatus::eof)
                    co_return where + "expected the server to close, got " +
                        (got.ok() ? "'" + got.text + "'" : std::string(net::to_string(got.status)));
                break;
            }
            case K::directive: {
                if (!directive) co_return where + "directive without a handler: " + text;
                std::string failure = co_await directive(client, text);
                if (!failure.empty()) co_return where + failure;
                break;
            }
            case K::tls: co_return where + "TLS cannot run in process";
        }
    }
    co_return std::string();
}

}  // namespace hikyaku::test
