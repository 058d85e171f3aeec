import Logging
import NIOCore
import ONCRPC
import Synchronization
import XDR

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The portmapper as an `RPCProgram`: PMAP version 2 and rpcbind versions 3
/// and 4 (RFC 1833) over one shared `PortmapRegistry`.
///
/// Indirect calls (CALLIT, BCAST, INDIRECT), the address conversions
/// (UADDR2TADDR, TADDR2UADDR) and GETSTAT answer PROC_UNAVAIL: p2pfs needs
/// none of them, and forwarding calls for strangers is an amplifier.
///
/// SET and UNSET are answered FALSE unless the caller is on this machine
/// (loopback or UNIX domain). A caller on an inet transport cannot be tied to
/// a user, so what it sets is owned by "unknown"; it can remove that again,
/// but not the mappings made through `withRegistry` (owned by their own names).
public final class PortmapProgram: RPCProgram {
    public let program: UInt32 = Portmap.program
    public let versions: ClosedRange<UInt32> = Portmap.versions

    private let registry: Mutex<PortmapRegistry>
    private let now: @Sendable () -> UInt32

    /// - Parameter now: seconds since 1970 for GETTIME (replaceable in tests).
    public init(registry: PortmapRegistry = PortmapRegistry(), now: @escaping @Sendable () -> UInt32 = PortmapProgram.systemTime) {
        self.registry = Mutex(registry)
        self.now = now
    }

    @Sendable
    public static func systemTime() -> UInt32 {
        UInt32(clamping: Int64(time(nil)))
    }

    /// The current table.
    public var snapshot: PortmapRegistry {
        self.registry.withLock { $0 }
    }

    /// Changes the table directly (the daemon's own registrations).
    public func withRegistry<T>(_ body: (inout PortmapRegistry) -> T) -> T {
        self.registry.withLock { body(&$0) }
    }

    public func handle(_ call: RPCCall, context: RPCCallContext) -> RPCResponse {
        var arguments = call.arguments
        do {
            if call.version == 2 {
                return .done(try self.handleV2(procedure: call.procedure, arguments: &arguments, context: context))
            }
            return .done(try self.handleRPCB(version: call.version, procedure: call.procedure, arguments: &arguments, context: context))
        } catch {
            context.logger.debug("portmapper: undecodable arguments", metadata: ["procedure": "\(call.procedure)", "error": "\(error)"])
            return .done(.garbageArguments)
        }
    }

    // MARK: Version 2

    private func handleV2(procedure: UInt32, arguments: inout ByteBuffer, context: RPCCallContext) throws(XDRError) -> RPCOutcome {
        guard let procedure = Portmap.V2Procedure(rawValue: procedure) else { return .procedureUnavailable }
        var results = context.makeResultBuffer()
        switch procedure {
        case .null:
            break
        case .set:
            let mapping = try PortmapMapping(xdr: &arguments)
            var accepted = false
            if let caller = Self.caller(context) {
                accepted = self.registry.withLock {
                    $0.setPort(program: mapping.program, version: mapping.version, protocolNumber: mapping.protocolNumber, port: mapping.port, caller: caller)
                }
            }
            self.log(context, "PMAP SET", mapping: "\(mapping)", accepted: accepted)
            results.writeXDRBool(accepted)
        case .unset:
            let mapping = try PortmapMapping(xdr: &arguments)
            var accepted = false
            if let caller = Self.caller(context) {
                accepted = self.registry.withLock { $0.unsetPorts(program: mapping.program, version: mapping.version, caller: caller) }
            }
            self.log(context, "PMAP UNSET", mapping: "\(mapping)", accepted: accepted)
            results.writeXDRBool(accepted)
        case .getPort:
            let mapping = try PortmapMapping(xdr: &arguments)
            let port = self.registry.withLock {
                $0.port(program: mapping.program, version: mapping.version, protocolNumber: mapping.protocolNumber)
            }
            results.writeXDRUInt32(port)
        case .dump:
            let mappings = self.registry.withLock { $0.portMappings }
            XDRLinkedList.encode(mappings, into: &results)
        case .callIt:
            return .procedureUnavailable
        }
        return .success(RPCResultBody(head: results))
    }

    // MARK: Versions 3 and 4

