import Crypto
import Foundation
import VaneCore

/// Seals secrets that Vane must be able to read back (the Segment outbound write key, the inbound
/// shared secret) with AES-GCM under a server key, so a copy of the database (a backup, a dump, a
/// stolen disk image without the key) does not give them away. Sealed values name the key that
/// sealed them, so the key can be rotated: the new key seals, the previous ones still open, and
/// `vane secrets rotate` re-seals everything under the new one.
public struct SecretBox: Sendable {
    struct Key: Sendable {
        let id: String
        let key: SymmetricKey
    }

    static let prefix = "vane-sealed:v1:"
    let current: Key
    let previous: [Key]

    public struct OpenError: Error, CustomStringConvertible {
        public let keyID: String
        /// The settings document that holds the secret, when known.
        public var setting: String?
        public var description: String {
            "a stored secret\(setting.map { " in \($0)" } ?? "") was sealed with key \(keyID), which is neither VANE_SECRETS_KEY nor one of VANE_SECRETS_KEY_PREVIOUS"
                + " (start this node with the key the others use, or list the old key in VANE_SECRETS_KEY_PREVIOUS)"
        }
    }

    /// Runs `open`, naming `setting` in the error when a secret in it cannot be opened.
    static func opening<T>(_ setting: String, _ open: () throws -> T) throws -> T {
        do { return try open() } catch var e as OpenError {
            e.setting = setting
            throw e
        }
    }

    /// Keys are 32 random bytes in base64, or any passphrase (hashed to 32 bytes).
    public init(current: String, previous: [String] = []) {
        self.current = Self.key(current)
        self.previous = previous.filter { !$0.isEmpty }.map(Self.key)
    }

    static func key(_ text: String) -> Key {
        let bytes: [UInt8]
        if let data = Data(base64Encoded: text), data.count == 32 { bytes = Array(data) } else { bytes = Array(SHA256.hash(data: Data(text.utf8))) }
        let id = SHA256.hash(data: Data("vane-secret-key-id:".utf8) + bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
        return Key(id: id, key: SymmetricKey(data: bytes))
    }

    /// A box with a random key that lives as long as the process (tests, in-memory stores).
    public static func ephemeral() -> SecretBox {
        SecretBox(current: Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
    }

    /// The server's box: `VANE_SECRETS_KEY` (and `VANE_SECRETS_KEY_PREVIOUS`, comma-separated) when
    /// set; otherwise a key file in the data directory, created on first use, readable by the owner only.
    public static func load(environment: [String: String], dataDir: String?) throws -> SecretBox {
        let previous = (environment["VANE_SECRETS_KEY_PREVIOUS"] ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        if let key = environment["VANE_SECRETS_KEY"], !key.isEmpty { return SecretBox(current: key, previous: previous) }
        guard let dataDir else { return ephemeral() }
        let path = (dataDir as NSString).appendingPathComponent("secrets.key")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            return SecretBox(current: text.trimmingCharacters(in: .whitespacesAndNewlines), previous: previous)
        }
        let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        guard FileManager.default.createFile(atPath: path, contents: Data((fresh + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return SecretBox(current: fresh, previous: previous)
    }

    public var currentKeyID: String { current.id }

    public func seal(_ plain: String) -> String {
        // AES-GCM with a random nonce cannot fail for in-memory data of this size.
        let box = try! AES.GCM.seal(Data(plain.utf8), using: current.key)
        return Self.prefix + current.id + ":" + box.combined!.base64EncodedString()
    }

    /// The plain text; values stored before sealing existed are returned as they are.
    public func open(_ stored: String) throws -> String {
        guard stored.hasPrefix(Self.prefix) else { return stored }
        let rest = stored.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { throw OpenError(keyID: "?") }
        let id = String(rest[..<colon])
        guard let key = ([current] + previous).first(where: { $0.id == id }),
              let data = Data(base64Encoded: String(rest[rest.index(after: colon)...])),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: key.key)
        else { throw OpenError(keyID: id) }
        return String(decoding: plain, as: UTF8.self)
    }

    /// Whether a stored value is plain or sealed under a key other than the current one.
    public func needsResealing(_ stored: String) -> Bool {
        !stored.hasPrefix(Self.prefix + current.id + ":")
    }

    /// Seals the named string fields of a settings document.
    func sealFields(_ value: JSONValue, _ names: [String]) -> JSONValue {
        guard case .object(var o) = value else { return value }
        for n in names {
            // A value sealed under an unknown key is left as it is: sealing it again would lose it.
            if case .string(let s)? = o[n], !s.isEmpty, needsResealing(s), let plain = try? open(s) { o[n] = .string(seal(plain)) }
        }
        return .object(o)
    }

    /// Opens the named string fields of a settings document.
    func openFields(_ value: JSONValue, _ names: [String]) throws -> JSONValue {
        guard case .object(var o) = value else { return value }
        for n in names { if case .string(let s)? = o[n] { o[n] = .string(try open(s)) } }
        return .object(o)
    }
}
