/// A Statsig parameter store: named parameters whose values come from a static value, a gate
/// (one value when it passes, another when it fails), or a parameter of a dynamic config, an
/// experiment or a layer. SDKs resolve them for a user; Vane serves the definitions.
public struct ParameterStore: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Parameter name → definition, in Statsig's wire shape (`ref_type`, `param_type`, …).
    public var parameters: [String: JSONValue]
    public var version: Int64

    public init(name: String, description: String = "", parameters: [String: JSONValue], version: Int64 = 1) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.version = version
    }

    static let paramTypes: Set<String> = ["string", "number", "boolean", "object", "array"]
    /// The fields each reference type needs, besides `ref_type` and `param_type`.
    static let requiredFields: [String: [String]] = [
        "static": ["value"],
        "gate": ["gate_name", "pass_value", "fail_value"],
        "dynamic_config": ["config_name", "param_name"],
        "experiment": ["experiment_name", "param_name"],
        "layer": ["layer_name", "param_name"],
    ]
    static let maxParameters = 500

    /// Checks and normalises a `parameters` object; errors name the parameter and field.
    public static func validatedParameters(_ value: JSONValue?) throws -> [String: JSONValue] {
        guard let value, !value.isNull else { return [:] }
        guard let object = value.objectValue else { throw ValidationError("parameters must be an object of parameter name → definition") }
        guard object.count <= maxParameters else { throw ValidationError("a parameter store holds at most \(maxParameters) parameters") }
        var out: [String: JSONValue] = [:]
        for (name, definition) in object {
            guard (1...100).contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ValidationError("parameter names must be 1 to 100 characters without control characters")
            }
            guard var d = definition.objectValue else { throw ValidationError("parameters.\(name) must be an object") }
            guard let ref = d["ref_type"]?.stringValue, let fields = requiredFields[ref] else {
                throw ValidationError("parameters.\(name).ref_type must be static, gate, dynamic_config, experiment or layer")
            }
            guard let type = d["param_type"]?.stringValue, paramTypes.contains(type) else {
                throw ValidationError("parameters.\(name).param_type must be string, number, boolean, object or array")
            }
            for f in fields where d[f] == nil || d[f]?.isNull == true {
                throw ValidationError("parameters.\(name).\(f) is required for a \(ref) parameter")
            }
            for f in ["gate_name", "config_name", "experiment_name", "layer_name", "param_name"] where d[f] != nil {
                guard let s = d[f]?.stringValue, !s.isEmpty else { throw ValidationError("parameters.\(name).\(f) must be a non-empty string") }
            }
            for f in ["value", "pass_value", "fail_value"] where d[f] != nil {
                guard matches(d[f]!, type) else { throw ValidationError("parameters.\(name).\(f) must be of type \(type)") }
            }
            // Only the fields of its reference type are kept.
            d = d.filter { ["ref_type", "param_type"].contains($0.key) || fields.contains($0.key) }
            out[name] = .object(d)
        }
        return out
    }

    static func matches(_ v: JSONValue, _ type: String) -> Bool {
        switch (type, v) {
        case ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array): return true
        case ("number", .int), ("number", .double(_)): return v.doubleValue?.isFinite ?? false
        default: return false
        }
    }

    /// The entry under `param_stores` in DCS v2.
    public func dcsJSON() -> JSONValue {
        ["parameters": .object(parameters.mapValues(\.self)), "version": .int(version)]
    }

    /// The entry under `param_stores` in a client initialize answer: each parameter carries its
    /// name, and the names of the gates, configs, experiments and layers it reads are hashed.
    public func clientJSON(_ hashing: NameHashing) -> JSONValue {
        var out: [String: JSONValue] = [:]
        for (name, definition) in parameters {
            guard case .object(var d) = definition else { continue }
            d["name"] = .string(name)
            for f in ["gate_name", "config_name", "experiment_name", "layer_name"] {
                if let s = d[f]?.stringValue { d[f] = .string(hashing.hash(s)) }
            }
            out[name] = .object(d)
        }
        return .object(out)
    }

    /// The console API's view.
    public func toJSON() -> JSONValue {
        ["name": .string(name), "description": .string(description), "parameters": .object(parameters), "version": .int(version)]
    }
}
