// cache_only_vfs.cpp: a pass-through SQLite VFS with cache-only reads (cache_only_vfs.h).
#include "storage/cache_only_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <vector>

#include "storage/store.h"

namespace hikyaku::storage::cache_only_vfs {

namespace {

thread_local bool cache_missed = false;

sqlite3_vfs* base_vfs = nullptr;
sqlite3_vfs shim_vfs;

// Our file: SQLite's sqlite3_file header, then the default VFS's file right after it.
struct ShimFile {
    sqlite3_file header;  // pMethods -> our methods
    sqlite3_file* real;   // the default VFS's file (the bytes after this struct)
    int peek_fd;          // our own read-only descriptor for RWF_NOWAIT reads; -1 if none
};

// Whether every page of [address, address + length) is in the page cache, by mincore(2).
bool mincore_says_resident(std::uintptr_t start, std::uintptr_t end, std::size_t page) {
    std::size_t pages = (end - start + page - 1) / page;
    unsigned char small[64];
    std::vector<unsigned char> large;
    unsigned char* vec = small;
    if (pages > sizeof small) {
        large.resize(pages);
        vec = large.data();
    }
    if (::mincore(reinterpret_cast<void*>(start), end - start, vec) != 0) return false;
    for (std::size_t i = 0; i < pages; ++i)
        if (!(vec[i] & 1)) return false;
    return true;
}

// What mincore said of one window of the map, remembered by this thread for a short time.
// SQLite fetches a message's pages one at a time, and a mincore call for each was a third of
// imapd's time in a FETCH of small bodies (bench/README.md, 2026-12-01); one call now covers a
// window of kWindowPages pages, and its answer serves the fetches of the next kFreshFor. Only
// "resident" answers are reused: a page that was not is asked about again. A page evicted
// within kFreshFor of the check would be read from disk on the event loop: a stall of that
// one thread, never wrong bytes (the same risk as between any check and its read).
constexpr std::size_t kWindowPages = 64;
constexpr std::chrono::milliseconds kFreshFor{50};
struct ResidentWindow {
    std::uintptr_t start = 0;    // 0: empty
    std::uint64_t resident = 0;  // bit i: page i of the window is resident
    std::chrono::steady_clock::time_point checked;
};
thread_local ResidentWindow resident_windows[32];  // direct-mapped by window number

bool page_cache_holds(const void* address, std::size_t length) {
    static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(address) & ~static_cast<std::uintptr_t>(page - 1);
    const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(address) + length;
    const std::uintptr_t window_bytes = kWindowPages * page;
    const std::uintptr_t window = start - start % window_bytes;
    if (end > window + window_bytes) return mincore_says_resident(start, end, page);  // spans windows: rare
    const std::size_t first = (start - window) / page;
    const std::size_t count = (end - start + page - 1) / page;
    const std::uint64_t wanted = (count >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << count) - 1)) << first;
    ResidentWindow& slot = resident_windows[(window / window_bytes) % std::size(resident_windows)];
    timespec coarse{};  // a tick of a few ms is fine for kFreshFor, and costs less to read
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
    const auto now = std::chrono::steady_clock::time_point(std::chrono::seconds(coarse.tv_sec) +
                                                           std::chrono::nanoseconds(coarse.tv_nsec));
    if (slot.start == window && now - slot.checked < kFreshFor && (slot.resident & wanted) == wanted) return true;
    unsigned char vec[kWindowPages];
    // The whole window, if it lies inside the map (mincore fails with ENOMEM where nothing is
    // mapped: the map's first and last windows); else only the pages asked about.
    if (::mincore(reinterpret_cast<void*>(window), window_bytes, vec) != 0)
        return mincore_says_resident(start, end, page);
    std::uint64_t resident = 0;
    for (std::size_t i = 0; i < kWindowPages; ++i)
        if (vec[i] & 1) resident |= std::uint64_t{1} << i;
    slot = ResidentWindow{window, resident, now};
    return (resident & wanted) == wanted;
}

ShimFile* shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

int x_close(sqlite3_file* f) {
    ShimFile* s = shim(f);
    if (s->peek_fd >= 0) ::close(s->peek_fd);
    s->peek_fd = -1;
    return s->real->pMethods ? s->real->pMethods->xClose(s->real) : SQLITE_OK;
}

int x_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
    ShimFile* s = shim(f);
    if (!CacheOnlyReads::active()) return s->real->pMethods->xRead(s->real, buffer, amount, offset);
    if (s->peek_fd >= 0) {
        iovec v{buffer, static_cast<std::size_t>(amount)};
        ssize_t n = ::preadv2(s->peek_fd, &v, 1, offset, RWF_NOWAIT);
        if (n == amount) return SQLITE_OK;
        if (n >= 0) {
            // A short read: the end of the file (SQLite's own read handles it), or only part
            // of the range cached.
            struct stat st {};
            if (::fstat(s->peek_fd, &st) == 0 && offset + amount > st.st_size)
                return s->real->pMethods->xRead(s->real, buffer, amount, offset);
        }
    }
    cache_missed = true;
    return SQLITE_IOERR_READ;
}

