import ArgumentParser
import Foundation
import VaneCore
import VaneServer
import VaneStore

/// `vane users create`: console accounts from the command line (the first admin, or a reset path).
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage console users.", subcommands: [UsersCreate.self])
}

struct UsersCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a console user. The password is read from VANE_USER_PASSWORD or standard input.")

    @OptionGroup var data: DataDirOption
    @Option(help: "Email address (the sign-in name).") var email: String
    @Option(help: "Display name.") var name: String = ""
    @Option(help: "admin, editor or viewer.") var role: String = "admin"

    func run() async throws {
        guard let role = ConsoleRole(rawValue: role) else {
            throw ArgumentParser.ValidationError("--role must be admin, editor or viewer")
        }
        var password = ProcessInfo.processInfo.environment["VANE_USER_PASSWORD"] ?? ""
        if password.isEmpty {
            FileHandle.standardError.write(Data("Password: ".utf8))
            password = readLine(strippingNewline: true) ?? ""
        }
        let store = try await data.openStore()
        do {
            try await VaneServices(store: store).createUser(email: email, name: name, password: password, role: role)
        } catch let e as VaneCore.ValidationError {
            throw ArgumentParser.ValidationError(e.description)
        }
        print("created \(role.rawValue) \(email)")
    }
}
