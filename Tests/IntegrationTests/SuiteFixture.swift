import Testing

/// Something expensive that every test of a suite shares (a daemon and the
/// tree it exports), built before the suite's first test and torn down after
/// its last: see `SharedFixture`.
protocol SuiteFixture: Sendable {
    init() throws
    func tearDown()
    /// Where the suite's tests find the fixture while the suite runs.
    static var current: TaskLocal<Self?> { get }
}

extension SuiteFixture {
    /// The fixture of the running suite.
    static func shared() throws -> Self {
        try #require(Self.current.get(), "the suite needs the .sharedFixture(\(Self.self).self) trait")
    }
}

/// A suite trait that wraps the whole suite in one fixture, so its daemons
/// are stopped when the suite ends, whatever the tests did.
struct SharedFixture<Fixture: SuiteFixture>: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let fixture = try Fixture()
        defer { fixture.tearDown() }
        try await Fixture.current.withValue(fixture) {
            try await function()
        }
    }
}

extension Trait where Self == SharedFixture<LocalExportFixture> {
    static var localExportFixture: Self { SharedFixture() }
}

extension Trait where Self == SharedFixture<HostileClientFixture> {
    static var hostileClientFixture: Self { SharedFixture() }
}
