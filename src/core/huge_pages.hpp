// Memory for the engine's big arrays (hash index slots, chunked tables),
// and keeping its page faults and its freeing off the writer.
//
// Blocks of 2 MiB and more are aligned to 2 MiB and marked for transparent
// huge pages, so a random lookup costs one TLB entry per 2 MiB instead of
// per 4 KiB. Machines whose kernel offers huge pages only on request
// (Debian's default, "madvise") get them; others are unaffected.
//
// Fresh memory costs the thread that first touches it: the kernel zeroes a
// page as it faults in. On the virtual machines Pond is measured on that is
// ~8 ms for a 2 MiB page (the host backs guest memory on first touch), and a
// writer that met three such faults in one slice kept readers out for 30 ms
// instead of 5. So the faults happen on a background thread instead:
// 2 MiB blocks (ChunkedArray's chunks) come from a pool of blocks already
// faulted in, and a table made ahead of need (HashIndex's next table,
// StableVector's next block) is faulted in by `WarmUp` while the writer
// goes on with the old one. The same thread frees what the writer lets go
// of in bulk (`FreeLater`).
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace pond {

inline constexpr size_t kHugePage = size_t{2} << 20;

// A block for writing; a 2 MiB one comes faulted in from the warm pool when
// the pool has one. Free with FreeHuge and the same size.
void* AllocateHuge(size_t bytes);
void FreeHuge(void* p, size_t bytes);
// Zeroed memory straight from the kernel, for a table written at random
// (core/hash_index.hpp): nothing is written to make it, a page is faulted
// in when first touched (or by a WarmUp).
void* AllocateZeroedHuge(size_t bytes);
void FreeZeroedHuge(void* p, size_t bytes);

// How many faulted-in 2 MiB blocks the pool holds now (for tests); the
// background thread keeps it at kWarmBlocks (32 MiB).
size_t WarmBlocksReady();
inline constexpr size_t kWarmBlocks = 16;

// Destroys `object` (moved from the caller) on the background thread:
// freeing hundreds of megabytes takes the kernel tens of milliseconds (it
// unmaps and frees every page: 17 ms for 240 MB on the measuring VM), which
// the writer should not spend with readers kept out. For plain data only:
// the destructor runs on another thread, later.
void DestroyOnTheSide(void* object, void (*destroy)(void*));
template <typename T>
void FreeLater(T&& object) {
  static_assert(!std::is_lvalue_reference_v<T>, "give the object up: FreeLater(std::move(x))");
  DestroyOnTheSide(new T(std::move(object)), [](void* p) { delete static_cast<T*>(p); });
}

// Faults in [p, p + bytes) on the background thread, 2 MiB at a time,
// without changing what the memory holds. The memory must stay mapped and
// untouched by its owner until Stop (or the destructor) returns; after that
// the background thread never touches it again, whether it finished or not.
class WarmUp {
 public:
  WarmUp() = default;
  WarmUp(void* p, size_t bytes);
  WarmUp(WarmUp&&) noexcept = default;
  WarmUp& operator=(WarmUp&& other) noexcept;
  WarmUp(const WarmUp&) = delete;
  WarmUp& operator=(const WarmUp&) = delete;
  ~WarmUp() { Stop(); }

  // Whether every page is faulted in.
  bool done() const;
  // Waits for the 2 MiB being faulted in, if any, and ends the job.
  void Stop();

  struct Job;

 private:
  std::shared_ptr<Job> job_;
};

}  // namespace pond
