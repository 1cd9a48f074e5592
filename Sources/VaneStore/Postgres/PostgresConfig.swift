import PostgresNIO
import VaneCore

extension PostgresStore /* ConfigRepository */ {
    public func bootstrap(preset: PresetKeys, now: Int64) async throws -> [IssuedKey] {
        throw Self.notYet(#function)
    }

    public func key(matching secret: String) async throws -> APIKey? {
        throw Self.notYet(#function)
    }

    public func keys(project: String) async throws -> [APIKey] {
        throw Self.notYet(#function)
    }

    public func createKey( project: String, kind: KeyKind, environment: String?, description: String, allowedOrigins: [String]?, now: Int64, actor: String? ) async throws -> IssuedKey {
        throw Self.notYet(#function)
    }

    public func revokeKey(project: String, id: String, now: Int64, actor: String?) async throws -> Bool {
        throw Self.notYet(#function)
    }

    public func environments(project: String) async throws -> [String] {
        throw Self.notYet(#function)
    }

    public func entities(project: String, kind: EntityKind?) async throws -> [Entity] {
        throw Self.notYet(#function)
    }

    public func entity(project: String, kind: EntityKind, name: String) async throws -> Entity? {
        throw Self.notYet(#function)
    }

    public func save(project: String, entity: Entity, mustBeNew: Bool, audit: AuditEntry) async throws {
        throw Self.notYet(#function)
    }

    public func delete(project: String, kind: EntityKind, name: String, audit: AuditEntry) async throws -> Bool {
        throw Self.notYet(#function)
    }

    public func saveAll(project: String, entities: [Entity], audit: AuditEntry) async throws {
        throw Self.notYet(#function)
    }

    public func configTime(project: String) async throws -> Int64 {
        throw Self.notYet(#function)
    }

    public func customIDTypes(project: String) async throws -> [String] {
        throw Self.notYet(#function)
    }

    public func addCustomIDType(project: String, name: String, audit: AuditEntry) async throws {
        throw Self.notYet(#function)
    }

    public func removeCustomIDType(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        throw Self.notYet(#function)
    }

    public func createIDList(project: String, name: String, now: Int64, audit: AuditEntry) async throws -> IDListInfo {
        throw Self.notYet(#function)
    }

    public func deleteIDList(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        throw Self.notYet(#function)
    }

    public func idLists(project: String) async throws -> [IDListInfo] {
        throw Self.notYet(#function)
    }

    public func idList(project: String, name: String) async throws -> IDListInfo? {
        throw Self.notYet(#function)
    }

    public func changeIDList( project: String, name: String, add: [String], remove: [String], source: String, now: Int64, audit: AuditEntry? ) async throws -> (added: Int, removed: Int) {
        throw Self.notYet(#function)
    }

    public func recentIDListChanges(project: String, name: String, limit: Int) async throws -> [IDListChange] {
        throw Self.notYet(#function)
    }

    public func idListFile(project: String, name: String, fileID: String, from offset: Int) async throws -> [UInt8]? {
        throw Self.notYet(#function)
    }

    public func idListFileOwner(fileID: String) async throws -> (project: String, name: String)? {
        throw Self.notYet(#function)
    }

    public func idListEntries(project: String) async throws -> [String: Set<String>] {
        throw Self.notYet(#function)
    }

    public func applyMembership(project: String, _ changes: [MembershipChange], source: String, now: Int64) async throws -> [MembershipOutcome] {
        throw Self.notYet(#function)
    }

    public func auditLog(project: String, query: AuditQuery) async throws -> [AuditEntry] {
        throw Self.notYet(#function)
    }

}
