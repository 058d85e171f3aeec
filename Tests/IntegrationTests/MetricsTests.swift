import CP2PFSSystem
import Foundation
import TestPrerequisites
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--metrics` on two real daemons (an exporter and a client that
/// forwards its reads), scraped over HTTP and parsed by Python's
/// `prometheus_client`, a parser that is not ours: the counters move by
/// what a libnfs client (`nfs-cat`) actually read.
@Suite(.serialized, .requires(.libnfsUtils, .pythonPrometheusClient))
struct MetricsTests {
    static let clientHost = "127.0.32.1"
    static let exporterHost = "127.0.32.2"
    static let singleHost = "127.0.32.3"
    static let nfsPort = 20491
    static let peerPort = 17477
    static let metricsPort = 19475
    /// Three kernel-sized READs and a bit: several READs and peer fetches.
    static let fileBytes = 3 << 20 + 12_345

    /// One scrape: every sample, keyed by name and sorted labels.
    struct Scrape {
        var samples: [String: Double]

        static func key(_ name: String, _ labels: [String: String]) -> String {
            name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
        }

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            self.samples[Self.key(name, labels)]
        }
    }

    /// Fetches http://HOST:PORT/metrics with urllib and parses it with
    /// prometheus_client's text parser; prints the samples as JSON.
    static let scraper = """
        import json, sys, urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
            assert response.status == 200, response.status
            kind = response.headers.get("Content-Type", "")
            assert kind.startswith("text/plain"), kind
            text = response.read().decode("utf-8")
        samples = []
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.append([sample.name, sample.labels, sample.value])
        json.dump(samples, sys.stdout)
        """

    static func scrape(_ host: String) throws -> Scrape {
        let output = try ChildProcess.check(["python3", "-c", Self.scraper, "http://\(host):\(Self.metricsPort)/metrics"], timeout: 30)
        let rows = try #require(try JSONSerialization.jsonObject(with: output.stdout) as? [[Any]])
        var samples: [String: Double] = [:]
        for row in rows {
            let name = try #require(row[0] as? String)
            let labels = try #require(row[1] as? [String: String])
            let value = try #require((row[2] as? NSNumber)?.doubleValue)
            samples[Scrape.key(name, labels)] = value
        }
        return Scrape(samples: samples)
    }

    /// `after - before` of a sample (a missing sample counts as 0 before,
    /// and must exist after).
    static func increase(_ name: String, _ labels: [String: String] = [:], from before: Scrape, to after: Scrape) throws -> Double {
        let now = try #require(after.value(name, labels), "\(Scrape.key(name, labels)) is not in the scrape")
        return now - (before.value(name, labels) ?? 0)
    }

    /// `DIRECTORY/share/data.bin`, `fileBytes` of random bytes.
    static func makeShare(in directory: URL) throws -> (share: URL, content: Data) {
        let share = directory.appendingPathComponent("share")
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: Self.fileBytes)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let content = Data(bytes)
        try content.write(to: share.appendingPathComponent("data.bin"))
        return (share, content)
    }

    @Test func countersMoveByWhatIsRead() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("metrics")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (share, content) = try Self.makeShare(in: directory)

        let exporter = try DaemonProcess(
            name: "exporter",
            arguments: [
                "--name", "exporter", "--export", "share=\(share.path)", "--listen", "\(Self.exporterHost):\(Self.peerPort)",
                "--metrics", "\(Self.exporterHost):\(Self.metricsPort)", "--portmap", "off",
                "--state-dir", directory.appendingPathComponent("exporter-state").path,
            ],
            logDirectory: directory
        )
        defer { exporter.stop() }
        try exporter.waitForLog("serving metrics")
        try exporter.waitForLog("offering files to peers")
        let client = try DaemonProcess(
            name: "client",
            arguments: [
                "--name", "client", "--peer", "\(Self.exporterHost):\(Self.peerPort)", "--nfs", "\(Self.clientHost):\(Self.nfsPort)",
                "--nfs-versions", "3", "--metrics", "\(Self.clientHost):\(Self.metricsPort)", "--portmap", "off",
                "--state-dir", directory.appendingPathComponent("client-state").path,
            ],
            logDirectory: directory
        )
        defer { client.stop() }
        try client.waitForLog("serving metrics")
        try client.waitForLog("namespace ready")

        let url = TestEnvironment.nfsURL(host: Self.clientHost, port: Self.nfsPort, path: "/share/data.bin")
        let clientBefore = try Self.scrape(Self.clientHost)
        let exporterBefore = try Self.scrape(Self.exporterHost)
        let read = try ChildProcess.check(["nfs-cat", url], timeout: 120)
        #expect(read.stdout == content, "nfs-cat read the file")
        let clientAfter = try Self.scrape(Self.clientHost)
        let exporterAfter = try Self.scrape(Self.exporterHost)

        // What the NFS client was sent, exactly; in at least as many READs
        // as the largest READ (1 MiB) allows.
        let size = Double(Self.fileBytes)
        let nfsRead = ["program": "nfs", "version": "3", "procedure": "READ"]
        #expect(try Self.increase("p2pfs_nfs_read_bytes_total", ["version": "3"], from: clientBefore, to: clientAfter) == size)
        #expect(try Self.increase("p2pfs_nfs_operations_total", nfsRead, from: clientBefore, to: clientAfter) >= (size / Double(1 << 20)).rounded(.up))
        #expect(try Self.increase("p2pfs_nfs_errors_total", nfsRead, from: clientBefore, to: clientAfter) == 0)
        // Every byte came from the exporter once: fetched by the client,
        // served by the exporter, one peer READ served per forwarded read.
        let forwardedReads = try Self.increase("p2pfs_forwarded_reads_total", from: clientBefore, to: clientAfter)
        #expect(forwardedReads >= 1)
        #expect(try Self.increase("p2pfs_forwarded_read_bytes_total", from: clientBefore, to: clientAfter) == size)
        #expect(try Self.increase("p2pfs_forwarded_read_errors_total", from: clientBefore, to: clientAfter) == 0)
        #expect(try Self.increase("p2pfs_forwarded_read_duration_seconds_count", from: clientBefore, to: clientAfter) == forwardedReads)
        #expect(try Self.increase("p2pfs_peer_served_bytes_total", from: exporterBefore, to: exporterAfter) == size)
        #expect(try Self.increase("p2pfs_peer_reads_served_total", from: exporterBefore, to: exporterAfter) == forwardedReads)
        // Each peer READ was one read of the export, copied (it is
        // encrypted on its way), never sent by sendfile.
        let copiedReads = try ["event_loop", "thread_pool"].reduce(0.0) { sum, served in
            sum + (try Self.increase("p2pfs_local_reads_total", ["served": served], from: exporterBefore, to: exporterAfter))
        }
        #expect(copiedReads == forwardedReads)
        #expect(try Self.increase("p2pfs_local_reads_total", ["served": "sendfile"], from: exporterBefore, to: exporterAfter) == 0)
        #expect(try Self.increase("p2pfs_block_cache_misses_total", from: clientBefore, to: clientAfter) >= 1)
        #expect(clientAfter.value("p2pfs_block_cache_bytes").map { $0 >= size } == true, "the file is in the block cache")
        #expect(clientAfter.value("p2pfs_peers", ["state": "alive"]) == 1)
        #expect(exporterAfter.value("p2pfs_export_scan_duration_seconds_count").map { $0 >= 1 } == true)
        #expect(clientAfter.value("p2pfs_crawl_round_duration_seconds_count").map { $0 >= 1 } == true)
        #expect(clientAfter.value("p2pfs_namespace_entries").map { $0 >= 2 } == true, "at least /share and data.bin")

        // Read again: served from the cache, nothing more forwarded.
        let again = try ChildProcess.check(["nfs-cat", url], timeout: 120)
        #expect(again.stdout == content)
        let cached = try Self.scrape(Self.clientHost)
        #expect(try Self.increase("p2pfs_nfs_read_bytes_total", ["version": "3"], from: clientAfter, to: cached) == size)
        #expect(try Self.increase("p2pfs_forwarded_read_bytes_total", from: clientAfter, to: cached) == 0)
        #expect(try Self.increase("p2pfs_block_cache_hits_total", from: clientAfter, to: cached) >= 1)

        // A name that is not there: LOOKUP fails, and says so.
        let missing = try ChildProcess.run(["nfs-cat", TestEnvironment.nfsURL(host: Self.clientHost, port: Self.nfsPort, path: "/share/absent")])
        #expect(!missing.succeeded)
        let failed = try Self.scrape(Self.clientHost)
        let lookup = ["program": "nfs", "version": "3", "procedure": "LOOKUP"]
        #expect(try Self.increase("p2pfs_nfs_errors_total", lookup, from: cached, to: failed) >= 1)
        #expect(try Self.increase("p2pfs_nfs_operations_total", lookup, from: cached, to: failed) >= 1)
        #expect(try Self.increase("p2pfs_nfs_operations_total", ["program": "mount", "version": "3", "procedure": "MNT"], from: cached, to: failed) >= 1)
    }

    /// A node that offers and presents its own files: after the first READ
    /// opens the file, the next ones (1 MiB of cached pages each) go out by
    /// sendfile where the kernel tells which pages are cached (Linux 6.5),
    /// and the bytes are the file's.
    @Test func localReadsOfCachedPagesGoOutBySendfile() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory("metrics-local")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (share, content) = try Self.makeShare(in: directory)
        let file = share.appendingPathComponent("data.bin")
        let descriptor = open(file.path, O_RDONLY)
        let kernelTells = p2pfs_range_is_cached(descriptor, 0, 4096) >= 0
        close(descriptor)

        let node = try DaemonProcess(
            name: "single",
            arguments: [
                "--name", "single", "--export", "share=\(share.path)", "--nfs", "\(Self.singleHost):\(Self.nfsPort)",
                "--nfs-versions", "3", "--metrics", "\(Self.singleHost):\(Self.metricsPort)", "--portmap", "off",
                "--state-dir", directory.appendingPathComponent("state").path,
            ],
            logDirectory: directory
        )
        defer { node.stop() }
        try node.waitForLog("serving metrics")
        try node.waitForLog("namespace ready")

        let url = TestEnvironment.nfsURL(host: Self.singleHost, port: Self.nfsPort, path: "/share/data.bin")
        let before = try Self.scrape(Self.singleHost)
        let read = try ChildProcess.check(["nfs-cat", url], timeout: 120)
        #expect(read.stdout == content, "nfs-cat read the file")
        let after = try Self.scrape(Self.singleHost)
        #expect(try Self.increase("p2pfs_nfs_read_bytes_total", ["version": "3"], from: before, to: after) == Double(Self.fileBytes))
        let sent = try Self.increase("p2pfs_local_reads_total", ["served": "sendfile"], from: before, to: after)
        if kernelTells {
            #expect(sent >= 1, "no READ went out by sendfile")
        } else {
            #expect(sent == 0, "sendfile without a kernel that tells which pages are cached")
        }
    }
}
