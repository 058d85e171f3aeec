import Foundation
import NIOCore

/// The checked-in inputs of one fuzz target: the seed corpus
/// (`Fuzz/Corpus/<target>/`) and the reproducers of bugs the fuzzers found
/// (`Fuzz/Regressions/<target>/`), for the tests that replay them through
/// the same harness the fuzzer runs.
enum FuzzReplay {
    /// `Fuzz/` of the package this file is in (found upwards from here,
    /// whether the compiler saw the symbolic link or its target).
    static let fuzzDirectory: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("Fuzz")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Corpus").path) {
                return candidate
            }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: "Fuzz")
    }()

    /// "Corpus/nfs/nlm-messages", ... (sorted; both directories).
    static func inputs(of target: String) -> [String] {
        ["Corpus", "Regressions"].flatMap { kind in
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(kind)/\(target)/\($0)" }
        }
    }

    static func bytes(_ input: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: fuzzDirectory.appendingPathComponent(input)))
    }
}
