#pragma once
/// How much memory this process (or another) holds, for tests that bound what a hostile
/// peer can make a server allocate: measure before, provoke, measure again.
///
/// Use heap_in_use() for bounds. Under AddressSanitizer, RSS is inflated and lags: ASan
/// maps shadow memory, keeps freed blocks in its quarantine (256 MiB by default) and pads
/// every allocation with redzones, so RSS neither shrinks on free nor tracks the heap.
#include <cstddef>

namespace achan::test {

/// Bytes currently allocated through malloc/new by this process, all threads. Under
/// ASan: the sanitizer allocator's live bytes (__sanitizer_get_current_allocated_bytes,
/// quarantined blocks not counted, redzones not counted); otherwise glibc's mallinfo2()
/// (uordblks + hblkhd: arena bytes in use plus mmap'ed blocks). Either way a freed block
/// stops counting at once. Not a snapshot of other threads' work in flight: measure
/// when the server is quiet.
std::size_t heap_in_use();

/// Resident set size (VmRSS of /proc/PID/status) in bytes; `pid` 0 means this process.
/// 0 if the process or the line is missing. For child processes (a grpc++ peer) and
/// non-sanitized builds; see above for why not under ASan.
std::size_t rss_bytes(int pid = 0);

}  // namespace achan::test
