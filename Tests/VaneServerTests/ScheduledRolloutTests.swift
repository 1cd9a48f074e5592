import Foundation
import Testing
import VaneCore
@testable import VaneServer
import VaneStore

@Suite("Scheduled rollouts")
struct ScheduledRolloutTests {
    static let t0: Int64 = 1_800_000_000_000

    static func gate(_ schedule: JSONValue) -> JSONValue {
        ["name": "ramp", "rules": [["name": "ramp rule", "passPercentage": 0, "conditions": [["type": "public"]], "schedule": schedule]]]
    }

    @Test func stepsApplyWhenDueOnceAndAuditedAsTheSystem() async throws {
        try await withVane { client in
            let created = try await client.console(.post, "gates", Self.gate([
                ["time": .int(Self.t0), "passPercentage": 10], ["time": .int(Self.t0 + 60_000), "passPercentage": 50],
                ["time": .int(Self.t0 + 120_000), "passPercentage": 100],
            ]))
            #expect(created.status == .created, "\(created.text)")
        }
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let service = ConsoleService(store: store, cache: ConfigCache(store: store))
        let input = try decodeValue(Entity.self, Self.gate([
            ["time": .int(Self.t0), "passPercentage": 10], ["time": .int(Self.t0 + 60_000), "passPercentage": 50],
            ["time": .int(Self.t0 + 120_000), "passPercentage": 100],
        ]).merging(kind: "gate"))
        _ = try await service.create("default", input, actor: "ada")
        let rollouts = ScheduledRollouts(service: service)
        func rule() async throws -> EntityRule { try #require(try await service.get("default", .gate, "ramp").rules?.first) }

        #expect(try await rollouts.runOnce(project: "default", now: Self.t0 - 1).changed.isEmpty, "nothing is due yet")
        #expect(try await rule().passPercentage == 0)
        #expect(try await rollouts.runOnce(project: "default", now: Self.t0 + 1).changed == ["ramp"])
        #expect(try await rule().passPercentage == 10)
        #expect(try await rollouts.runOnce(project: "default", now: Self.t0 + 2).changed.isEmpty, "a step runs once")
        // After an outage both remaining steps are due: the latest wins, both are marked.
        #expect(try await rollouts.runOnce(project: "default", now: Self.t0 + 200_000).changed == ["ramp"])
        let r = try await rule()
        #expect(r.passPercentage == 100)
        #expect(r.schedule?.map(\.appliedAt) == [Self.t0 + 1, Self.t0 + 200_000, Self.t0 + 200_000])

        let audit = try await store.auditLog(project: "default", query: AuditQuery(kind: "gate"))
        let steps = audit.filter { $0.action == ScheduledRollouts.action }
        #expect(steps.count == 2)
        #expect(steps.allSatisfy { $0.actor == "vane" })
        #expect(steps.map(\.description).sorted() == [
            "Gate ramp: scheduled rollout, rule 'ramp rule' 0% → 10%", "Gate ramp: scheduled rollout, rule 'ramp rule' 10% → 100%",
        ])
    }

    @Test func anEditorThatDropsAppliedMarksDoesNotReplayStepsAndAStaleRunIsSkipped() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let service = ConsoleService(store: store, cache: ConfigCache(store: store))
        _ = try await service.create("default", try decodeValue(Entity.self, Self.gate([
            ["time": .int(Self.t0), "passPercentage": 25], ["time": .int(Self.t0 + 60_000), "passPercentage": 75],
        ]).merging(kind: "gate")), actor: "ada")
        let rollouts = ScheduledRollouts(service: service)
        try await rollouts.runOnce(project: "default", now: Self.t0 + 1)
        // Someone sets the rule to 5% by hand, sending the schedule back without appliedAt.
        var edited = try await service.get("default", .gate, "ramp")
        edited.rules![0].passPercentage = 5
        edited.rules![0].schedule = edited.rules![0].schedule!.map { RolloutStep(time: $0.time, passPercentage: $0.passPercentage) }
        _ = try await service.update("default", edited, actor: "ada")
        #expect(try await rollouts.runOnce(project: "default", now: Self.t0 + 2).changed.isEmpty, "the applied step is not replayed")
        #expect(try await service.get("default", .gate, "ramp").rules?.first?.passPercentage == 5)

        // A run that read the gate before someone changed it does not overwrite the change.
        let stale = try await service.get("default", .gate, "ramp")
        var changed = stale
        changed.rules![0].name = "renamed"
        _ = try await service.update("default", changed, actor: "ada")
        let (due, _) = try #require(ScheduledRollouts.applyDue(stale, now: Self.t0 + 60_001))
        await #expect(throws: StoreError.self) {
            try await service.update("default", due, actor: "vane", action: ScheduledRollouts.action, expectedVersion: stale.version)
        }
        #expect(try await service.get("default", .gate, "ramp").rules?.first?.name == "renamed")
    }

    @Test func aGateThatNoLongerValidatesDoesNotHoldTheOthersBack() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let service = ConsoleService(store: store, cache: ConfigCache(store: store))
        try await store.addCustomIDType(project: "default", name: "team", audit: AuditEntry(
            time: 1, actor: "t", action: "created", kind: "custom_id_type", name: "team", description: "t"))
        let step: JSONValue = [["time": .int(Self.t0), "passPercentage": 40]]
        var broken = try decodeValue(Entity.self, Self.gate(step).merging(kind: "gate"))
        broken.name = "a_broken"
        broken.rules![0].idType = "team"
        _ = try await service.create("default", broken, actor: "ada")
        _ = try await service.create("default", try decodeValue(Entity.self, Self.gate(step).merging(kind: "gate")), actor: "ada")
        // The ID type its rule reads is removed behind the console's back: saving that gate now fails.
        _ = try await store.removeCustomIDType(project: "default", name: "team", audit: AuditEntry(
            time: 2, actor: "t", action: "deleted", kind: "custom_id_type", name: "team", description: "t"))
        let run = try await ScheduledRollouts(service: service).runOnce(project: "default", now: Self.t0 + 1)
        #expect(run.changed == ["ramp"])
        #expect(run.failed.map(\.name) == ["a_broken"])
        #expect(try await service.get("default", .gate, "ramp").rules?.first?.passPercentage == 40)
        #expect(try await service.get("default", .gate, "a_broken").rules?.first?.passPercentage == 0)
    }

    @Test func schedulesAreValidatedNamingTheStep() async throws {
        try await withVane { client in
            let cases: [(JSONValue, String)] = [
                ([["time": .int(Self.t0 + 10), "passPercentage": 10], ["time": .int(Self.t0), "passPercentage": 20]],
                 "rules[0].schedule[1].time must be later than the step before it"),
                ([["time": .int(Self.t0), "passPercentage": 101]], "rules[0].schedule[0].passPercentage must be between 0 and 100"),
                ([["time": 5, "passPercentage": 10]], "rules[0].schedule[0].time must be a time in ms since 1970"),
                ([["time": .int(Self.t0), "passPercentage": 10, "appliedAt": "soon"]], "appliedAt"),
            ]
            for (schedule, message) in cases {
                let r = try await client.console(.post, "gates", Self.gate(schedule))
                #expect(r.status == .badRequest && r.text.contains(message), "\(schedule): \(r.text)")
            }
            let many = JSONValue.array((0...Validation.maxScheduleSteps).map { ["time": .int(Self.t0 + Int64($0)), "passPercentage": 1] })
            let r = try await client.console(.post, "gates", Self.gate(many))
            #expect(r.status == .badRequest && r.text.contains("at most \(Validation.maxScheduleSteps)"), "\(r.text)")
            let segment = try await client.console(.post, "segments", [
                "name": "seg", "type": "rule_based",
                "rules": [["name": "r", "conditions": [["type": "public"]], "schedule": [["time": .int(Self.t0), "passPercentage": 5]]]],
            ])
            #expect(segment.status == .badRequest && segment.text.contains("only gate and dynamic config rules"), "\(segment.text)")
        }
    }
}

extension JSONValue {
    func merging(kind: String) -> JSONValue {
        guard case .object(var o) = self else { return self }
        o["kind"] = .string(kind)
        return .object(o)
    }
}