    private func handleRPCB(version: UInt32, procedure: UInt32, arguments: inout ByteBuffer, context: RPCCallContext) throws(XDRError) -> RPCOutcome {
        guard let procedure = Portmap.RPCBProcedure(rawValue: procedure),
            version == 4 || procedure.rawValue <= Portmap.RPCBProcedure.taddr2uaddr.rawValue
        else { return .procedureUnavailable }
        var results = context.makeResultBuffer()
        switch procedure {
        case .null:
            break
        case .set:
            let mapping = try RPCBMapping(xdr: &arguments)
            var accepted = false
            if let caller = Self.caller(context) {
                accepted = self.registry.withLock {
                    $0.set(PortmapEntry(program: mapping.program, version: mapping.version, netid: mapping.netid, address: mapping.address, owner: caller))
                }
            }
            self.log(context, "RPCB SET", mapping: "\(mapping)", accepted: accepted)
            results.writeXDRBool(accepted)
        case .unset:
            let mapping = try RPCBMapping(xdr: &arguments)
            var accepted = false
            if let caller = Self.caller(context) {
                accepted = self.registry.withLock {
                    $0.unset(program: mapping.program, version: mapping.version, netid: mapping.netid, caller: caller)
                }
            }
            self.log(context, "RPCB UNSET", mapping: "\(mapping)", accepted: accepted)
            results.writeXDRBool(accepted)
        case .getAddr, .getVersAddr:
            let mapping = try RPCBMapping(xdr: &arguments)
            let exact = procedure == .getVersAddr
            let registry = self.snapshot
            let lookup = { (netid: String) -> PortmapEntry? in
                exact
                    ? registry.lookup(program: mapping.program, version: mapping.version, netid: netid)
                    : registry.lookupAnyVersion(program: mapping.program, version: mapping.version, netid: netid)
            }
            // RFC 1833: the netid is that of the transport the request came in
            // on. When that finds nothing, the netid the caller named is tried,
            // so a UDP query about a TCP-only service still works.
            var entry = Self.transportNetid(context).flatMap(lookup)
            if entry == nil, !mapping.netid.isEmpty {
                entry = lookup(mapping.netid)
            }
            results.writeXDRString(entry.map { Self.mergedAddress($0.address, context: context) } ?? "")
        case .dump:
            let entries = self.registry.withLock { $0.entries }
            XDRLinkedList.encode(entries.map(RPCBMapping.init), into: &results)
        case .getTime:
            results.writeXDRUInt32(self.now())
        case .getAddrList:
            let mapping = try RPCBMapping(xdr: &arguments)
            let entries = self.registry.withLock { $0.entries(program: mapping.program, version: mapping.version) }
            let wantIPv6 = Self.transportNetid(context).flatMap(NetidInfo.init(netid:))?.isIPv6 ?? false
            let list = entries.compactMap { entry -> RPCBAddressEntry? in
                guard let info = NetidInfo(netid: entry.netid), info.isIPv6 == wantIPv6 else { return nil }
                return RPCBAddressEntry(
                    address: Self.mergedAddress(entry.address, context: context), netid: entry.netid,
                    semantics: info.semantics, protocolFamily: info.protocolFamily, protocolName: info.protocolName
                )
            }
            XDRLinkedList.encode(list, into: &results)
        case .callIt, .indirect, .uaddr2taddr, .taddr2uaddr, .getStat:
            return .procedureUnavailable
        }
        return .success(RPCResultBody(head: results))
    }

    // MARK: Helpers

    /// The owner name for a SET or UNSET, or nil when the caller is not on this machine.
    static func caller(_ context: RPCCallContext) -> String? {
        guard let remote = context.remoteAddress, remote.isLoopback else { return nil }
        return Portmap.unknownOwner
    }

    /// The netid of the transport a call arrived on.
    static func transportNetid(_ context: RPCCallContext) -> String? {
        let transport: PortmapProtocol = context.transport == .tcp ? .tcp : .udp
        switch context.localAddress {
        case .v4?: return transport.netid
        case .v6?: return transport.netid6
        default: return nil
        }
    }

    /// A wildcard service address with the host part replaced by the address
    /// the client reached us on, as rpcbind's merged addresses do.
    static func mergedAddress(_ stored: String, context: RPCCallContext) -> String {
        guard let address = UniversalAddress(stored), address.isWildcard,
            let local = context.localAddress.flatMap({ UniversalAddress($0) }),
            local.isIPv6 == address.isIPv6,
            let merged = address.replacingHost(with: local.host)
        else { return stored }
        return merged.description
    }

    private func log(_ context: RPCCallContext, _ what: String, mapping: String, accepted: Bool) {
        context.logger.debug(
            "portmapper \(what)",
            metadata: ["mapping": "\(mapping)", "accepted": "\(accepted)", "caller": "\(context.remoteAddress.map { "\($0)" } ?? "?")"]
        )
    }
}
