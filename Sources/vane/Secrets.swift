import ArgumentParser
import Foundation
import VaneServer
import VaneStore

struct Secrets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the key that seals integration secrets at rest.", subcommands: [SecretsRotate.self])
}

struct SecretsRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-seal every stored secret with the current key.",
        discussion: """
            Set VANE_SECRETS_KEY to the new key and VANE_SECRETS_KEY_PREVIOUS to the old one (the \
            contents of <data-dir>/secrets.key when no key was set before), then run this (or just \
            restart `vane serve`, which does the same at startup). Afterwards the previous key is no \
            longer needed.
            """)

    @OptionGroup var data: DataDirOption

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let location = try data.location()
        let secrets = try SecretBox.load(environment: env, dataDir: location.isShared ? nil : data.dataDir)
        let store = try await StoreFactory.open(location)
        let changed = try await VaneServices(store: store, secrets: secrets).resealSecrets(actor: "vane secrets rotate (command line)")
        print("Sealed \(changed) settings document(s) with key \(secrets.currentKeyID).")
    }
}
