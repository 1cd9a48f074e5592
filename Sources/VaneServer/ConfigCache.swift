import CompressNIO
import NIOCore
import Synchronization
import VaneCore
import VaneStore

/// The compiled rules per project and environment scope: the evaluator's rule set and the
/// serialised `download_config_specs` payload. Rebuilt lazily after any configuration change.
final class ConfigCache: Sendable {
    struct Compiled: Sendable {
        let ruleSet: RuleSet
        let evaluator: Evaluator
        /// The full download_config_specs body.
        let dcs: [UInt8]
        /// The v2 body for server-core SDKs, and the same gzipped.
        let dcsV2: DCSv2.Document
        let dcsV2Gzip: [UInt8]?
        let paramStores: [ParameterStore]
        let time: Int64
    }

    private struct Key: Hashable {
        let project: String
        let environment: String?
    }

    private struct State {
        var entries: [Key: Compiled] = [:]
        var generation: [String: Int] = [:]
        /// Bumped by `invalidateAll`, which cannot know every project a compile in flight is for.
        var epoch = 0
    }

    private let store: any ConfigRepository & ParameterStoreRepository
    private let state = Mutex(State())

    init(store: any ConfigRepository & ParameterStoreRepository) { self.store = store }

    /// Call after any change to a project's entities or ID lists.
    func invalidate(project: String) {
        state.withLock { s in
            s.generation[project, default: 0] += 1
            s.entries = s.entries.filter { $0.key.project != project }
        }
    }

    /// After a change made on another node (`ChangeWatcher`): every project may have changed.
    func invalidateAll() {
        state.withLock { s in
            s.epoch += 1
            s.entries = [:]
        }
    }

    func compiled(project: String, environment: String?) async throws -> Compiled {
        let key = Key(project: project, environment: environment)
        let (hit, generation, epoch) = state.withLock { s in (s.entries[key], s.generation[project, default: 0], s.epoch) }
        if let hit { return hit }
        let entities = try await store.entities(project: project, kind: nil)
        let idLists = try await store.idListEntries(project: project)
        let time = try await store.configTime(project: project)
        let paramStores = try await store.parameterStores(project: project)
        let out = SpecCompiler(environment: environment).compile(entities)
        let defaultEnvironment = environment ?? "production"
        let ruleSet = RuleSet(
            time: time, gates: out.gates, configs: out.configs, layers: out.layers, layerExperiments: out.layerExperiments,
            idLists: idLists, defaultEnvironment: defaultEnvironment)
        let dcs: JSONValue = [
            "has_updates": true, "time": .int(time),
            "feature_gates": .array(out.gates.map { $0.toJSON() }),
            "dynamic_configs": .array(out.configs.map { $0.toJSON() }),
            "layer_configs": .array(out.layers.map { $0.toJSON() }),
            "layers": .object(out.layerExperiments.mapValues { .array($0.map { .string($0) }) }),
            "default_environment": .string(defaultEnvironment),
            "sdk_flags": [:], "sdk_configs": [:],
            // Zero rates: SDKs send none of their own diagnostics events to Vane.
            "diagnostics": ["initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0, "api_call": 0],
        ]
        let v2 = DCSv2.document(
            gates: out.gates, configs: out.configs, layers: out.layers, layerExperiments: out.layerExperiments,
            paramStores: paramStores, time: time, defaultEnvironment: defaultEnvironment)
        var v2Buffer = ByteBuffer(bytes: v2.bytes)
        let v2Gzip = (try? v2Buffer.compress(with: .gzip())).map { Array(buffer: $0) }
        let compiled = Compiled(
            ruleSet: ruleSet, evaluator: Evaluator(rules: ruleSet), dcs: dcs.serializedBytes(), dcsV2: v2, dcsV2Gzip: v2Gzip,
            paramStores: paramStores, time: time)
        state.withLock { s in
            if s.generation[project, default: 0] == generation, s.epoch == epoch { s.entries[key] = compiled }
        }
        return compiled
    }
}
