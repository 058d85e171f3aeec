// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "p2pfs",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "p2pfs", targets: ["p2pfs"]),
        .executable(name: "p2pfs-peer-simulator", targets: ["p2pfs-peer-simulator"]),
        // The protocol libraries, for the fuzz package in Fuzz/ (make fuzz).
        .library(name: "P2PFSLibraries", targets: ["XDR", "ONCRPC", "RPCBind", "Namespace", "NFS3", "NFS4", "PeerProtocol", "Discovery", "P2PFSDaemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // libtirpc, for registering with a running system rpcbind.
        .systemLibrary(
            name: "CTIRPC",
            pkgConfig: "libtirpc",
            providers: [.apt(["libtirpc-dev"])]
        ),
        // RFC 4506 external data representation on ByteBuffer.
        .target(
            name: "XDR",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // RFC 5531 ONC RPC: messages, record marking, server and client channels.
        .target(
            name: "ONCRPC",
            dependencies: [
                "XDR", "CP2PFSSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // RFC 1833 portmapper/rpcbind: embedded server and system registration.
        .target(
            name: "RPCBind",
            dependencies: [
                "XDR", "ONCRPC", "CTIRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // System calls Swift cannot reach directly (openat2).
        .target(name: "CP2PFSSystem"),
        // The file system model: sources, catalogs, the merged namespace, file readers.
        .target(
            name: "Namespace",
            dependencies: [
                "CP2PFSSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // RFC 1813 NFSv3 and MOUNT v3, plus NLM v4, served from a Namespace.
        .target(
            name: "NFS3",
            dependencies: [
                "XDR", "ONCRPC", "Namespace",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // RFC 8881 NFSv4.1, read-only, served from a Namespace next to NFSv3.
        .target(
            name: "NFS4",
            dependencies: [
                "XDR", "ONCRPC", "Namespace", "NFS3",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The p2pfs peer protocol: catalog exchange, crawl, forwarded block reads.
        .target(
            name: "PeerProtocol",
            dependencies: [
                "XDR", "ONCRPC", "Namespace",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // Composes the layers into a running node.
        .target(
            name: "P2PFSDaemon",
            dependencies: [
                "ONCRPC", "RPCBind", "Namespace", "NFS3", "NFS4", "PeerProtocol", "Discovery",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // DNS-SD over multicast DNS (RFC 6762/6763): finding peers with no address given.
        .target(
            name: "Discovery",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "p2pfs",
            dependencies: [
                "P2PFSDaemon", "ONCRPC", "PeerProtocol", "XDR", "Namespace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Many simulated peers in one process, for the namespace-scale benchmark.
        .executableTarget(
            name: "p2pfs-peer-simulator",
            dependencies: [
                "PeerProtocol", "Namespace", "ONCRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PeerSimulator"
        ),
        .testTarget(name: "XDRTests", dependencies: ["XDR", "CTIRPC"]),
        .testTarget(
            name: "ONCRPCTests",
            dependencies: [
                "ONCRPC", "XDR", "CP2PFSSystem",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // What the machine must provide for a test (root, system tools):
        // skipped without it, failed without it under CI=true.
        .target(name: "TestPrerequisites", path: "Tests/TestPrerequisites"),
        // Drops one test thread's capabilities, to ask the kernel what an
        // unprivileged daemon would.
        .target(name: "CThreadCapabilities", path: "Tests/CThreadCapabilities"),
        // A namespace in memory and a caller that runs RPC programs directly:
        // what the NFSv3 and NFSv4.1 program tests share.
        .target(
            name: "ProgramTestSupport",
            dependencies: [
                "NFS3", "Namespace", "ONCRPC",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ProgramTestSupport"
        ),
        .testTarget(
            name: "RPCBindTests",
            dependencies: [
                "RPCBind", "ONCRPC", "XDR", "CTIRPC", "TestPrerequisites",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "NamespaceTests",
            dependencies: ["Namespace", "TestPrerequisites", "CThreadCapabilities", .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "NFS3Tests",
            dependencies: ["NFS3", "Namespace", "ONCRPC", "XDR", "ProgramTestSupport", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "NFS4Tests",
            dependencies: [
                "NFS4", "NFS3", "Namespace", "ONCRPC", "XDR", "ProgramTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "PeerProtocolTests",
            dependencies: [
                "PeerProtocol", "Namespace", "ONCRPC", "XDR",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "P2PFSDaemonTests",
            dependencies: [
                "P2PFSDaemon", "Namespace", "PeerProtocol", "RPCBind", "ONCRPC", "Discovery",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DiscoveryTests",
            dependencies: [
                "Discovery", "TestPrerequisites",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "p2pfsTests",
            dependencies: ["p2pfs", "P2PFSDaemon"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["P2PFSDaemon", "Namespace", "TestPrerequisites", "CP2PFSSystem"]
        ),
    ]
)