int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    ShimFile* s = shim(f);
    int rc = s->real->pMethods->xFetch(s->real, offset, amount, out);
    if (rc != SQLITE_OK || !*out || !CacheOnlyReads::active()) return rc;
    if (page_cache_holds(*out, static_cast<std::size_t>(amount))) return SQLITE_OK;
    // Touching this page would fault in from disk: decline the map; xRead decides.
    s->real->pMethods->xUnfetch(s->real, offset, *out);
    *out = nullptr;
    return SQLITE_OK;
}

// The rest passes through.
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
    return shim(f)->real->pMethods->xWrite(shim(f)->real, b, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) { return shim(f)->real->pMethods->xTruncate(shim(f)->real, size); }
int x_sync(sqlite3_file* f, int flags) { return shim(f)->real->pMethods->xSync(shim(f)->real, flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return shim(f)->real->pMethods->xFileSize(shim(f)->real, size);
}
int x_lock(sqlite3_file* f, int level) { return shim(f)->real->pMethods->xLock(shim(f)->real, level); }
int x_unlock(sqlite3_file* f, int level) { return shim(f)->real->pMethods->xUnlock(shim(f)->real, level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
    return shim(f)->real->pMethods->xCheckReservedLock(shim(f)->real, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
    return shim(f)->real->pMethods->xFileControl(shim(f)->real, op, arg);
}
int x_sector_size(sqlite3_file* f) { return shim(f)->real->pMethods->xSectorSize(shim(f)->real); }
int x_device_characteristics(sqlite3_file* f) { return shim(f)->real->pMethods->xDeviceCharacteristics(shim(f)->real); }
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return shim(f)->real->pMethods->xShmMap(shim(f)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return shim(f)->real->pMethods->xShmLock(shim(f)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { shim(f)->real->pMethods->xShmBarrier(shim(f)->real); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
    return shim(f)->real->pMethods->xShmUnmap(shim(f)->real, delete_flag);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
    return shim(f)->real->pMethods->xUnfetch(shim(f)->real, offset, p);
}

const sqlite3_io_methods shim_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    ShimFile* s = shim(f);
    s->real = reinterpret_cast<sqlite3_file*>(s + 1);
    s->peek_fd = -1;
    s->header.pMethods = nullptr;
    int rc = base_vfs->xOpen(base_vfs, name, s->real, flags, out_flags);
    if (rc != SQLITE_OK || !s->real->pMethods) return rc;
    // Our methods claim version 3; the default VFS's unix files are version 3 as well.
    if (s->real->pMethods->iVersion < 3) {
        s->header.pMethods = s->real->pMethods;  // no shim for an older file type
        return rc;
    }
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) s->peek_fd = ::open(name, O_RDONLY | O_CLOEXEC);
    s->header.pMethods = &shim_methods;
    return rc;
}

// Everything else about the VFS is the default one's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return base_vfs->xDelete(base_vfs, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return base_vfs->xAccess(base_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return base_vfs->xDlOpen(base_vfs, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { base_vfs->xDlError(base_vfs, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { base_vfs->xDlClose(base_vfs, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return base_vfs->xRandomness(base_vfs, n, out); }
int x_sleep(sqlite3_vfs*, int micros) { return base_vfs->xSleep(base_vfs, micros); }
int x_current_time(sqlite3_vfs*, double* out) { return base_vfs->xCurrentTime(base_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) { return base_vfs->xGetLastError(base_vfs, n, out); }
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return base_vfs->xCurrentTimeInt64(base_vfs, out); }

}  // namespace

const char* name() {
    static std::once_flag once;
    std::call_once(once, [] {
        base_vfs = sqlite3_vfs_find(nullptr);
        shim_vfs = sqlite3_vfs{};
        shim_vfs.iVersion = 2;
        shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + base_vfs->szOsFile;
        shim_vfs.mxPathname = base_vfs->mxPathname;
        shim_vfs.zName = "hikyaku-cache-only";
        shim_vfs.xOpen = x_open;
        shim_vfs.xDelete = x_delete;
        shim_vfs.xAccess = x_access;
        shim_vfs.xFullPathname = x_full_pathname;
        shim_vfs.xDlOpen = x_dl_open;
        shim_vfs.xDlError = x_dl_error;
        shim_vfs.xDlSym = x_dl_sym;
        shim_vfs.xDlClose = x_dl_close;
        shim_vfs.xRandomness = x_randomness;
        shim_vfs.xSleep = x_sleep;
        shim_vfs.xCurrentTime = x_current_time;
        shim_vfs.xGetLastError = x_get_last_error;
        shim_vfs.xCurrentTimeInt64 = x_current_time_int64;
        sqlite3_vfs_register(&shim_vfs, 0);
    });
    return shim_vfs.zName;
}

bool take_cache_miss() {
    bool missed = cache_missed;
    cache_missed = false;
    return missed;
}

}  // namespace hikyaku::storage::cache_only_vfs
