import Foundation

/// Every compiled spec of a rule set by kind and name, for the evaluator's lookups.
///
/// An open-addressed table hashed with FNV-1a over the name's UTF-8: the standard Dictionary
/// hashes with a per-process seeded SipHash, which cost more than evaluating a simple rule. The
/// names in the table are the rule set's own (written by its admins), so no request can fill it
/// with colliding names; a looked-up name only walks the probe sequence the table already has.
struct SpecIndex: Sendable {
    private struct Slot: Sendable {
        var hash: UInt64 = 0
        var kind: SpecKind = .gate
        var spec: CompiledSpec?
    }

    private let slots: [Slot]
    private let mask: Int

    init(gates: [String: CompiledSpec], configs: [String: CompiledSpec], layers: [String: CompiledSpec]) {
        let count = gates.count + configs.count + layers.count
        var capacity = 8
        while capacity < count * 2 { capacity *= 2 }
        var slots = [Slot](repeating: Slot(), count: capacity)
        let mask = capacity - 1
        for (kind, table) in [(SpecKind.gate, gates), (.config, configs), (.layer, layers)] {
            for (name, spec) in table {
                let hash = Self.hash(name, kind)
                var i = Int(truncatingIfNeeded: hash) & mask
                while slots[i].spec != nil { i = (i + 1) & mask }
                slots[i] = Slot(hash: hash, kind: kind, spec: spec)
            }
        }
        self.slots = slots
        self.mask = mask
    }

    /// The spec, unretained: the rule set (so this index) owns every spec for as long as an
    /// evaluation runs, and the evaluator's hot loop then pays no reference counting for it.
    @inline(__always)
    func find(_ name: String, _ kind: SpecKind) -> Unmanaged<CompiledSpec>? {
        let hash = Self.hash(name, kind)
        return slots.withUnsafeBufferPointer { slots in
            var i = Int(truncatingIfNeeded: hash) & mask
            while let spec = slots[i].spec {
                if slots[i].hash == hash, slots[i].kind == kind, Self.sameBytes(spec.name, name) {
                    return Unmanaged.passUnretained(spec)
                }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    /// Names match byte for byte, as the SDKs' dictionaries match them (Swift's `==` would also
    /// match canonically equivalent Unicode).
    @inline(__always)
    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }

    @inline(__always)
    private static func hash(_ name: String, _ kind: SpecKind) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        switch kind {
        case .gate: h ^= 1
        case .config: h ^= 2
        case .layer: h ^= 3
        }
        // Over the contiguous bytes: iterating `utf8` re-reads a small string's bytes one by one.
        var name = name
        return name.withUTF8 { bytes in
            for b in bytes {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01B3
            }
            return h
        }
    }
}
