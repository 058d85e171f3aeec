import NIOCore
import Testing
import XDR

/// The example of RFC 4506 §7: a `file` structure with a union.
///
///     enum filekind { TEXT = 0, DATA = 1, EXEC = 2 };
///     union filetype switch (filekind kind) {
///         case TEXT: void;
///         case DATA: string creator<MAXNAMELEN>;
///         case EXEC: string interpretor<MAXNAMELEN>;
///     };
///     struct file {
///         string filename<MAXNAMELEN>;
///         filetype type;
///         string owner<MAXUSERNAME>;
///         opaque data<MAXFILELEN>;
///     };
struct SpecFile: XDRCodable, Equatable {
    enum FileType: Equatable {
        case text
        case data(creator: String)
        case exec(interpretor: String)
    }

    static let maxNameLength = 255
    static let maxUserName = 32
    static let maxFileLength = 65535

    var filename: String
    var type: FileType
    var owner: String
    var data: [UInt8]

    init(filename: String, type: FileType, owner: String, data: [UInt8]) {
        self.filename = filename
        self.type = type
        self.owner = owner
        self.data = data
    }

    init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.filename = try buffer.readXDRString(limit: Self.maxNameLength)
        switch try buffer.readXDRUInt32() {
        case 0: self.type = .text
        case 1: self.type = .data(creator: try buffer.readXDRString(limit: Self.maxNameLength))
        case 2: self.type = .exec(interpretor: try buffer.readXDRString(limit: Self.maxNameLength))
        case let other: throw XDRError.invalidDiscriminant(type: "filekind", value: other)
        }
        self.owner = try buffer.readXDRString(limit: Self.maxUserName)
        self.data = Array(try buffer.readXDRVariableOpaque(limit: Self.maxFileLength).readableBytesView)
    }

    func encode(into buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeXDRString(self.filename)
        switch self.type {
        case .text: written += buffer.writeXDRUInt32(0)
        case .data(let creator): written += buffer.writeXDRUInt32(1) + buffer.writeXDRString(creator)
        case .exec(let interpretor): written += buffer.writeXDRUInt32(2) + buffer.writeXDRString(interpretor)
        }
        return written + buffer.writeXDRString(self.owner) + buffer.writeXDRVariableOpaque(self.data)
    }
}

@Suite("RFC 4506 §7 example")
struct XDRSpecExampleTests {
    /// The 48 bytes listed in the RFC for the file "sillyprog".
    static let sillyprog: [UInt8] = [
        0x00, 0x00, 0x00, 0x09,  // length of filename = 9
        0x73, 0x69, 0x6C, 0x6C,  // "sill"
        0x79, 0x70, 0x72, 0x6F,  // "ypro"
        0x67, 0x00, 0x00, 0x00,  // "g" and 3 zero bytes of fill
        0x00, 0x00, 0x00, 0x02,  // filekind is EXEC = 2
        0x00, 0x00, 0x00, 0x04,  // length of interpretor = 4
        0x6C, 0x69, 0x73, 0x70,  // "lisp"
        0x00, 0x00, 0x00, 0x04,  // length of owner = 4
        0x6A, 0x6F, 0x68, 0x6E,  // "john"
        0x00, 0x00, 0x00, 0x06,  // length of file data = 6
        0x28, 0x71, 0x75, 0x69,  // "(qui"
        0x74, 0x29, 0x00, 0x00,  // "t)" and 2 zero bytes of fill
    ]

    static let file = SpecFile(filename: "sillyprog", type: .exec(interpretor: "lisp"), owner: "john", data: Array("(quit)".utf8))

    @Test func encodesToTheBytesOfTheRFC() {
        var out = ByteBuffer()
        #expect(out.writeXDR(Self.file) == 48)
        #expect(bytes(out) == Self.sillyprog)
    }

    @Test func decodesTheBytesOfTheRFC() throws {
        var input = buffer(Self.sillyprog)
        #expect(try input.readXDR(SpecFile.self) == Self.file)
        #expect(input.readableBytes == 0)
    }

    @Test func everyTruncationOfTheExampleFails() {
        for length in 0..<Self.sillyprog.count {
            var input = buffer(Array(Self.sillyprog.prefix(length)))
            #expect(throws: XDRError.self, "prefix of \(length) bytes") { try input.readXDR(SpecFile.self) }
        }
    }

    @Test func ownerLongerThanItsLimitIsRejected() {
        var out = ByteBuffer()
        out.writeXDR(SpecFile(filename: "f", type: .text, owner: String(repeating: "x", count: 33), data: []))
        #expect(throws: XDRError.lengthLimitExceeded(length: 33, limit: 32)) { try out.readXDR(SpecFile.self) }
    }
}
