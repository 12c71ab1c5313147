// replay_main.cpp: a main() for fuzz targets built without libFuzzer.
// Feeds every file under the given directories (or the given files) to
// LLVMFuzzerTestOneInput once, plus every prefix split of small inputs, so the
// sanitizer build exercises the targets on their seed corpus in CTest.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void run_file(const std::filesystem::path& path, std::size_t& count) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    // Truncations find end-of-input bugs the whole file hides.
    for (std::size_t cut = 0; cut < bytes.size() && cut < 512; ++cut)
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), cut);
    ++count;
}

int main(int argc, char** argv) {
    std::size_t count = 0;
    LLVMFuzzerTestOneInput(nullptr, 0);
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (auto& entry : std::filesystem::recursive_directory_iterator(p))
                if (entry.is_regular_file()) run_file(entry.path(), count);
        } else if (std::filesystem::exists(p)) {
            run_file(p, count);
        }
    }
    std::printf("replayed %zu inputs\n", count);
    return count > 0 ? 0 : 1;
}
