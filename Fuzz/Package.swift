// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for p2pfs (see README.md here; `make fuzz` at the top).
// Build with the sanitizer flags, never as part of the main package:
//
//     swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path Fuzz/.build-fuzz
//
// Each fuzz target is an executable whose `main.swift` hands libFuzzer's
// driver the `LLVMFuzzerTestOneInput` entry point. The harnesses themselves
// are in `FuzzHarness`, which the main package's tests also compile (through
// symbolic links) to replay the corpus and the regressions.
let fuzzTargets = ["FuzzRecord", "FuzzNFS", "FuzzNFS4", "FuzzPeer", "FuzzControl", "FuzzPortmap", "FuzzMDNS"]

let package = Package(
    name: "p2pfs-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "p2pfs", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Declares libFuzzer's driver, which -sanitize=fuzzer links in.
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzHarness",
            dependencies: [
                "CLibFuzzer",
                .product(name: "P2PFSLibraries", package: "p2pfs"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Writes the seed corpus (Corpus/) with the project's own encoders.
        .executableTarget(name: "FuzzSeeds", dependencies: ["FuzzHarness"]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzHarness"])
    }
)
