import Foundation

/// `postgres://user[:password]@host[:port]/database[?sslmode=…]`, parsed with messages that say
/// what is wrong. The password never appears in `description` (logs, errors, `vane` output).
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    /// libpq's sslmode values. `disable` never uses TLS; `allow` and `prefer` use it when the
    /// server offers it; `require` insists on TLS without checking the certificate; `verify-ca`
    /// and `verify-full` check it (`verify-full` also checks the host name).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public init(_ text: String) throws(Invalid) {
        func invalid(_ why: String) -> Invalid {
            Invalid(description: "invalid database URL \(Self.redacting(text)): \(why) (expected postgres://user[:password]@host[:port]/database)")
        }
        guard let components = URLComponents(string: text) else { throw invalid("it is not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw invalid("it names no database (the path after the host)") }
        if let port = components.port, !(1...65535).contains(port) { throw invalid("port \(port) is out of range") }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw invalid("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "application_name", "connect_timeout": continue
            default: throw invalid("unknown parameter '\(item.name)' (supported: sslmode)")
            }
        }
        self.user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? user
        self.password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = path.removingPercentEncoding ?? path
        self.sslMode = sslMode
    }

    /// The URL as it can be shown: the password replaced by `***`.
    public var description: String {
        let credentials = password == nil ? user : "\(user):***"
        return "postgres://\(credentials)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// Best effort for text that did not parse: hides whatever sits between `:` and `@` after the scheme.
    static func redacting(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
              schemeEnd.upperBound <= at.lowerBound else { return "'\(text)'" }
        let credentials = text[schemeEnd.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return "'\(text)'" }
        return "'" + text[..<credentials.index(after: colon)] + "***" + text[at.lowerBound...] + "'"
    }
}
