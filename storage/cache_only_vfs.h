// cache_only_vfs.h: the SQLite VFS that lets an event-loop thread read the store without ever
// waiting for the disk (storage::CacheOnlyReads, store.h).
//
// It wraps the default VFS and changes nothing, except on a thread inside a CacheOnlyReads
// scope: there a page is served only if it is already in the kernel's page cache. A mapped
// page (mmap_size) is checked with mincore(2) before SQLite may touch it (64 pages at a time,
// a "resident" answer reused by the thread for 50 ms: a page evicted in between costs a disk
// read on the event loop, never wrong bytes); any other read is
// made with preadv2(RWF_NOWAIT) on a descriptor of our own, which fails instead of starting
// disk I/O. A read that would have waited fails with SQLITE_IOERR_READ and marks the thread
// (take_cache_miss()), so the store reports Errc::would_block and the caller retries the read
// on a thread that may wait. SQLite ends a read transaction that saw an I/O error and starts
// the next one afresh, so the retried read sees the same snapshot rules as any other.
// Must never: return bytes other than the file's (only a full, successful read is used);
// change anything outside a CacheOnlyReads scope; affect writes.
#pragma once

namespace hikyaku::storage::cache_only_vfs {

// Registers the VFS once per process (thread-safe) and returns its name for sqlite3_open_v2.
const char* name();

// True if a read on this thread failed because its data was not in memory since the last
// call; clears the mark.
bool take_cache_miss();

}  // namespace hikyaku::storage::cache_only_vfs
