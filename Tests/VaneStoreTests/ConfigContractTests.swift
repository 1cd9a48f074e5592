import Foundation
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// The ConfigRepository contract beyond StoreContractTests: conflicts, audit entries written with
/// the change (and only with a change), config time, ID list files, Engage membership and audit
/// log queries. Every test runs on every store (see `StoreUnderTest`).
@Suite("Config contract")
struct ConfigContractTests {
    private func entry(
        _ kind: String, _ name: String, action: String = "updated", actor: String = "tester", time: Int64 = 1000,
        environment: String? = nil, before: JSONValue? = nil, after: JSONValue? = nil
    ) -> AuditEntry {
        AuditEntry(time: time, actor: actor, action: action, kind: kind, name: name, environment: environment,
                   before: before, after: after, description: "\(action) \(kind) \(name)")
    }

    private func lines(_ ops: [(String, String)]) -> String {
        ops.map { "\($0.0)\(StatsigHash.idListEntry($0.1))\n" }.joined()
    }

    @Test(arguments: StoreUnderTest.allCases)
    func auditLogFiltersByActionAndTimeRange(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        for (i, action) in ["created", "updated", "disabled", "updated"].enumerated() {
            var gate = Entity(kind: .gate, name: "g")
            gate.description = "v\(i)"
            try await store.save(project: "default", entity: gate, mustBeNew: false,
                                 audit: entry("gate", "g", action: action, time: 1_000 * Int64(i + 1)))
        }
        func times(_ q: AuditQuery) async throws -> [Int64] { try await store.auditLog(project: "default", query: q).map(\.time) }
        #expect(try await times(AuditQuery(kind: "gate", action: "updated")) == [4_000, 2_000])
        #expect(try await times(AuditQuery(kind: "gate", since: 2_000, until: 4_000)) == [3_000, 2_000], "since inclusive, until exclusive")
        #expect(try await times(AuditQuery(kind: "gate", action: "updated", since: 3_000)) == [4_000])
        #expect(try await times(AuditQuery(kind: "gate", action: "deleted")).isEmpty)
    }

    // MARK: - Entities

    @Test(arguments: StoreUnderTest.allCases)
    func entityConflictsDeletesAndAuditTrail(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        var gate = Entity(kind: .gate, name: "checkout")
        gate.description = "first"
        try await store.save(project: "default", entity: gate, mustBeNew: true, audit: entry("gate", "checkout", action: "created"))
        let timeAfterCreate = try await store.configTime(project: "default")

        var again = gate
        again.description = "second"
        let error = await #expect(throws: StoreError.self) {
            try await store.save(project: "default", entity: again, mustBeNew: true, audit: entry("gate", "checkout", action: "created"))
        }
        #expect(error == StoreError.conflict("a gate named 'checkout' already exists"))
        // The refused create changed nothing: definition, config time and audit log are as before.
        #expect(try await store.entity(project: "default", kind: .gate, name: "checkout")?.description == "first")
        #expect(try await store.configTime(project: "default") == timeAfterCreate)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "gate")).count == 1)

        // Names are per kind: a dynamic config may share the gate's name.
        var config = Entity(kind: .dynamicConfig, name: "checkout")
        config.defaultValue = ["color": "blue"]
        try await store.save(project: "default", entity: config, mustBeNew: true, audit: entry("dynamic_config", "checkout", action: "created"))
        #expect(try await store.entity(project: "default", kind: .dynamicConfig, name: "checkout") == config)

        try await store.save(project: "default", entity: again, mustBeNew: false, audit: entry("gate", "checkout"))
        #expect(try await store.entity(project: "default", kind: .gate, name: "checkout") == again)

        #expect(try await store.delete(project: "default", kind: .gate, name: "checkout", audit: entry("gate", "checkout", action: "deleted")))
        #expect(try await store.entity(project: "default", kind: .gate, name: "checkout") == nil)
        #expect(try await store.entity(project: "default", kind: .dynamicConfig, name: "checkout") != nil)
        let timeAfterDelete = try await store.configTime(project: "default")
        // Deleting what is not there: false, no audit entry, no config change.
        #expect(try await !store.delete(project: "default", kind: .gate, name: "checkout", audit: entry("gate", "checkout", action: "deleted")))
        #expect(try await !store.delete(project: "default", kind: .segment, name: "nothing", audit: entry("segment", "nothing", action: "deleted")))
        #expect(try await store.configTime(project: "default") == timeAfterDelete)

