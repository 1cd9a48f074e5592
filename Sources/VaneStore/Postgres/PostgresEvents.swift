import PostgresNIO
import VaneCore

extension PostgresStore /* EventLog */ {
    @discardableResult
    public func insertEvents(_ events: [EventRecord]) async throws -> [Int64?] {
        throw Self.notYet(#function)
    }

    public func events(project: String, query: EventQuery) async throws -> EventPage {
        throw Self.notYet(#function)
    }

    public func eventCount(project: String) async throws -> Int {
        throw Self.notYet(#function)
    }

    public func event(project: String, id: Int64) async throws -> EventRecord? {
        throw Self.notYet(#function)
    }

    public func eventCountsBySource(project: String, since: Int64) async throws -> [String: (events: Int, exposures: Int)] {
        throw Self.notYet(#function)
    }

    public func events(project: String, afterID: Int64, limit: Int) async throws -> [EventRecord] {
        throw Self.notYet(#function)
    }

    public func countEvents(project: String, afterID: Int64) async throws -> Int {
        throw Self.notYet(#function)
    }

    public func pruneEvents(project: String, before cutoff: Int64, holdForSegmentExport: Bool, limit: Int) async throws -> Int {
        throw Self.notYet(#function)
    }

}
