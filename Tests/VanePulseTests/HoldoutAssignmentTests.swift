import Testing
import VaneCore
import VanePulse

@Suite("Holdout assignment")
struct HoldoutAssignmentTests {
    func event(_ name: String, metadata: JSONValue, secondary: JSONValue?) -> EventRecord {
        EventRecord(project: "default", eventName: name, user: ["userID": "u1"], userID: "u1", stableID: nil, customIDs: [:],
                    environment: nil, value: nil, metadata: metadata, secondaryExposures: secondary, time: 1_000, receivedAt: 1_000,
                    source: .sdk, sdkType: "test")
    }

    @Test func anAttachedFeaturesExposureAssignsItsHoldoutsFromTheSecondaryExposures() {
        let catalog = PulseCatalog(experiments: ["exp": ["g1", "g2"]], holdouts: ["hold"])
        let p = PulseRollupProcessor(catalog: catalog, state: PulseBatchState(), exactEvents: { _, _, _, _ in [] })
        let inGroup = event("statsig::config_exposure", metadata: ["config": "exp", "ruleID": "g1"],
                            secondary: [["gate": "hold", "gateValue": "false", "ruleID": "r"], ["gate": "other", "gateValue": "true", "ruleID": "x"]])
        #expect(p.exposures(inGroup).map { "\($0.subject)=\($0.arm)" } == ["experiment:exp=g1", "holdout:hold=exposed"])
        // Held out: the experiment's holdout rule, not a group; only the holdout assigns.
        let heldOut = event("statsig::config_exposure", metadata: ["config": "exp", "ruleID": "holdout:hold"],
                            secondary: [["gate": "hold", "gateValue": "true", "ruleID": "r"]])
        #expect(p.exposures(heldOut).map { "\($0.subject)=\($0.arm)" } == ["holdout:hold=held_out"])
        // A direct check of the holdout counts too; a gate that is not a holdout does not.
        let direct = event("statsig::gate_exposure", metadata: ["gate": "hold", "gateValue": "true", "ruleID": "r"], secondary: nil)
        #expect(p.exposures(direct).map { "\($0.subject)=\($0.arm)" } == ["holdout:hold=held_out"])
        let unrelated = event("statsig::gate_exposure", metadata: ["gate": "other", "gateValue": "true", "ruleID": "x"], secondary: nil)
        #expect(p.exposures(unrelated).isEmpty)
        // Secondary exposures on an ordinary event assign nothing.
        #expect(p.exposures(event("purchase", metadata: [:], secondary: [["gate": "hold", "gateValue": "true"]])).isEmpty)
    }
}
