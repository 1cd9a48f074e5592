import ArgumentParser
import Foundation
import VaneStore

struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move an installation between databases.", subcommands: [StoreCopyCommand.self])
}

/// `vane store copy --from DIR --to URL`: the embedded store into PostgreSQL, history and all.
struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy an embedded store (a --data-dir) into a PostgreSQL database, keeping every id and cursor.",
        discussion: """
            Stop `vane serve` on the data directory first (the copy locks it). The target must be empty \
            or filled by an earlier copy: running the copy again inserts only what is missing. Nodes on \
            the new database must seal secrets with the old key: set VANE_SECRETS_KEY to the contents of \
            <data-dir>/secrets.key (unless VANE_SECRETS_KEY was set already).
            """)

    @Option(help: "The data directory of the embedded store.") var from: String
    @Option(help: "postgres://user[:password]@host[:port]/database[?sslmode=…]") var to: String

    func run() async throws {
        let url: DatabaseURL
        do { url = try DatabaseURL(to) } catch { throw ValidationError(error.description) }
        let started = Date()
        let reports = try await StoreCopy.copy(from: from, to: url) { print($0) }
        let read = reports.reduce(0) { $0 + $1.read }
        let inserted = reports.reduce(0) { $0 + $1.inserted }
        print(String(format: "copied %@ into %@: %d rows read, %d inserted (%d already there), %.1f s",
                     from, url.description, read, inserted, read - inserted, Date().timeIntervalSince(started)))
    }
}
