import GRDB

/// A database failure that says something to the client: the disk is full (nothing was stored,
/// 507), or the database is busy or cannot be written right now (503, try again).
public enum StoreFailure: Sendable, Equatable {
    case diskFull
    case unavailable

    public init?(_ error: any Error) {
        guard let e = error as? DatabaseError else { return nil }
        switch e.resultCode {
        case .SQLITE_FULL: self = .diskFull
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY: self = .unavailable
        default: return nil
        }
    }

    public var message: String {
        switch self {
        case .diskFull: return "the server's disk is full: nothing from this request was stored; try again once space is freed"
        case .unavailable: return "the database cannot be written right now: nothing from this request was stored; try again shortly"
        }
    }
}
