import Foundation

/// A fresh directory under /tmp, removed with everything in it on deinit.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/p2pfs-daemon-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        self.path = String(cString: made!)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.path)
    }

    /// Writes `text` to `name` (relative to the directory), creating it.
    func write(_ text: String, to name: String) {
        let file = fopen(self.path + "/" + name, "w")!
        fputs(text, file)
        fclose(file)
    }

    /// The content of `name`, nil if it cannot be read.
    func read(_ name: String) -> String? {
        guard let file = fopen(self.path + "/" + name, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while case let byte = fgetc(file), byte != EOF { bytes.append(UInt8(byte)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func makeDirectory(_ name: String) {
        mkdir(self.path + "/" + name, 0o755)
    }
}