        let gateLog = try await store.auditLog(project: "default", query: AuditQuery(kind: "gate", name: "checkout"))
        #expect(gateLog.map(\.action) == ["deleted", "updated", "created"])  // newest first
        #expect(gateLog.allSatisfy { $0.id != nil && $0.actor == "tester" })
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "segment")).isEmpty)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "dynamic_config")).map(\.action) == ["created"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func entitiesListByKindThenNameInByteOrder(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        for name in ["beta", "Zeta", "_under", "alpha", "Alpha"] {
            try await store.save(project: "default", entity: Entity(kind: .gate, name: name), mustBeNew: true, audit: entry("gate", name))
        }
        try await store.save(project: "default", entity: Entity(kind: .segment, name: "aaa"), mustBeNew: true, audit: entry("segment", "aaa"))
        try await store.save(project: "elsewhere", entity: Entity(kind: .gate, name: "other"), mustBeNew: true, audit: entry("gate", "other"))
        // Byte order, as SQLite compares: upper case before '_' before lower case.
        #expect(try await store.entities(project: "default", kind: .gate).map(\.name) == ["Alpha", "Zeta", "_under", "alpha", "beta"])
        let all = try await store.entities(project: "default", kind: nil)
        #expect(all.map(\.kind) == [.gate, .gate, .gate, .gate, .gate, .segment])
        #expect(try await store.entities(project: "elsewhere", kind: nil).map(\.name) == ["other"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func saveAllIsOneAuditedChange(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        var existing = Entity(kind: .gate, name: "g1")
        try await store.save(project: "default", entity: existing, mustBeNew: true, audit: entry("gate", "g1", action: "created"))
        let before = try await store.configTime(project: "default")
        existing.description = "replaced by import"
        try await store.saveAll(
            project: "default", entities: [existing, Entity(kind: .gate, name: "g2"), Entity(kind: .experiment, name: "e1")],
            audit: entry("project", "import", action: "imported"))
        #expect(try await store.configTime(project: "default") == before + 1)
        #expect(try await store.entity(project: "default", kind: .gate, name: "g1")?.description == "replaced by import")
        #expect(try await store.entities(project: "default", kind: nil).map(\.name) == ["e1", "g1", "g2"])
        let log = try await store.auditLog(project: "default", query: AuditQuery())
        #expect(log.map(\.action) == ["imported", "created"])
    }

    // MARK: - Config time

    @Test(arguments: StoreUnderTest.allCases)
    func configTimeStrictlyIncreases(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.configTime(project: "default") == 0)  // no project yet
        _ = try await store.bootstrap(preset: PresetKeys(), now: 500)
        #expect(try await store.configTime(project: "default") == 500)

        // A clock behind the config time still moves it forward, by one.
        var seen: [Int64] = [500]
        for i in 0..<3 {
            try await store.save(project: "default", entity: Entity(kind: .gate, name: "g\(i)"), mustBeNew: false,
                                 audit: entry("gate", "g\(i)", time: 10))
            seen.append(try await store.configTime(project: "default"))
        }
        #expect(seen == [500, 501, 502, 503])
        // A clock ahead sets it.
        try await store.save(project: "default", entity: Entity(kind: .gate, name: "g0"), mustBeNew: false,
                             audit: entry("gate", "g0", time: 90_000))
        #expect(try await store.configTime(project: "default") == 90_000)
        // The same time again still moves it on.
        #expect(try await store.delete(project: "default", kind: .gate, name: "g1", audit: entry("gate", "g1", time: 90_000)))
        #expect(try await store.configTime(project: "default") == 90_001)
        try await store.saveAll(project: "default", entities: [], audit: entry("project", "import", time: 20))
        #expect(try await store.configTime(project: "default") == 90_002)
        // Other projects have no config time of their own.
        #expect(try await store.configTime(project: "elsewhere") == 0)
    }

    // MARK: - Custom ID types

    @Test(arguments: StoreUnderTest.allCases)
    func customIDTypesConflictAndAudit(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        #expect(try await store.customIDTypes(project: "default") == ["segmentAnonymousId"])
        try await store.addCustomIDType(project: "default", name: "companyID", audit: entry("custom_id_type", "companyID", action: "created"))
        try await store.addCustomIDType(project: "default", name: "accountID", audit: entry("custom_id_type", "accountID", action: "created"))
        let error = await #expect(throws: StoreError.self) {
            try await store.addCustomIDType(project: "default", name: "companyID", audit: entry("custom_id_type", "companyID", action: "created"))
        }
        #expect(error == StoreError.conflict("custom ID type 'companyID' already exists"))
        #expect(try await store.customIDTypes(project: "default") == ["accountID", "companyID", "segmentAnonymousId"])
        #expect(try await store.removeCustomIDType(project: "default", name: "accountID", audit: entry("custom_id_type", "accountID", action: "deleted")))
        #expect(try await !store.removeCustomIDType(project: "default", name: "accountID", audit: entry("custom_id_type", "accountID", action: "deleted")))
        #expect(try await store.customIDTypes(project: "default") == ["companyID", "segmentAnonymousId"])
        let log = try await store.auditLog(project: "default", query: AuditQuery(kind: "custom_id_type"))
        #expect(log.map { "\($0.action) \($0.name)" } == ["deleted accountID", "created accountID", "created companyID"])
    }

    // MARK: - ID lists

    @Test(arguments: StoreUnderTest.allCases)
    func idListCountsFileBytesAndOffsets(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let info = try await store.createIDList(project: "default", name: "vips", now: 10, audit: entry("id_list", "vips", action: "created"))
        #expect(info.count == 0 && info.fileSize == 0 && info.creationTime == 10 && info.updatedAt == 10)
        #expect(try await store.idListFile(project: "default", name: "vips", fileID: info.fileID, from: 0) == [])

        let a = try await store.changeIDList(project: "default", name: "vips", add: ["x", "y", "x", "z"], remove: [], source: "console",
                                             now: 11, audit: nil)
        #expect(a.added == 3 && a.removed == 0)
        let b = try await store.changeIDList(project: "default", name: "vips", add: ["y", "w"], remove: ["x", "x", "nope"], source: "api",
                                             now: 12, audit: nil)
        #expect(b.added == 1 && b.removed == 1)
        // Added and removed in one call: both lines, adds first.
        let c = try await store.changeIDList(project: "default", name: "vips", add: ["q"], remove: ["q"], source: "api", now: 13, audit: nil)
        #expect(c.added == 1 && c.removed == 1)
        // Nothing to do: (0, 0), but the list is still touched.
        let d = try await store.changeIDList(project: "default", name: "vips", add: ["y"], remove: ["x"], source: "api", now: 14, audit: nil)
        #expect(d.added == 0 && d.removed == 0)

        let listed = try #require(try await store.idList(project: "default", name: "vips"))
        #expect(listed.count == 3)  // y, z, w
        #expect(listed.fileSize == 70)  // seven lines of ten bytes
        #expect(listed.fileID == info.fileID && listed.creationTime == 10 && listed.updatedAt == 14)

        let expected = lines([("+", "x"), ("+", "y"), ("+", "z"), ("+", "w"), ("-", "x"), ("+", "q"), ("-", "q")])
        #expect(expected.utf8.count == 70)
        func file(_ offset: Int) async throws -> String? {
            try await store.idListFile(project: "default", name: "vips", fileID: info.fileID, from: offset)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(try await file(0) == expected)
        #expect(try await file(-5) == expected)
        #expect(try await file(10) == String(expected.dropFirst(10)))
        #expect(try await file(37) == String(expected.dropFirst(37)))
        #expect(try await file(69) == "\n")
        #expect(try await file(70) == "")
        #expect(try await file(500) == "")
        #expect(try await store.idListFile(project: "default", name: "other", fileID: info.fileID, from: 0) == nil)
        #expect(try await store.idListFile(project: "elsewhere", name: "vips", fileID: info.fileID, from: 0) == nil)

        let recent = try await store.recentIDListChanges(project: "default", name: "vips", limit: 3)
        #expect(recent.map { "\($0.op)\($0.id)@\($0.time) \($0.source)" } == ["-q@13 api", "+q@13 api", "-x@12 api"])
        #expect(try await store.idListEntries(project: "default")["vips"] == Set(["y", "z", "w"].map(StatsigHash.idListEntry)))
    }

    @Test(arguments: StoreUnderTest.allCases)
    func idListAuditOnlyWithChangesAndLifecycle(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let first = try await store.createIDList(project: "default", name: "beta", now: 10, audit: entry("id_list", "beta", action: "created"))
        _ = try await store.createIDList(project: "default", name: "Alpha", now: 10, audit: entry("id_list", "Alpha", action: "created"))
        let error = await #expect(throws: StoreError.self) {
            _ = try await store.createIDList(project: "default", name: "beta", now: 11, audit: entry("id_list", "beta", action: "created"))
        }
        #expect(error == StoreError.conflict("an ID list named 'beta' already exists"))
        #expect(try await store.idLists(project: "default").map(\.name) == ["Alpha", "beta"])
        #expect(try await store.idList(project: "default", name: "beta")?.fileID == first.fileID)

        _ = try await store.changeIDList(project: "default", name: "beta", add: ["u1"], remove: [], source: "console", now: 12,
                                         audit: entry("id_list", "beta", action: "ids_changed"))
        // A change that changes nothing writes no audit entry.
        _ = try await store.changeIDList(project: "default", name: "beta", add: ["u1"], remove: ["u2"], source: "console", now: 13,
                                         audit: entry("id_list", "beta", action: "ids_changed"))
        let notFound = await #expect(throws: StoreError.self) {
            _ = try await store.changeIDList(project: "default", name: "gone", add: ["u1"], remove: [], source: "console", now: 13,
                                             audit: entry("id_list", "gone", action: "ids_changed"))
        }
        #expect(notFound?.code == .notFound)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "id_list", name: "beta")).map(\.action)
                == ["ids_changed", "created"])

        #expect(try await store.idListFileOwner(fileID: first.fileID).map { "\($0.project)/\($0.name)" } == "default/beta")
        #expect(try await store.deleteIDList(project: "default", name: "beta", audit: entry("id_list", "beta", action: "deleted")))
        #expect(try await !store.deleteIDList(project: "default", name: "beta", audit: entry("id_list", "beta", action: "deleted")))
        #expect(try await store.idListFileOwner(fileID: first.fileID) == nil)
        #expect(try await store.idListFile(project: "default", name: "beta", fileID: first.fileID, from: 0) == nil)
        #expect(try await store.recentIDListChanges(project: "default", name: "beta", limit: 10).isEmpty)
        #expect(try await store.idListEntries(project: "default") == ["Alpha": []])

        // Created again, the list starts empty with a new file.
        let second = try await store.createIDList(project: "default", name: "beta", now: 20, audit: entry("id_list", "beta", action: "created"))
        #expect(second.fileID != first.fileID)
        #expect(try await store.idList(project: "default", name: "beta")?.count == 0)
        #expect(try await store.idListFile(project: "default", name: "beta", fileID: second.fileID, from: 0) == [])
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "id_list", name: "beta")).map(\.action)
                == ["created", "deleted", "ids_changed", "created"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func idListFileOwnerNamesProjectAndList(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let mine = try await store.createIDList(project: "default", name: "shared", now: 1, audit: entry("id_list", "shared"))
        let theirs = try await store.createIDList(project: "other", name: "shared", now: 1, audit: entry("id_list", "shared"))
        #expect(mine.fileID != theirs.fileID)
        let a = try #require(try await store.idListFileOwner(fileID: mine.fileID))
        #expect(a.project == "default" && a.name == "shared")
        let b = try #require(try await store.idListFileOwner(fileID: theirs.fileID))
        #expect(b.project == "other" && b.name == "shared")
        #expect(try await store.idListFileOwner(fileID: "no-such-file") == nil)
        #expect(try await store.idListFileOwner(fileID: "") == nil)
        // A file ID works only with the list it belongs to.
        #expect(try await store.idListFile(project: "default", name: "shared", fileID: theirs.fileID, from: 0) == nil)
        #expect(try await store.idListFile(project: "other", name: "shared", fileID: theirs.fileID, from: 0) == [])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func largeIDListChangesKeepOrderAndCounts(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let info = try await store.createIDList(project: "default", name: "big", now: 1, audit: entry("id_list", "big"))
        // Repeats far apart in one request count once.
        let add = (0..<7000).map { "u\($0)" } + (3000..<8000).map { "u\($0)" }
        let r1 = try await store.changeIDList(project: "default", name: "big", add: add, remove: [], source: "upload", now: 2, audit: nil)
        #expect(r1.added == 8000 && r1.removed == 0)
        let remove = stride(from: 0, to: 9000, by: 2).map { "u\($0)" }
        let r2 = try await store.changeIDList(project: "default", name: "big", add: [], remove: remove + remove, source: "upload", now: 3,
                                              audit: nil)
        #expect(r2.removed == 4000)
        let listed = try #require(try await store.idList(project: "default", name: "big"))
        #expect(listed.count == 4000 && listed.fileSize == 120_000)
        let expected = lines((0..<8000).map { ("+", "u\($0)") } + stride(from: 0, to: 8000, by: 2).map { ("-", "u\($0)") })
        let file = try #require(try await store.idListFile(project: "default", name: "big", fileID: info.fileID, from: 0))
        #expect(String(decoding: file, as: UTF8.self) == expected)
        let tail = try #require(try await store.idListFile(project: "default", name: "big", fileID: info.fileID, from: 79_995))
        #expect(String(decoding: tail, as: UTF8.self) == String(expected.dropFirst(79_995)))
        #expect(try await store.idListEntries(project: "default")["big"]?.count == 4000)
    }

    // MARK: - Engage membership

    @Test(arguments: StoreUnderTest.allCases)
    func membershipLastWriterWinsByEventTime(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        _ = try await store.createIDList(project: "default", name: "aud", now: 1, audit: entry("id_list", "aud"))
        func apply(_ unit: String, _ member: Bool, _ time: Int64) async throws -> MembershipOutcome {
            try await store.applyMembership(project: "default", [MembershipChange(list: "aud", unitID: unit, member: member, time: time)],
                                            source: "engage", now: 5000)[0]
        }
        func members() async throws -> Set<String> { try await store.idListEntries(project: "default")["aud"] ?? [] }

        #expect(try await apply("u1", true, 100) == .added)
        #expect(try await apply("u1", false, 50) == .stale)  // older than what we have: ignored
        #expect(try await members() == [StatsigHash.idListEntry("u1")])
        #expect(try await apply("u1", false, 200) == .removed)
        #expect(try await apply("u1", true, 150) == .stale)
        #expect(try await members() == [])
        #expect(try await apply("u1", false, 300) == .unchanged)  // newer, but already out
        #expect(try await apply("u1", true, 300) == .added)  // same time: applied
        #expect(try await apply("u1", true, 301) == .unchanged)
        #expect(try await apply("u1", false, 300) == .stale)  // 301 is now the time to beat

        // A batch applies in order; a later change to the same unit sees the earlier one.
        let outcomes = try await store.applyMembership(project: "default", [
            MembershipChange(list: "aud", unitID: "u2", member: true, time: 10),
            MembershipChange(list: "aud", unitID: "u2", member: false, time: 5),
            MembershipChange(list: "aud", unitID: "u3", member: true, time: 1),
            MembershipChange(list: "aud", unitID: "u3", member: false, time: 2),
        ], source: "engage", now: 6000)
        #expect(outcomes == [.added, .stale, .added, .removed])
        #expect(try await members() == Set(["u1", "u2"].map(StatsigHash.idListEntry)))
        #expect(try await store.idList(project: "default", name: "aud")?.count == 2)
        let recent = try await store.recentIDListChanges(project: "default", name: "aud", limit: 3)
        #expect(recent.map { "\($0.op)\($0.id)@\($0.time) \($0.source)" } == ["-u3@6000 engage", "+u3@6000 engage", "+u2@6000 engage"])
        // Membership changes leave the audit log alone.
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "id_list")).count == 1)
    }

    /// A unit ID with U+0000 (PostgreSQL text cannot hold it) is a member like any other, not a failed batch.
    @Test(arguments: StoreUnderTest.allCases)
    func membershipOfAUnitWithANulCharacter(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        _ = try await store.createIDList(project: "default", name: "aud\u{0}x", now: 1, audit: entry("id_list", "aud\u{0}x"))
        func apply(_ member: Bool, _ time: Int64) async throws -> MembershipOutcome {
            try await store.applyMembership(
                project: "default", [MembershipChange(list: "aud\u{0}x", unitID: "u\u{0}1", member: member, time: time)],
                source: "engage", now: 5000)[0]
        }
        #expect(try await apply(true, 100) == .added)
        #expect(try await apply(true, 200) == .unchanged)
        #expect(try await apply(false, 150) == .stale)
        #expect(try await store.idList(project: "default", name: "aud\u{0}x")?.count == 1)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func membershipBatchIsAllOrNothing(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let info = try await store.createIDList(project: "default", name: "aud", now: 1, audit: entry("id_list", "aud"))
        let error = await #expect(throws: StoreError.self) {
            _ = try await store.applyMembership(project: "default", [
                MembershipChange(list: "aud", unitID: "u9", member: true, time: 100),
                MembershipChange(list: "missing", unitID: "u9", member: true, time: 100),
            ], source: "engage", now: 2)
        }
        #expect(error?.code == .notFound)
        // Nothing of the failed batch stayed: not the member, not the line, not the recorded time.
        #expect(try await store.idList(project: "default", name: "aud")?.count == 0)
        #expect(try await store.idListFile(project: "default", name: "aud", fileID: info.fileID, from: 0) == [])
        let retry = try await store.applyMembership(
            project: "default", [MembershipChange(list: "aud", unitID: "u9", member: true, time: 50)], source: "engage", now: 3)
        #expect(retry == [.added])
        // An empty batch is a no-op.
        #expect(try await store.applyMembership(project: "default", [], source: "engage", now: 4).isEmpty)
        // A change manually made to the list is not undone by an older membership event.
        _ = try await store.changeIDList(project: "default", name: "aud", add: [], remove: ["u9"], source: "console", now: 5, audit: nil)
        #expect(try await store.applyMembership(
            project: "default", [MembershipChange(list: "aud", unitID: "u9", member: true, time: 49)], source: "engage", now: 6) == [.stale])
        #expect(try await store.idListEntries(project: "default")["aud"] == [])
    }

    // MARK: - Audit log

    @Test(arguments: StoreUnderTest.allCases)
    func auditLogFiltersAndPages(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        // 12 entries: gates g0…g5 (alternately by alice and bob), then each one updated.
        for round in ["created", "updated"] {
            for i in 0..<6 {
                try await store.save(
                    project: "default", entity: Entity(kind: .gate, name: "g\(i)"), mustBeNew: round == "created",
                    audit: entry("gate", "g\(i)", action: round, actor: i % 2 == 0 ? "alice" : "bob", time: 100 + Int64(i)))
            }
        }
        try await store.save(project: "elsewhere", entity: Entity(kind: .gate, name: "g0"), mustBeNew: true,
                             audit: entry("gate", "g0", action: "created", actor: "alice"))
        try await store.addCustomIDType(project: "default", name: "companyID",
                                        audit: entry("custom_id_type", "companyID", action: "created", actor: "carol"))

        let all = try await store.auditLog(project: "default", query: AuditQuery())
        #expect(all.count == 13)
        let ids = all.map { $0.id ?? -1 }
        #expect(ids == ids.sorted(by: >) && Set(ids).count == 13)  // newest first, distinct
        #expect(all.first?.kind == "custom_id_type")

        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "gate")).count == 12)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(name: "g3")).map(\.action) == ["updated", "created"])
        #expect(try await store.auditLog(project: "default", query: AuditQuery(actor: "alice")).map(\.name)
                == ["g4", "g2", "g0", "g4", "g2", "g0"])
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "gate", name: "g1", actor: "bob")).count == 2)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "gate", name: "g1", actor: "alice")).isEmpty)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(kind: "GATE")).isEmpty)  // exact match
        #expect(try await store.auditLog(project: "elsewhere", query: AuditQuery()).map(\.name) == ["g0"])

        // Paging by beforeID visits every entry once, newest first.
        var paged: [Int64] = []
        var before: Int64? = nil
        for _ in 0..<6 {  // three pages and an empty one; bounded, so a store that repeats entries fails instead of looping
            let page = try await store.auditLog(project: "default", query: AuditQuery(limit: 5, beforeID: before))
            #expect(page.count <= 5)
            if let before { #expect(page.allSatisfy { ($0.id ?? .max) < before }) }
            if page.isEmpty { break }
            paged += page.compactMap(\.id)
            before = page.last?.id
        }
        #expect(paged == ids)
        let bobPage = try await store.auditLog(project: "default", query: AuditQuery(actor: "bob", limit: 2, beforeID: ids[3]))
        #expect(bobPage.allSatisfy { $0.actor == "bob" && $0.id! < ids[3] } && bobPage.count == 2)
        // The limit is clamped to 1…1000.
        #expect(try await store.auditLog(project: "default", query: AuditQuery(limit: 0)).count == 1)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(limit: -3)).count == 1)
        #expect(try await store.auditLog(project: "default", query: AuditQuery(limit: 5000)).count == 13)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func auditEntriesRoundTripEveryField(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let written = entry("gate", "rich", action: "updated", actor: "dana", time: 4242, environment: "staging",
                            before: ["enabled": false, "rules": [1, 2]], after: ["enabled": true, "note": "ünïcode ✓"])
        try await store.save(project: "default", entity: Entity(kind: .gate, name: "rich"), mustBeNew: false, audit: written)
        let read = try #require(try await store.auditLog(project: "default", query: AuditQuery(name: "rich")).first)
        #expect(read.id != nil)
        var expected = written
        expected.id = read.id
        #expect(read == expected)

        let plain = entry("gate", "plain", action: "created")
        try await store.save(project: "default", entity: Entity(kind: .gate, name: "plain"), mustBeNew: true, audit: plain)
        let readPlain = try #require(try await store.auditLog(project: "default", query: AuditQuery(name: "plain")).first)
        #expect(readPlain.environment == nil && readPlain.before == nil && readPlain.after == nil)
        #expect(readPlain.time == 1000 && readPlain.description == "created gate plain")
    }

    // MARK: - Keys

    @Test(arguments: StoreUnderTest.allCases)
    func keysListInCreationOrderAndAuditOnlyWithAnActor(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let boot = try await store.bootstrap(preset: PresetKeys(segmentWriteKey: "wk_preset"), now: 1)
        #expect(boot.map(\.key.kind) == [.server, .client, .console, .segmentWriteKey])
        #expect(try await store.key(matching: "wk_preset")?.kind == .segmentWriteKey)
        #expect(try await store.customIDTypes(project: "default") == ["segmentAnonymousId"])
        let quiet = try await store.createKey(project: "default", kind: .server, environment: nil, description: "ci", allowedOrigins: nil,
                                              now: 5, actor: nil)
        let loud = try await store.createKey(project: "default", kind: .client, environment: "production", description: "web",
                                             allowedOrigins: [], now: 6, actor: "erin")
        let keys = try await store.keys(project: "default")
        #expect(keys.count == 6)
        #expect(Array(keys.map(\.id).suffix(2)) == [quiet.key.id, loud.key.id])
        #expect(keys.last?.allowedOrigins == [] && keys.last?.environment == "production")
        #expect(keys.first { $0.id == quiet.key.id }?.allowedOrigins == nil)
        #expect(try await store.keys(project: "elsewhere").isEmpty)
        #expect(try await store.revokeKey(project: "default", id: quiet.key.id, now: 7, actor: nil))
        #expect(try await store.keys(project: "default").first { $0.id == quiet.key.id }?.revokedAt == 7)
        #expect(try await !store.revokeKey(project: "elsewhere", id: loud.key.id, now: 7, actor: "erin"))
        let log = try await store.auditLog(project: "default", query: AuditQuery(kind: "key"))
        #expect(log.map(\.name) == [loud.key.id])
        #expect(log.first?.after?["prefix"] == .string(loud.key.displayPrefix))
    }
}
