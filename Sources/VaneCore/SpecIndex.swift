import Foundation

/// Every compiled spec of a rule set by kind and name, for the evaluator's lookups.
///
/// An open-addressed table hashed eight bytes at a time over the name's UTF-8: the standard
/// Dictionary hashes with a per-process seeded SipHash, which cost more than evaluating a simple
/// rule. The names in the table are the rule set's own (written by its admins), so no request can
/// fill it with colliding names; a looked-up name only walks the probe sequence the table already has.
struct SpecIndex: Sendable {
    private struct Slot: Sendable {
        var hash: UInt64 = 0
        var kind: SpecKind = .gate
        var spec: CompiledSpec?
    }

    private let slots: [Slot]
    private let mask: Int
    /// A slot is chosen by the hash's top bits: a multiply mixes every input bit into them, while
    /// the low bits depend only on the low bits of each word (names that differ in their last
    /// characters all landed in a few slots and were found by long probes).
    private let shift: UInt64

    init(gates: [String: CompiledSpec], configs: [String: CompiledSpec], layers: [String: CompiledSpec]) {
        let count = gates.count + configs.count + layers.count
        var capacity = 8
        while capacity < count * 2 { capacity *= 2 }
        var slots = [Slot](repeating: Slot(), count: capacity)
        let mask = capacity - 1
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (kind, table) in [(SpecKind.gate, gates), (.config, configs), (.layer, layers)] {
            for (name, spec) in table {
                let hash = Self.hash(name, kind)
                var i = Int(truncatingIfNeeded: hash >> shift)
                while slots[i].spec != nil { i = (i + 1) & mask }
                slots[i] = Slot(hash: hash, kind: kind, spec: spec)
            }
        }
        self.slots = slots
        self.mask = mask
        self.shift = shift
    }

    /// The spec, unretained: the rule set (so this index) owns every spec for as long as an
    /// evaluation runs, and the evaluator's hot loop then pays no reference counting for it.
    @inline(__always)
    func find(_ name: String, _ kind: SpecKind) -> Unmanaged<CompiledSpec>? {
        let hash = Self.hash(name, kind)
        return slots.withUnsafeBufferPointer { slots in
            var i = Int(truncatingIfNeeded: hash >> shift)
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

    /// Eight bytes per multiply: byte-at-a-time FNV-1a was a quarter of the evaluator's own time,
    /// one dependent multiply per byte of every name looked up. Collisions only cost a probe; the
    /// byte comparison decides.
    @inline(__always)
    private static func hash(_ name: String, _ kind: SpecKind) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h: UInt64
        switch kind {
        case .gate: h = 0xcbf2_9ce4_8422_2325
        case .config: h = 0x8422_2325_cbf2_9ce4
        case .layer: h = 0x2325_cbf2_9ce4_8422
        }
        var name = name
        return name.withUTF8 { bytes in
            let count = bytes.count
            var tail: UInt64 = 0
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                var i = 0
                while i + 8 <= count {
                    h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
                    h ^= h >> 29
                    i += 8
                }
                // The last 0-7 bytes in at most two loads, which may overlap (as wyhash reads them):
                // the length is mixed in below, and the byte comparison decides. Copying them into a
                // word first stalled on the store before the load.
                let rest = count - i
                if rest >= 4 {
                    let low = UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                    let high = UInt64(raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
                    tail = low | high << 32
                } else if rest > 0 {
                    tail = UInt64(base[i]) << 16 | UInt64(base[i + rest / 2]) << 8 | UInt64(base[count - 1])
                }
            }
            h = (h ^ tail ^ UInt64(truncatingIfNeeded: count) << 56) &* k
            return h ^ (h >> 32)
        }
    }
}
