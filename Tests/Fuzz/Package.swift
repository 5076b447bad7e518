// swift-tools-version: 6.1
//
// libFuzzer targets for every decoder of outside input in Outpost. A package of its own so the
// root package's `swift build` and `swift test` never compile them (they only link with
// `-sanitize=fuzzer`). Build and run them with `Scripts/fuzz.sh`; see README.md.
import PackageDescription

/// What every fuzz target links; each one only uses part of it.
let outpost: [Target.Dependency] = [
    .product(name: "Outpost", package: "Outpost"),
    .product(name: "OutpostWire", package: "Outpost"),
    .product(name: "OutpostSync", package: "Outpost"),
    .product(name: "OutpostJSONSchema", package: "Outpost"),
    .product(name: "OutpostStore", package: "Outpost"),
    .product(name: "OutpostSimulation", package: "Outpost"),
]

/// One executable per fuzz target. Its `main.swift` hands its `LLVMFuzzerTestOneInput` to
/// libFuzzer's driver: SwiftPM points every executable's `main` at the module's own entry point,
/// so libFuzzer's `main` is never linked.
func fuzzTarget(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + outpost + extra)
}

let package = Package(
    name: "OutpostFuzz",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "FuzzWireFrames", targets: ["FuzzWireFrames"]),
        .executable(name: "FuzzJSON", targets: ["FuzzJSON"]),
        .executable(name: "FuzzJSONSchema", targets: ["FuzzJSONSchema"]),
        .executable(name: "FuzzSchemaText", targets: ["FuzzSchemaText"]),
        .executable(name: "FuzzDiscoveryDocument", targets: ["FuzzDiscoveryDocument"]),
        .executable(name: "FuzzKeyFile", targets: ["FuzzKeyFile"]),
        .executable(name: "FuzzScenario", targets: ["FuzzScenario"]),
        .executable(name: "FuzzHTTPResponses", targets: ["FuzzHTTPResponses"]),
    ],
    dependencies: [
        .package(name: "Outpost", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"] + outpost),
        fuzzTarget("FuzzWireFrames"),
        fuzzTarget("FuzzJSON"),
        fuzzTarget("FuzzJSONSchema"),
        fuzzTarget("FuzzSchemaText"),
        fuzzTarget("FuzzDiscoveryDocument"),
        fuzzTarget("FuzzKeyFile"),
        fuzzTarget("FuzzScenario"),
        fuzzTarget("FuzzHTTPResponses", [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
