import Foundation
import VaneCore
import VaneSegment
import VaneStore

/// Segment → Vane: validates, filters, maps and stores Segment messages (one ingest path with the
/// SDK events), applies Engage audience changes and counts what happened for the usage view.
struct SegmentInbound: Sendable {
    let store: any VaneStore
    let writer: GroupCommitWriter
    let cache: ConfigCache
    let secrets: SecretBox
    /// Secret fields of the stored settings document, sealed at rest.
    static let sealedFields = ["sharedSecret"]

    static let settingName = "segment_inbound"
    static let usageSource = "segment"
    static let maxBatchBytes = 512_000
    static let maxBatchMessages = 2_500

    enum Origin: Sendable {
        /// Delivered by Segment (destination webhook): `timestamp` is already corrected.
        case destination
        /// Sent by a Segment library or collector to the Tracking-API endpoints.
        case trackingAPI
    }

    struct Outcome: Sendable {
        var stored = 0
        var duplicates = 0
        var filtered = 0
        var ignored = 0
        var audienceChanges = 0
        var skipped: [(index: Int, reason: String)] = []

        var json: JSONValue {
            [
                "success": true, "stored": .int(Int64(stored)), "duplicates": .int(Int64(duplicates)),
                "filtered": .int(Int64(filtered)), "ignored": .int(Int64(ignored)),
                "audienceChanges": .int(Int64(audienceChanges)),
                "skipped": .array(skipped.map { ["index": .int(Int64($0.index)), "reason": .string($0.reason)] }),
            ]
        }
    }

    func settings(_ project: String) async throws -> InboundSettings { try await Self.settings(store, project, secrets) }

    static func settings(_ store: any SettingsRepository, _ project: String, _ secrets: SecretBox) async throws -> InboundSettings {
        guard let value = try await store.setting(project: project, name: settingName) else { return InboundSettings() }
        return try decodeValue(InboundSettings.self, try SecretBox.opening(settingName) { try secrets.openFields(value, sealedFields) })
    }

