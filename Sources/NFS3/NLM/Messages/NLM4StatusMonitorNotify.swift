import NIOCore
import XDR

/// The argument of procedure 16, the Linux-private SM_NOTIFY that rpc.statd
/// sends its lock manager when a monitored host restarted: `nlm4_notify`
/// followed by the 16 private bytes given to SM_MON.
public struct NLM4StatusMonitorNotify: XDRCodable, Sendable, Equatable {
    public var notify: NLM4Notify
    public var privateData: [UInt8]

    public init(notify: NLM4Notify, privateData: [UInt8] = Array(repeating: 0, count: NLM4.privateSize)) {
        precondition(privateData.count == NLM4.privateSize)
        self.notify = notify
        self.privateData = privateData
    }

    public init(xdr buffer: inout ByteBuffer) throws(XDRError) {
        self.notify = try NLM4Notify(xdr: &buffer)
        self.privateData = Array(try buffer.readXDRFixedOpaque(length: NLM4.privateSize).readableBytesView)
    }

    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        self.notify.encode(into: &buffer) + buffer.writeXDRFixedOpaque(self.privateData)
    }
}
