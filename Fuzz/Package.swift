// swift-tools-version:6.2
// libFuzzer targets for Vane's parsers and pure logic. Build and run them with scripts/fuzz
// (Linux, Swift's -sanitize=fuzzer); see README.md, "Fuzzing".
import PackageDescription

let vane = "vane"

let package = Package(
    name: "vane-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: vane, path: ".."),
        // Already in the graph through the main package; named here for FuzzBody's own imports.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // Reading structured values out of the fuzzer's bytes, and invariant checks that crash loudly.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "VaneCore", package: vane)]),
        // The declaration of libFuzzer's driver (the runtime itself comes with -sanitize=fuzzer).
        .target(name: "CLibFuzzer"),
        // JSONValue.parse, and parse → serializedBytes → parse round trips.
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", .product(name: "VaneCore", package: vane)]),
        // Request bodies: Content-Encoding, inflating within the limit, gzip/zlib trailer checks.
        .executableTarget(name: "FuzzBody", dependencies: [
            "FuzzSupport", .product(name: "VaneHTTPBody", package: vane),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "CompressNIO", package: "compress-nio"),
        ]),
        // Segment messages: validation, event times, mapping, Engage audiences, filters, signatures.
        .executableTarget(name: "FuzzSegment", dependencies: [
            "FuzzSupport", .product(name: "VaneCore", package: vane), .product(name: "VaneSegment", package: vane),
        ]),
        // Statsig documents × users: import, compile, evaluate, client initialize.
        .executableTarget(name: "FuzzStatsig", dependencies: ["FuzzSupport", .product(name: "VaneCore", package: vane)]),
        // The Pulse rollup processor over event streams with extreme times and values.
        .executableTarget(name: "FuzzRollup", dependencies: [
            "FuzzSupport", .product(name: "VaneCore", package: vane), .product(name: "VanePulse", package: vane),
        ]),
        // Console entities: decoding, validation, lifecycle, compile, evaluate.
        .executableTarget(name: "FuzzValidation", dependencies: ["FuzzSupport", .product(name: "VaneCore", package: vane)]),
    ]
)
