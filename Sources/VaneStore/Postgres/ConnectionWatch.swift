import PostgresNIO
import Synchronization
import VaneCore

/// The database closed the connection (it restarted, or the network dropped) before answering.
/// Whether the statement in flight took effect is unknown; its transaction, if any, did not commit
/// unless the statement was the COMMIT itself.
public struct PostgresConnectionLost: Error, CustomStringConvertible {
    public var description: String { "the connection to the database closed before it answered" }
}

/// Ends waits on connections that close. PostgresNIO can lose a statement that is in flight when
/// its connection closes (the database restarting under load): the statement's await never
/// returns, so a transaction, and everything queued behind it, would wait forever. Each statement
/// waits for its answer or for its connection to close, whichever comes first.
///
/// One close callback per connection (a callback per statement would pile up on a long-lived
/// connection's close future); statements register with it while they wait.
final class ConnectionWatch: Sendable {
    private struct State {
        /// Per watched connection, the statements waiting on it.
        var waiting: [PostgresConnection.ID: [UInt64: @Sendable () -> Void]] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Runs `statement` on `connection`, throwing `PostgresConnectionLost` as soon as the connection
    /// closes if the statement has not answered by then.
    func guarded<T: Sendable>(_ connection: PostgresConnection, _ statement: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = FirstResult<T>()
        let (token, firstWatch) = state.withLock { s -> (UInt64, Bool) in
            s.nextToken &+= 1
            let first = s.waiting[connection.id] == nil
            s.waiting[connection.id, default: [:]][s.nextToken] = { outcome.report(.failure(PostgresConnectionLost())) }
            return (s.nextToken, first)
        }
        if firstWatch {
            // Fires at once when the connection is already closed.
            connection.closeFuture.whenComplete { [self] _ in closed(connection.id) }
        }
        defer {
            state.withLock { s in _ = s.waiting[connection.id]?.removeValue(forKey: token) }
        }
        return try await outcome.run(statement)
    }

    private func closed(_ id: PostgresConnection.ID) {
        let waiters = state.withLock { s in s.waiting.removeValue(forKey: id) ?? [:] }
        for fail in waiters.values { fail() }
    }

    /// Connections watched (tests: closed ones are forgotten).
    var watchedConnections: Int { state.withLock { $0.waiting.count } }
}