    /// Stores a list of messages. With `single`, a bad message is an error for the whole request;
    /// otherwise bad items are skipped with their reason and the rest are stored.
    func ingest(
        project: String, messages: [JSONValue], single: Bool, impliedType: SegmentMessageType? = nil,
        batchSentAt: Int64? = nil, batchContext: JSONValue? = nil, batchIntegrations: JSONValue? = nil,
        origin: Origin, now: Int64
    ) async throws -> Outcome {
        let settings = try await settings(project)
        guard settings.enabled else {
            throw APIError(.forbidden, "Segment inbound is disabled for this project: enable it in the Segment integration settings")
        }
        var outcome = Outcome()
        var usage: [String: Int] = [:]
        func count(_ category: String, _ reason: String) { usage[category + "\u{0}" + reason, default: 0] += 1 }
        func skip(_ i: Int, _ reason: String, _ message: String) throws {
            if single { throw APIError.badRequest("\(reason): \(message)") }
            outcome.skipped.append((i, reason))
            count("invalid", reason)
        }

        var records: [(index: Int, record: EventRecord)] = []
        var audience: [(index: Int, change: AudienceChange)] = []
        let fromSegment = origin == .destination
        let notBefore = now.saturatingSubtract(Int64(settings.dedupeWindowDays).saturatingMultiply(86_400_000))
        for (i, item) in messages.enumerated() {
            var item = item
            if case .object(var o) = item {
                Self.merge(&o, key: "context", from: batchContext)
                Self.merge(&o, key: "integrations", from: batchIntegrations)
                item = .object(o)
            }
            if item.serializedBytes().count > SegmentMessage.maxMessageBytes {
                try skip(i, SegmentDropReason.messageTooLarge.rawValue, SegmentDropReason.messageTooLarge.explanation)
                continue
            }
            let message: SegmentMessage
            do {
                message = try SegmentMessage(json: item, impliedType: impliedType, batchSentAt: batchSentAt)
            } catch let r as SegmentRejection {
                try skip(i, r.reason.rawValue, r.reason.explanation)
                continue
            }
            // Events and audience changes alike: a time far ahead would win every later comparison.
            guard EventTime.accepted(receivedAt: now).contains(message.eventTime(receivedAt: now, fromSegment: fromSegment)) else {
                try skip(i, SegmentDropReason.timeOutOfRange.rawValue, SegmentDropReason.timeOutOfRange.explanation)
                continue
            }
            if let change = SegmentMapper.audienceChange(message, settings: settings, receivedAt: now, fromSegment: fromSegment) {
                audience.append((i, change))
            }
            switch message.type {
            case .identify, .group, .alias:
                if message.type != .identify || audience.last?.index != i {
                    outcome.ignored += 1
                    count("ignored", message.type.rawValue)
                }
                continue
            case .track, .page, .screen:
                break
            }
            let filterName = message.type == .track ? message.event : message.name
            if let reason = settings.filters.reject(type: message.type, eventName: filterName) {
                outcome.filtered += 1
                count("filtered", reason)
                continue
            }
            guard let mapped = SegmentMapper.map(message, settings: settings, receivedAt: now, fromSegment: fromSegment) else { continue }
            // The integration's default environment stands where an SDK request has its key's.
            var record = EventRecord(
                user: mapped.user, project: project, eventName: mapped.eventName, value: mapped.value,
                metadata: .object(mapped.metadata), time: mapped.time, receivedAt: now,
                source: .segment, sdkType: "segment", keyEnvironment: settings.defaultEnvironment)
            record.raw = item
            record.dedupe = DedupeKey(scope: "segment", messageID: mapped.messageId ?? UUID().uuidString, notBefore: notBefore)
            records.append((i, record))
        }

        // Audience changes name ID lists; an unknown list is the sender's error, found before anything is stored.
        var changes: [MembershipChange] = []
        if !audience.isEmpty {
            let segments = try await store.entities(project: project, kind: .segment)
            var known: [String: Bool] = [:]
            for (i, a) in audience {
                if known[a.list] == nil { known[a.list] = try await store.idList(project: project, name: a.list) != nil }
                guard known[a.list] == true else {
                    try skip(i, "unknown_id_list", "no ID list '\(a.list)': create the ID-list segment for this audience first")
                    continue
                }
                let idType = segments.first { $0.segmentType == "id_list" && ($0.idList ?? $0.name) == a.list }?.idType ?? "userID"
                guard let unit = a.user.unitID(for: idType) ?? a.user.userID ?? a.user.customIDs.values.first else {
                    try skip(i, SegmentDropReason.noUserAnonID.rawValue, "no \(idType) for the audience member")
                    continue
                }
                changes.append(MembershipChange(list: a.list, unitID: unit, member: a.member, time: a.time))
            }
        }

        // An item skipped (say, for an unknown audience list) is not stored in any form.
        let skippedIndexes = Set(outcome.skipped.map(\.index))
        let stored = try await writer.write(records.filter { !skippedIndexes.contains($0.index) }.map(\.record))
        for ok in stored {
            if ok { outcome.stored += 1 } else { outcome.duplicates += 1 }
        }
        if outcome.stored > 0 { usage["ingested\u{0}event", default: 0] += outcome.stored }
        if outcome.duplicates > 0 { usage["duplicate\u{0}message_id", default: 0] += outcome.duplicates }

        if !changes.isEmpty {
            let results = try await store.applyMembership(project: project, changes, source: "segment_engage", now: now)
            outcome.audienceChanges = results.filter { $0 == .added || $0 == .removed }.count
            for r in results { count("audience", r.rawValue) }
            if outcome.audienceChanges > 0 { cache.invalidate(project: project) }
        }

        let day = ISOTime.format(now).prefix(10)
        try await store.addUsage(project: project, usage.map { key, n in
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            return UsageCount(day: String(day), source: Self.usageSource, category: parts[0], reason: parts.count > 1 ? parts[1] : "", count: n)
        })
        return outcome
    }

    /// Batch-level context and integrations fill in what an item does not set itself.
    static func merge(_ o: inout [String: JSONValue], key: String, from batch: JSONValue?) {
        guard case .object(let top)? = batch else { return }
        // An item whose own value is not an object keeps it, so validation can reject the item.
        if let own = o[key], !own.isNull, own.objectValue == nil { return }
        var merged = top
        for (k, v) in o[key]?.objectValue ?? [:] { merged[k] = v }
        o[key] = .object(merged)
    }
}
