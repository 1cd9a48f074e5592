/// Gives memory back to the system once a burst of work has passed: the database's page caches
/// first, then the heap pages glibc keeps after large allocations are freed. Called by the body
/// budget after a burst of large requests and by the rollup once it has caught up with one.
public struct MemoryReclaimer: Sendable {
    /// Empties the store's caches (asynchronously, on the database's own queue).
    let releaseCaches: @Sendable () -> Void

    func reclaim() async {
        releaseCaches()
        Self.trimHeap()
        // The caches are released on the database's queue; trim again once that is done.
        try? await Task.sleep(for: .seconds(1))
        Self.trimHeap()
    }

    /// Returns the free memory at the top of every heap arena to the system.
    public static func trimHeap() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// Fixes glibc's thresholds for a server process, once at start.
    ///
    /// By default glibc raises its mmap threshold to the largest block freed (up to 32 MB) and its
    /// trim threshold to twice that, so after a burst of multi-megabyte request bodies each thread
    /// arena keeps up to 64 MB of free memory at its top, which `malloc_trim` does not return for
    /// arenas other than the main one. Fixed thresholds turn that adjustment off: blocks of 1 MB and
    /// more are mapped and unmapped on their own, and an arena gives back any free top over 4 MB.
    public static func tuneAllocator() {
        #if os(Linux)
        _ = glibcMallopt(mallocMmapThreshold, 1 << 20)
        _ = glibcMallopt(mallocTrimThreshold, 4 << 20)
        #endif
    }
}

#if os(Linux)
/// glibc's `malloc_trim` and `mallopt`, which Swift's Glibc module does not export.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
private let mallocTrimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
private let mallocMmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
#endif
