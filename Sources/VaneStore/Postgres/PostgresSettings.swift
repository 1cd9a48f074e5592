import PostgresNIO
import VaneCore

extension PostgresStore /* SettingsRepository */ {
    public func setting(project: String, name: String) async throws -> JSONValue? {
        throw Self.notYet(#function)
    }

    public func putSetting(project: String, name: String, value: JSONValue, audit: AuditEntry) async throws {
        throw Self.notYet(#function)
    }

    public func projects() async throws -> [String] {
        throw Self.notYet(#function)
    }

}

extension PostgresStore /* UsageRepository */ {
    public func addUsage(project: String, _ counts: [UsageCount]) async throws {
        throw Self.notYet(#function)
    }

    public func usage(project: String, source: String, sinceDay: String) async throws -> [UsageCount] {
        throw Self.notYet(#function)
    }

}

extension PostgresStore /* ParameterStoreRepository */ {
    public func parameterStores(project: String) async throws -> [ParameterStore] {
        throw Self.notYet(#function)
    }

    public func saveParameterStore(project: String, _ store: ParameterStore, mustBeNew: Bool, audit: AuditEntry) async throws -> ParameterStore {
        throw Self.notYet(#function)
    }

    public func deleteParameterStore(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        throw Self.notYet(#function)
    }

}
