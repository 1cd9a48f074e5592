import PostgresNIO
import VaneCore

extension PostgresStore /* OutboundRepository */ {
    public func auditEntries(project: String, afterID: Int64, limit: Int) async throws -> [AuditEntry] {
        throw Self.notYet(#function)
    }

    public func lastIDs(project: String) async throws -> (event: Int64, audit: Int64) {
        throw Self.notYet(#function)
    }

    public func outboundState(project: String) async throws -> OutboundState {
        throw Self.notYet(#function)
    }

    public func saveOutbound(project: String, state: OutboundState, newDeadLetters: [DeadLetter], resolvedDeadLetters: [Int64]) async throws {
        throw Self.notYet(#function)
    }

    public func deadLetters(project: String, retryRequestedOnly: Bool, limit: Int) async throws -> [DeadLetter] {
        throw Self.notYet(#function)
    }

    public func deadLetterCounts(project: String) async throws -> [String: Int] {
        throw Self.notYet(#function)
    }

    public func requestDeadLetterRetry(project: String, ids: [Int64]?) async throws -> Int {
        throw Self.notYet(#function)
    }

}
