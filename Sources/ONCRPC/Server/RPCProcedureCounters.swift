import CoreMetrics

/// The calls and failed calls of one procedure of one program version, as
/// `p2pfs_nfs_operations_total` and `p2pfs_nfs_errors_total`.
///
/// Made once per procedure when a program is set up, never per call: a
/// call costs two atomic increments at most.
public struct RPCProcedureCounters: Sendable {
    public static let operationsLabel = "p2pfs_nfs_operations_total"
    public static let errorsLabel = "p2pfs_nfs_errors_total"

    public let calls: Counter
    public let errors: Counter

    /// - Parameters:
    ///   - program: "nfs", "mount" or "nlm".
    ///   - version: "3", "4.1"...
    ///   - procedure: the procedure's (or NFSv4.1 operation's) name, "READ".
    ///   - factory: the bootstrapped backend unless a test passes its own.
    public init(program: String, version: String, procedure: String, factory: any MetricsFactory = MetricsSystem.factory) {
        let dimensions = [("program", program), ("version", version), ("procedure", procedure)]
        self.calls = Counter(label: Self.operationsLabel, dimensions: dimensions, factory: factory)
        self.errors = Counter(label: Self.errorsLabel, dimensions: dimensions, factory: factory)
    }

    /// Counts one call, and one error if it failed.
    @inlinable
    public func record(failed: Bool) {
        self.calls.increment()
        if failed { self.errors.increment() }
    }

    /// "READDIRPLUS" for `readdirplus`, "EXCHANGE_ID" for `exchangeID`: a
    /// procedure enum's case name the way the RFCs spell procedures.
    public static func name(_ caseName: String) -> String {
        var name = ""
        var previousIsLower = false
        for character in caseName {
            if character.isUppercase && previousIsLower { name.append("_") }
            previousIsLower = character.isLowercase || character.isNumber
            name += character.uppercased()
        }
        return name
    }
}
