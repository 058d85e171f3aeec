import Namespace
import ONCRPC
import PeerProtocol
import Testing

/// `PeerClientError.isTransient`: what a failed HASH may be asked again
/// for. No answer or the owner's I/O error may pass; an answer about the
/// file or a refusal of this node will not.
@Suite struct PeerClientErrorTests {
    @Test func noAnswerMayPass() {
        let address = PeerAddress(host: "127.0.0.1", port: 1)
        for error in [
            PeerClientError.rpc(.timedOut), .rpc(.connectionClosed), .unreachable("refused"), .status(.io), .tls(address, reason: "reset"),
        ] {
            #expect(error.isTransient, "\(error)")
        }
    }

    @Test func answersAboutTheFileAndRefusalsDoNotPass() {
        let address = PeerAddress(host: "127.0.0.1", port: 1)
        for error in [
            PeerClientError.status(.changed), .status(.stale), .status(.noEntry), .status(.invalid), .status(.denied), .status(.badVersion),
            .keyRequired(address), .untrusted(address, reason: "no proof"), .impersonation(address, expected: "x", found: "y"),
        ] {
            #expect(!error.isTransient, "\(error)")
        }
    }
}
