#ifndef DELTAGEN_CLINUXSHIM_H
#define DELTAGEN_CLINUXSHIM_H
/* Linux calls that Swift's Glibc module does not export. Header-only: nothing to link. */
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Atomically swaps two paths (renameat2 RENAME_EXCHANGE), so a regenerated delta replaces
   the old one without a moment where neither or half of one is visible. */
static inline int deltagen_rename_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
}

/* Raises the calling thread's nice value (Linux keeps one per thread). Lowering a thread's
   priority needs no privilege; raising it back would, so only threads that end use it. */
static inline int deltagen_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
/* Makes glibc serve allocations of `threshold` bytes or more with their own mappings, which
   go back to the system when freed. By default the threshold grows (up to 32 MiB) after
   each such buffer is freed, and later ones are carved from the heap, which keeps their
   pages after they are freed. Returns 0 on failure, as mallopt does. */
static inline int deltagen_map_large_allocations(size_t threshold) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
}

/* CPUs in the calling thread's affinity mask (taskset, a container's cpuset), or -1. Through
   the raw system call: glibc's wrapper and CPU_COUNT need _GNU_SOURCE, which would give this
   module other definitions of system types than Swift's Glibc module has. */
static inline int deltagen_affinity_count(void) {
    unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {0};
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    if (bytes <= 0) return -1;
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count;
}
#endif