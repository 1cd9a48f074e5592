import Foundation

/// Links the console builds from data (names, metric ids, cursors, the page to return to): every
/// piece is percent-encoded here, so a name with a space, a slash or a `?` stays one path segment
/// or one query value.
enum WebLink {
    /// RFC 3986's unreserved characters, the only ones left as they are.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// `/console/` followed by the segments, each encoded.
    static func console(_ segments: String...) -> String {
        "/console/" + segments.map(encoded).joined(separator: "/")
    }

    /// `/console/v1/` followed by the segments, each encoded: the JSON API a page's forms call.
    static func api(_ segments: String...) -> String {
        "/console/v1/" + segments.map(encoded).joined(separator: "/")
    }

    /// `path?k=v&…` with the items in key order, each key and value encoded.
    static func query(_ path: String, _ items: [String: String]) -> String {
        guard !items.isEmpty else { return path }
        return path + "?" + items.sorted { $0.key < $1.key }.map { encoded($0.key) + "=" + encoded($0.value) }.joined(separator: "&")
    }
}
