// swift-tools-version: 6.1
//
// Outpost: an offline-first, storage-partitioned client data layer for many
// independent Sovereign servers, plus the deterministic simulator that tests it.
import PackageDescription

let package = Package(
    name: "Outpost",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        // What a front end links: the runtime, with the store and sync core it drives.
        .library(name: "Outpost", targets: ["Outpost"]),
        .library(name: "OutpostModel", targets: ["OutpostModel"]),
        .library(name: "OutpostStore", targets: ["OutpostStore"]),
        .library(name: "OutpostWire", targets: ["OutpostWire"]),
        .library(name: "OutpostSync", targets: ["OutpostSync"]),
        .library(name: "OutpostClientCore", targets: ["OutpostClientCore"]),
        .library(name: "OutpostJSONSchema", targets: ["OutpostJSONSchema"]),
        .library(name: "OutpostSimulation", targets: ["OutpostSimulation"]),
        // For an app's test targets: the app's client in a simulated world with virtual time.
        .library(name: "OutpostTesting", targets: ["OutpostTesting"]),
        .executable(name: "outpost-sim", targets: ["outpost-sim"]),
        .executable(name: "outpost-bench", targets: ["outpost-bench"]),
        .executable(name: "outpost-chat", targets: ["outpost-chat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // `swift package generate-documentation --target Outpost` builds the DocC catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Layer 1: C bindings. SQLCipher only: the plain libsqlite3 exports the same symbols.
        .systemLibrary(
            name: "CSQLCipher",
            pkgConfig: "sqlcipher",
            providers: [.apt(["libsqlcipher-dev"]), .brew(["sqlcipher"])]
        ),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),

        // The single source of truth for every persistent and wire format. Code loads the
        // SQL migrations and JSON Schemas from here as resources; the protobuf file is the
        // input of the committed generated code in OutpostWire.
        .target(
            name: "OutpostSchemas",
            path: "Schemas",
            exclude: ["README.md", "proto"],
            resources: [.copy("sql"), .copy("json")]
        ),

        // A small JSON Schema (draft 2020-12 subset) validator for the files in Schemas/json.
        .target(name: "OutpostJSONSchema"),

        // The value types every layer above the bindings shares: ids, timestamps, messages,
        // outbox items, cursors, gaps, snapshots and the writes a session asks for. Standard
        // library and Foundation only, so the sync core builds without SQLCipher or libsodium.
        .target(name: "OutpostModel"),

        // Layer 2: the Sovereign v1 wire types and codec.
        .target(
            name: "OutpostWire",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/sovereign.proto.sha256"]
        ),

        // Layer 3: encrypted per-server partitions, key hierarchy, credential vault, queues.
        .target(
            name: "OutpostStore",
            dependencies: ["CSQLCipher", "CSodium", "OutpostModel", "OutpostSchemas", "OutpostWire"]
        ),

        // Layer 4: the sans-IO sync core, one session per server. No store, no SQLCipher.
        .target(
            name: "OutpostSync",
            dependencies: ["OutpostModel", "OutpostWire",
                           .product(name: "DequeModule", package: "swift-collections"),
                           .product(name: "OrderedCollections", package: "swift-collections")]
        ),

        // Layer 5: the deterministic client core: every server's session driven with its
        // partition (one transaction per input, storage failures, connection identity), server
        // lifecycle. The runtime, the simulator and the tests all run it.
        .target(
            name: "OutpostClientCore",
            dependencies: ["OutpostStore", "OutpostSync", "OutpostWire",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")]
        ),

        // Layer 7: the deterministic simulator: engine, simulated servers, faults, checker.
        .target(
            name: "OutpostSimulation",
            dependencies: ["OutpostClientCore", "OutpostSync", "OutpostStore", "OutpostWire", "OutpostJSONSchema", "OutpostSchemas",
                           .product(name: "HeapModule", package: "swift-collections")]
        ),

        // For an app's own tests: the `OutpostClientProtocol` surface over the client core in a
        // simulated world (servers, network, app lifecycle, faults, the checker), virtual time.
        .target(
            name: "OutpostTesting",
            dependencies: ["OutpostClientCore", "OutpostSimulation", "OutpostStore", "OutpostSync"]
        ),

        // Layer 6: the runtime front ends link: an actor over the client core, one actor per
        // server, the swift-nio WebSocket transport (TLS, sovereign.v1), discovery, real
        // clocks, async streams.
        .target(
            name: "Outpost",
            dependencies: [
                "OutpostClientCore",
                "OutpostStore",
                "OutpostSync",
                "OutpostWire",
                "OutpostJSONSchema",
                "OutpostSchemas",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // The simulated server on real loopback sockets: `outpost-sim serve` and the runtime's
        // end-to-end tests.
        .target(
            name: "OutpostLoopbackServer",
            dependencies: [
                "OutpostSimulation",
                "OutpostStore",
                "OutpostSync",
                "OutpostWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Simulator/OutpostLoopbackServer"
        ),

        .executableTarget(
            name: "outpost-sim",
            dependencies: [
                "OutpostSimulation",
                "OutpostLoopbackServer",
                "OutpostStore",
                "OutpostSync",
                "OutpostWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Simulator/outpost-sim"
        ),

        // The benchmarks of DESIGN §5: `swift run -c release outpost-bench`.
        .executableTarget(
            name: "outpost-bench",
            dependencies: [
                "Outpost", "OutpostLoopbackServer", "OutpostStore", "OutpostSimulation", "OutpostSync", "OutpostWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Benchmarks/outpost-bench"
        ),

        // An example front end: a terminal chat that links `Outpost` as an app would. Its logic
        // (`ChatKit`) speaks to `OutpostClientProtocol`, so its tests run it in a simulated world.
        .target(
            name: "OutpostChatKit",
            dependencies: ["OutpostClientCore"],
            path: "Examples/outpost-chat/ChatKit"
        ),
        .executableTarget(
            name: "outpost-chat",
            dependencies: ["Outpost", "OutpostChatKit"],
            path: "Examples/outpost-chat/App"
        ),
        .testTarget(
            name: "OutpostChatTests",
            dependencies: ["OutpostChatKit", "OutpostTesting"],
            path: "Examples/outpost-chat/Tests"
        ),

        .testTarget(
            name: "OutpostTests",
            dependencies: [
                "Outpost",
                "OutpostLoopbackServer",
                "OutpostSimulation",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            // A test CA and a certificate for localhost, read from the source tree.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "OutpostStoreTests",
            dependencies: ["OutpostStore", "OutpostSchemas", "OutpostJSONSchema", "CSQLCipher"]
        ),
        // The sync core, and the client core that drives it (the same code the runtime runs).
        .testTarget(
            name: "OutpostSyncTests",
            dependencies: ["OutpostClientCore", "OutpostSync", "OutpostStore", "OutpostWire", "OutpostSimulation",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        .testTarget(
            name: "OutpostSimulationTests",
            dependencies: ["OutpostClientCore", "OutpostSimulation", "OutpostSync", "OutpostStore"]
        ),
        .testTarget(
            name: "OutpostTestingTests",
            dependencies: ["OutpostTesting"]
        ),
        .testTarget(
            name: "OutpostJSONSchemaTests",
            dependencies: ["OutpostJSONSchema"]
        ),
        .testTarget(
            name: "OutpostWireTests",
            dependencies: ["OutpostWire", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
