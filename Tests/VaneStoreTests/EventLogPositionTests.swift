import Foundation
import Synchronization
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// On PostgreSQL a sequence value is taken before commit, so without care a reader doing
/// `id > cursor` could pass id 101 while 100 is still uncommitted, and never see 100. Every
/// transaction that appends to the events table takes the event-log lock first and holds it to
/// commit (docs/event-log.md), so ids are handed out in commit order. This races many writers on
/// their own connections against a reader that follows the log by position.
private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

@Suite("Event log positions")
struct EventLogPositionTests {
    static let writers = 8
    static let batchesPerWriter = 200
    static let eventsPerBatch = 3

    @Test func aReaderFollowingPositionsSeesEveryCommittedEventOnceInOrder() async throws {
        let url = try await TestPostgres.freshDatabase()
        // Separate stores (separate pools), so the writers commit on different connections.
        var writerStores: [PostgresStore] = []
        for _ in 0..<Self.writers { writerStores.append(try await PostgresStore.open(url: url)) }
        let reader = try await PostgresStore.open(url: url)
        defer {
            for s in writerStores { s.close() }
            reader.close()
        }

        let done = Counter()
        let result = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (w, store) in writerStores.enumerated() {
                group.addTask {
                    var ids: [Int64] = []
                    for b in 0..<Self.batchesPerWriter {
                        let batch = (0..<Self.eventsPerBatch).map { i in
                            EventRecord(
                                project: "default", eventName: "w\(w)", user: ["userID": .string("u\(w)")], userID: "u\(w)",
                                stableID: nil, customIDs: [:], environment: "production", value: .int(Int64(b * 10 + i)),
                                metadata: nil, secondaryExposures: nil, time: Int64(b), receivedAt: Int64(b), source: .sdk,
                                sdkType: "test")
                        }
                        ids += try await store.insertEvents(batch).map { try #require($0) }
                    }
                    done.value.add(1, ordering: .sequentiallyConsistent)
                    return ids
                }
            }
            // The reader: follow the log from a cursor until every writer is done, then once more.
            let readerTask = Task<(seen: [Int64], reads: Int), any Error> {
                var seen: [Int64] = []
                var cursor: Int64 = 0
                var reads = 0
                while true {
                    try Task.checkCancellation()
                    let finished = done.value.load(ordering: .sequentiallyConsistent) == Self.writers
                    while true {
                        let page = try await reader.events(project: "default", afterID: cursor, limit: 500)
                        reads += 1
                        for e in page { seen.append(e.id!) }
                        if let last = page.last?.id { cursor = last }
                        if page.count < 500 { break }
                    }
                    if finished { return (seen, reads) }
                }
            }
            var written: [Int64] = []
            do {
                for try await ids in group { written += ids }
            } catch {
                readerTask.cancel()
                throw error
            }
            let read = try await readerTask.value
            return (written: written, seen: read.seen, reads: read.reads)
        }

        let total = Self.writers * Self.batchesPerWriter * Self.eventsPerBatch
        #expect(result.written.count == total)
        #expect(Set(result.written).count == total)
        // The reader read while the writers wrote (else it proves nothing about the race).
        #expect(result.reads > 10)
        // In increasing order, without a duplicate…
        #expect(zip(result.seen, result.seen.dropFirst()).allSatisfy { $0 < $1 })
        // …and without a skip: every committed id, exactly once.
        let missed = Set(result.written).subtracting(result.seen)
        #expect(missed.count == 0, "the reader skipped \(missed.count) committed events, e.g. \(missed.sorted().prefix(5))")
        #expect(result.seen.count == total)
        #expect(try await reader.eventCount(project: "default") == total)
    }
}
