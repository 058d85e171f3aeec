import CoreMetrics
import Prometheus

/// The one place p2pfs chooses a metrics backend: swift-prometheus behind
/// swift-metrics, which every library records into.
enum PrometheusBackend {
    /// Bootstraps the metrics system (once per process) and returns what
    /// renders the Prometheus text format.
    static func bootstrap() -> @Sendable () -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A forwarded read on a LAN takes well under the default buckets'
        // 5 ms; crawl rounds and export scans, seconds to minutes.
        factory.durationHistogramBuckets["p2pfs_forwarded_read_duration_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(3),
        ]
        let slow: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(300),
        ]
        factory.durationHistogramBuckets["p2pfs_crawl_round_duration_seconds"] = slow
        factory.durationHistogramBuckets["p2pfs_export_scan_duration_seconds"] = slow
        MetricsSystem.bootstrap(factory)
        return {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return buffer
        }
    }
}
