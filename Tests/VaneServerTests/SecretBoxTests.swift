import Foundation
import Testing
import VaneCore
@testable import VaneServer
import VaneStore

@Suite("Secrets at rest")
struct SecretBoxTests {
    @Test func sealsOpensAndRefusesUnknownKeys() throws {
        let box = SecretBox(current: "first key")
        let sealed = box.seal("wk_live_123")
        #expect(sealed.hasPrefix("vane-sealed:v1:\(box.currentKeyID):"))
        #expect(!sealed.contains("wk_live_123"))
        #expect(box.seal("wk_live_123") != sealed, "a fresh nonce every time")
        #expect(try box.open(sealed) == "wk_live_123")
        #expect(try box.open("plain from before") == "plain from before")
        #expect(throws: SecretBox.OpenError.self) { try SecretBox(current: "other key").open(sealed) }
        var tampered = Array(sealed.utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: SecretBox.OpenError.self) { try box.open(String(decoding: tampered, as: UTF8.self)) }
        // A 32-byte base64 key is used as it is; anything else is a passphrase.
        let raw = Data(repeating: 7, count: 32).base64EncodedString()
        #expect(SecretBox(current: raw).currentKeyID != SecretBox(current: "passphrase").currentKeyID)
    }

    @Test func storedSettingsHoldNoPlainSecretAndRotate() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(console: "console-k"), now: 1)
        let old = SecretBox(current: "old key")
        let services = VaneServices(store: store, secrets: old)
        // A document written before sealing existed holds the secrets in plain text.
        try await store.putSetting(
            project: "default", name: SegmentExporter.settingName,
            value: ["enabled": false, "writeKey": "wk_plain_secret"],
            audit: AuditEntry(time: 1, actor: "t", action: "updated", kind: "integration", name: "x", description: "x"))
        try await store.putSetting(
            project: "default", name: SegmentInbound.settingName, value: ["sharedSecret": "hmac secret"],
            audit: AuditEntry(time: 1, actor: "t", action: "updated", kind: "integration", name: "x", description: "x"))
        #expect(try await services.resealSecrets(actor: "test") == 2)
        #expect(try await services.resealSecrets(actor: "test") == 0, "nothing left to seal")
        let raw = try #require(try await store.setting(project: "default", name: SegmentExporter.settingName))
        #expect(!String(decoding: raw.serializedBytes(), as: UTF8.self).contains("wk_plain_secret"))
        #expect(try await services.exporter.settings("default").writeKey == "wk_plain_secret")

        // Rotation: the new key opens with the old one as previous, and re-seals under the new one.
        let rotated = VaneServices(store: store, secrets: SecretBox(current: "new key", previous: ["old key"]))
        #expect(try await rotated.exporter.settings("default").writeKey == "wk_plain_secret")
        #expect(try await rotated.resealSecrets(actor: "test") == 2)
        let newOnly = VaneServices(store: store, secrets: SecretBox(current: "new key"))
        #expect(try await newOnly.exporter.settings("default").writeKey == "wk_plain_secret")
        let inbound = try #require(try await store.setting(project: "default", name: SegmentInbound.settingName))
        #expect(try newOnly.secrets.open(inbound["sharedSecret"]?.stringValue ?? "") == "hmac secret")
        // Resealing is audited but never sent to Segment as a config change.
        let audit = try await store.auditLog(project: "default", query: AuditQuery(kind: "secrets"))
        #expect(audit.count == 4)
        #expect(SegmentExporter.accountAdministration.contains("secrets"))
    }

    @Test func webhookSigningSecretsAreSealedAndResealed() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(console: "console-k"), now: 1)
        let old = SecretBox(current: "old key")
        let audit = AuditEntry(time: 1, actor: "t", action: "created", kind: "webhook", name: "wh_1", description: "x")
        var hook = Webhook(id: "wh_1", url: "http://127.0.0.1:9/", sealedSecret: old.seal("whsec_current"), createdAt: 1)
        hook.sealedPreviousSecret = old.seal("whsec_previous")
        hook.previousSecretExpiresAt = Int64.max / 2
        _ = try await store.createWebhook(project: "default", hook, audit: audit)
        #expect(try await VaneServices(store: store, secrets: old).resealSecrets(actor: "test") == 0, "sealed under the current key")

        let rotated = VaneServices(store: store, secrets: SecretBox(current: "new key", previous: ["old key"]))
        #expect(try await rotated.resealSecrets(actor: "test") == 1)
        #expect(try await rotated.resealSecrets(actor: "test") == 0)
        let newOnly = VaneServices(store: store, secrets: SecretBox(current: "new key"))
        let stored = try #require(try await store.webhook(project: "default", id: "wh_1"))
        #expect(try newOnly.webhooks.signingSecrets(stored) == ["whsec_current", "whsec_previous"])
        #expect(!stored.sealedSecret.contains("whsec_") && !(stored.sealedPreviousSecret ?? "").contains("whsec_"))
        try await newOnly.checkSecretsOpen()
        let error = await #expect(throws: SecretBox.OpenError.self) { try await VaneServices(store: store, secrets: old).checkSecretsOpen() }
        #expect(error?.setting == "webhook wh_1")
    }

    @Test func aKeyThatCannotOpenTheSecretsIsAnErrorNotEmptySettings() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(console: "console-k"), now: 1)
        let sealing = SecretBox(current: "the cluster's key")
        try await store.putSetting(
            project: "default", name: SegmentExporter.settingName,
            value: ["enabled": true, "writeKey": .string(sealing.seal("wk_live"))],
            audit: AuditEntry(time: 1, actor: "t", action: "updated", kind: "integration", name: "x", description: "x"))
        try await store.putSetting(
            project: "default", name: SegmentInbound.settingName, value: ["sharedSecret": .string(sealing.seal("hmac secret"))],
            audit: AuditEntry(time: 1, actor: "t", action: "updated", kind: "integration", name: "x", description: "x"))
        try await VaneServices(store: store, secrets: sealing).checkSecretsOpen()

        // A node with another key must not run as if export were off and the webhook unsigned.
        let stranger = VaneServices(store: store, secrets: SecretBox(current: "another key"))
        let error = await #expect(throws: SecretBox.OpenError.self) { try await stranger.checkSecretsOpen() }
        #expect(error?.setting == SegmentExporter.settingName)
        #expect("\(error.map { "\($0)" } ?? "")".contains("VANE_SECRETS_KEY_PREVIOUS"))
        await #expect(throws: SecretBox.OpenError.self) { try await stranger.exporter.settings("default") }
        await #expect(throws: SecretBox.OpenError.self) { try await SegmentInbound.settings(store, "default", stranger.secrets) }
        // Listing the cluster's key as a previous one opens them.
        let rotating = SecretBox(current: "another key", previous: ["the cluster's key"])
        #expect(try await SegmentInbound.settings(store, "default", rotating).sharedSecret == "hmac secret")
    }

    @Test func keyFileIsCreatedOnceAndPrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vane-secrets-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try SecretBox.load(environment: [:], dataDir: dir)
        let again = try SecretBox.load(environment: [:], dataDir: dir)
        #expect(first.currentKeyID == again.currentKeyID)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/secrets.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try SecretBox.load(environment: ["VANE_SECRETS_KEY": "env key"], dataDir: dir).currentKeyID
                == SecretBox(current: "env key").currentKeyID)
    }
}
