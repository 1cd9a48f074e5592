// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "vane",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vane", targets: ["vane"]),
        // Libraries for the fuzz targets in Fuzz/ (a separate package that depends on this one).
        .library(name: "VaneCore", targets: ["VaneCore"]),
        .library(name: "VaneSegment", targets: ["VaneSegment"]),
        .library(name: "VaneStore", targets: ["VaneStore"]),
        .library(name: "VanePulse", targets: ["VanePulse"]),
        .library(name: "VaneHTTPBody", targets: ["VaneHTTPBody"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Pure domain: users, specs, the Statsig-compatible evaluator. No I/O.
        .target(name: "VaneCore", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Pure Segment protocol code: message validation, mapping to Vane events, Engage audiences, signatures.
        .target(name: "VaneSegment", dependencies: [
            "VaneCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Pure statistics for experiment results (Welch t, delta method, CUPED, SRM, sequential).
        .target(name: "VaneStats"),
        // Pure Pulse: the metric catalogue and definitions, the incremental rollup processor, its state.
        // The stores load and save that state in the same transaction as the rollup's cursor.
        .target(name: "VanePulse", dependencies: ["VaneCore", "VaneStats"]),
        // Persistence behind repository protocols: SQLite (GRDB, embedded) and PostgreSQL (PostgresNIO, many nodes).
        .target(name: "VaneStore", dependencies: [
            "VaneCore", "VanePulse",
            .product(name: "GRDB", package: "GRDB.swift"),
            // SQLite's C API, for the writes repeated per row: event inserts and rollup upserts (SQLiteDirectWrite.swift).
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Pure request-body decoding: Content-Encoding, inflating within the size limit, trailer checks.
        .target(name: "VaneHTTPBody", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "CompressNIO", package: "compress-nio"),
        ]),
        // HTTP: SDK API, console JSON API and web console, health and metrics.
        .target(name: "VaneServer", dependencies: [
            "VaneCore", "VaneStore", "VaneSegment", "VaneStats", "VanePulse", "VaneHTTPBody",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], resources: [
            // Compiled into the binary (PackageResources), so `vane` stays one file to deploy.
            .embedInCode("Resources/vane.css"),
            .embedInCode("Resources/vane.js"),
            .embedInCode("Resources/dom.js"),
            .embedInCode("Resources/rule-builder.js"),
            .embedInCode("Resources/groups-editor.js"),
            .embedInCode("Resources/experiment-setup.js"),
            .embedInCode("Resources/templates/drawer.mustache"),
            .embedInCode("Resources/templates/entity.mustache"),
            .embedInCode("Resources/templates/error.mustache"),
            .embedInCode("Resources/templates/event.mustache"),
            .embedInCode("Resources/templates/events.mustache"),
            .embedInCode("Resources/templates/experiment.mustache"),
            .embedInCode("Resources/templates/gate.mustache"),
            .embedInCode("Resources/templates/guardrailsCard.mustache"),
            .embedInCode("Resources/templates/idlist.mustache"),
            .embedInCode("Resources/templates/idlists.mustache"),
            .embedInCode("Resources/templates/layout.mustache"),
            .embedInCode("Resources/templates/list.mustache"),
            .embedInCode("Resources/templates/metric.mustache"),
            .embedInCode("Resources/templates/metricRow.mustache"),
            .embedInCode("Resources/templates/metrics.mustache"),
            .embedInCode("Resources/templates/overview.mustache"),
            .embedInCode("Resources/templates/powerCard.mustache"),
            .embedInCode("Resources/templates/results.mustache"),
            .embedInCode("Resources/templates/resultsSection.mustache"),
            .embedInCode("Resources/templates/rulesTable.mustache"),
            .embedInCode("Resources/templates/segment.mustache"),
            .embedInCode("Resources/templates/settings.mustache"),
            .embedInCode("Resources/templates/setup.mustache"),
            .embedInCode("Resources/templates/signin.mustache"),
            .embedInCode("Resources/templates/streamBox.mustache"),
        ]),
        // For the tests: a real PostgreSQL started on demand (scripts/pg-temp).
        .target(name: "VaneTestSupport", dependencies: ["VaneStore"]),
        .executableTarget(name: "vane", dependencies: [
            "VaneCore", "VaneStore", "VaneServer", "VaneSegment", "VanePulse",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "VaneCoreTests", dependencies: ["VaneCore"], exclude: ["Fixtures"]),
        .testTarget(name: "VaneStoreTests", dependencies: ["VaneStore", "VaneCore", "VanePulse", "VaneTestSupport"]),
        .testTarget(name: "VaneSegmentTests", dependencies: ["VaneSegment", "VaneCore"]),
        .testTarget(name: "VanePulseTests", dependencies: ["VanePulse", "VaneCore", "VaneStats"]),
        .testTarget(name: "VaneStatsTests", dependencies: ["VaneStats"], exclude: ["Fixtures"]),
        .testTarget(name: "VaneHTTPBodyTests", dependencies: [
            "VaneHTTPBody",
            .product(name: "CompressNIO", package: "compress-nio"),
        ]),
        .testTarget(name: "VaneServerTests", dependencies: [
            "VaneServer", "VaneStore", "VaneCore", "VanePulse", "VaneHTTPBody", "VaneTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
    ]
)
