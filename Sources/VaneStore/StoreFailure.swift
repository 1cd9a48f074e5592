import GRDB
import PostgresNIO

/// A database failure that says something to the client: the disk is full (nothing was stored,
/// 507), or the database is busy, unreachable or cannot be written right now (503, try again).
public enum StoreFailure: Sendable, Equatable {
    case diskFull
    case unavailable

    public init?(_ error: any Error) {
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: self = .diskFull
            case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY: self = .unavailable
            default: return nil
            }
        } else if let e = error as? PSQLError {
            guard let failure = Self.postgres(e) else { return nil }
            self = failure
        } else if error is PostgresUnreachable || error is PostgresConnectionLost {
            self = .unavailable
        } else if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") {
            // The pool could not hand out a connection (the database is down or its circuit breaker tripped).
            self = .unavailable
        } else {
            return nil
        }
    }

    static func postgres(_ e: PSQLError) -> StoreFailure? {
        switch e.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .queryCancelled:
            return .unavailable
        case .server:
            let state = e.serverInfo?[.sqlState] ?? ""
            if state == "53100" { return .diskFull }
            // 08: connection exceptions; 53: insufficient resources; 57P: the server is shutting down or
            // starting; 40001/40P01: serialization failure or deadlock; 25006: read-only transaction (a standby).
            if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") || state == "40001" || state == "40P01"
                || state == "25006" {
                return .unavailable
            }
            return nil
        default:
            return nil
        }
    }

    public var message: String {
        switch self {
        case .diskFull: return "the server's disk is full: nothing from this request was stored; try again once space is freed"
        case .unavailable: return "the database cannot be written right now: nothing from this request was stored; try again shortly"
        }
    }
}
