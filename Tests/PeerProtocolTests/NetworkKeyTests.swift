import Foundation
import Namespace
import PeerProtocol
import Testing

/// The network key and the handshake as values: proofs, their vectors, and
/// every way a proof must fail.
@Suite struct NetworkKeyTests {
    static let keyBytes = Array("p2pfs-test-network-key-0123456789".utf8)
    static let key = try! NetworkKey(bytes: keyBytes)
    static let otherKey = try! NetworkKey(bytes: Array("another-network-key-9876543210".utf8))
    static let callerChallenge = Array(UInt8(0)..<32)
    static let responderChallenge = Array(UInt8(32)..<64)
    static let responderID = NodeID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)
    static let callerID = NodeID(high: 0x1112_1314_1516_1718, low: 0x191A_1B1C_1D1E_1F20)
    /// The TLS session's channel binding (two key digests).
    static let binding = Array(UInt8(0x40)..<0x80)

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func node(_ id: NodeID, _ name: String, roles: PeerRoles = .server) -> NodeInfo {
        NodeInfo(identity: NodeIdentity(id: id, name: name), roles: roles, addresses: [])
    }

    // MARK: The key

    @Test func keyFilesAreTrimmedAndMustHoldSixteenBytes() throws {
        let withNewline = try NetworkKey(bytes: Self.keyBytes + Array("\n".utf8))
        #expect(withNewline.fingerprint == Self.key.fingerprint)
        #expect(Self.key.fingerprint == "69f10f9bf015")  // SHA-256("p2pfs-network-key-fingerprint-v1" | key), first 6 bytes
        #expect(Self.otherKey.fingerprint != Self.key.fingerprint)
        #expect(throws: NetworkKeyError.tooShort(path: nil, length: 15)) {
            try NetworkKey(bytes: Array("  0123456789abcde \n".utf8))
        }
        #expect(throws: NetworkKeyError.tooShort(path: nil, length: 0)) { try NetworkKey(bytes: Array(" \n\t".utf8)) }
        _ = try NetworkKey(bytes: Array("0123456789abcdef".utf8))
    }

    @Test func keyFileErrorsNameTheProblem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p2pfs-key-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing").path
        #expect(throws: NetworkKeyError.unreadable(path: missing, reason: "No such file or directory")) {
            try NetworkKey(contentsOfFile: missing)
        }
        #expect(throws: NetworkKeyError.unreadable(path: directory.path, reason: "not a regular file")) {
            try NetworkKey(contentsOfFile: directory.path)
        }
        let short = directory.appendingPathComponent("short")
        try Data("tiny\n".utf8).write(to: short)
        #expect(throws: NetworkKeyError.tooShort(path: short.path, length: 4)) { try NetworkKey(contentsOfFile: short.path) }
        #expect("\(NetworkKeyError.tooShort(path: short.path, length: 4))".contains("at least 16"))
        let good = directory.appendingPathComponent("good")
        try Data((Self.keyBytes + [10]) as [UInt8]).write(to: good)
        #expect(try NetworkKey(contentsOfFile: good.path).fingerprint == Self.key.fingerprint)
    }

    // MARK: Proofs

    /// Vectors computed independently (Python's hmac over the XDR transcript).
    @Test func proofsMatchTheVectors() {
        let responder = Self.key.proof(
            .responder, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
            responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(Self.hex(responder) == "28e3a48e95b8670817711189be4b8fa592ef36517f9d2ecb107a9f608ba5583b")
        let caller = Self.key.proof(
            .caller, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
            responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(Self.hex(caller) == "06395bf13158684a94e0d33a2e851d4b2169de76eb4fea78c8fd1e2c1e51e659")
        let transcript = PeerHandshake.transcript(
            .caller, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
            responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(transcript.count == 204)
        #expect(Array(transcript.prefix(18)) == [0, 0, 0, 14] + Array("p2pfs-hello-v2".utf8))
        #expect(Array(transcript.suffix(68)) == [0, 0, 0, 64] + Self.binding)
    }

    @Test func everyBoundInputChangesTheProof() {
        func proof(
            _ key: NetworkKey = Self.key, _ direction: PeerHandshake.Direction = .caller, nc: [UInt8] = Self.callerChallenge,
            nr: [UInt8] = Self.responderChallenge, responder: NodeID = Self.responderID, caller: NodeID = Self.callerID,
            binding: [UInt8] = Self.binding
        ) -> [UInt8] {
            key.proof(direction, callerChallenge: nc, responderChallenge: nr, responder: responder, caller: caller, channelBinding: binding)
        }
        let genuine = proof()
        #expect(Self.key.isValid(
            proof: genuine, .caller, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
            responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        ))
        let variants = [
            proof(Self.otherKey),  // wrong key
            proof(Self.key, .responder),  // the other direction (reflection)
            proof(nc: Self.responderChallenge, nr: Self.callerChallenge),  // swapped nonces
            proof(responder: Self.callerID, caller: Self.responderID),  // swapped ids
            proof(nc: Array(Self.callerChallenge.dropLast())),  // a nonce one byte shorter
            proof(nr: Self.responderChallenge.map { $0 ^ 1 }),
            // Another TLS session (a proof relayed through a node in the
            // middle, whose key differs): its binding differs.
            proof(binding: Array(Self.binding.prefix(32)) + Array(repeating: 0xEE, count: 32)),
            proof(binding: Array(Self.binding.suffix(32) + Self.binding.prefix(32))),  // the two ends swapped
            proof(binding: []),  // no TLS session at all
        ]
        #expect(Set(variants.map(Self.hex)).count == variants.count)
        for variant in variants {
            #expect(variant != genuine)
            #expect(!Self.key.isValid(
                proof: variant, .caller, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
                responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
            ))
        }
        // Truncated or empty proofs never pass.
        for bad in [Array(genuine.prefix(16)), [], genuine + [0]] {
            #expect(!Self.key.isValid(
                proof: bad, .caller, callerChallenge: Self.callerChallenge, responderChallenge: Self.responderChallenge,
                responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
            ))
        }
    }

    @Test func challengesAreFreshAndFullLength() {
        let a = PeerHandshake.makeChallenge()
        let b = PeerHandshake.makeChallenge()
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
    }

    // MARK: The state machines

    /// Runs a handshake between a caller and a responder holding the given keys.
    static func handshake(
        callerKey: NetworkKey, responder: inout PeerHandshake.Responder
    ) -> (callerFailure: PeerHandshake.Failure?, authorized: Bool) {
        let caller = PeerHandshake.Caller(key: callerKey, me: Self.callerID, channelBinding: Self.binding)
        let hello = caller.helloArguments(sender: Self.node(Self.callerID, "caller"))
        guard case .challenge(let proof, let challenge) = responder.hello(from: hello.sender, challenge: hello.challenge) else {
            return (nil, false)
        }
        let reply = HelloReply(
            responder: Self.node(Self.responderID, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: challenge
        )
        do {
            let answer = try caller.answer(reply, expecting: Self.responderID)
            return (nil, responder.authenticate(proof: answer) != nil)
        } catch {
            return (error, false)
        }
    }

    /// A man in the middle with its own certificate relays HELLO and
    /// AUTHENTICATE between two key holders: the responder's TLS session is
    /// with the middle, not the caller, so the bindings differ, and neither
    /// side's proof passes on the other. Checked in both directions, as a
    /// relay could forward either proof.
    @Test func aProofRelayedFromAnotherTLSSessionFails() {
        let relayed = Array(Self.binding.prefix(32)) + Array(repeating: 0x5A, count: 32)
        var responder = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: relayed)
        let outcome = Self.handshake(callerKey: Self.key, responder: &responder)
        #expect(outcome.callerFailure == .wrongProof)
        #expect(!outcome.authorized)
        // The caller's proof made for its own session, shown to the responder.
        guard case .challenge(_, let challenge) = responder.hello(from: Self.node(Self.callerID, "caller"), challenge: Self.callerChallenge) else {
            Issue.record("no challenge")
            return
        }
        let proof = Self.key.proof(
            .caller, callerChallenge: Self.callerChallenge, responderChallenge: challenge, responder: Self.responderID,
            caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(responder.authenticate(proof: proof) == nil)
        #expect(!responder.isAuthorized)
    }

    @Test func theRightKeyAuthorizes() {
        var responder = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        #expect(!responder.isAuthorized)
        let outcome = Self.handshake(callerKey: Self.key, responder: &responder)
        #expect(outcome.callerFailure == nil)
        #expect(outcome.authorized)
        #expect(responder.isAuthorized)
        #expect(responder.state == .authorized(caller: Self.node(Self.callerID, "caller")))
    }

    @Test func aWrongKeyFailsOnBothSides() {
        // The caller holds another key: it rejects the responder's proof and
        // never shows one of its own.
        var responder = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        let outcome = Self.handshake(callerKey: Self.otherKey, responder: &responder)
        #expect(outcome.callerFailure == .wrongProof)
        #expect(!responder.isAuthorized)

        // A caller that answers anyway (a stranger guessing) is refused.
        var stranger = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        guard case .challenge(_, let challenge) = stranger.hello(from: Self.node(Self.callerID, "x"), challenge: Self.callerChallenge) else {
            Issue.record("no challenge")
            return
        }
        let guess = Self.otherKey.proof(
            .caller, callerChallenge: Self.callerChallenge, responderChallenge: challenge, responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(stranger.authenticate(proof: guess) == nil)
        #expect(!stranger.isAuthorized)
        // One try per challenge: even the right proof now needs a new HELLO.
        let right = Self.key.proof(
            .caller, callerChallenge: Self.callerChallenge, responderChallenge: challenge, responder: Self.responderID, caller: Self.callerID, channelBinding: Self.binding
        )
        #expect(stranger.authenticate(proof: right) == nil)
    }

    @Test func anOpenResponderProvesNothing() throws {
        let caller = PeerHandshake.Caller(key: Self.key, me: Self.callerID, channelBinding: Self.binding)
        // What a node without a key answers: the full HELLO, no proof.
        let open = HelloReply(responder: Self.node(Self.responderID, "open"), catalogGeneration: 5, peersGeneration: 1)
        #expect(throws: PeerHandshake.Failure.noProof) { try caller.answer(open) }
        // A proof without a usable challenge, or echoing the caller's own.
        let proof = Self.key.proof(
            .responder, callerChallenge: caller.challenge, responderChallenge: caller.challenge, responder: Self.responderID,
            caller: Self.callerID, channelBinding: Self.binding
        )
        let echo = HelloReply(responder: Self.node(Self.responderID, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: caller.challenge)
        #expect(throws: PeerHandshake.Failure.badChallenge) { try caller.answer(echo) }
        let short = HelloReply(responder: Self.node(Self.responderID, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: [1, 2, 3])
        #expect(throws: PeerHandshake.Failure.badChallenge) { try caller.answer(short) }
    }

    @Test func theResponderMustBeTheNodeExpected() throws {
        let caller = PeerHandshake.Caller(key: Self.key, me: Self.callerID, channelBinding: Self.binding)
        var responder = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        guard case .challenge(let proof, let challenge) = responder.hello(from: Self.node(Self.callerID, "c"), challenge: caller.challenge) else {
            Issue.record("no challenge")
            return
        }
        // Claiming to be another node does not fit the proof...
        let impostor = NodeID(high: 9, low: 9)
        let claimed = HelloReply(responder: Self.node(impostor, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: challenge)
        #expect(throws: PeerHandshake.Failure.wrongProof) { try caller.answer(claimed) }
        // ...and a genuine keyholder that is not the node asked for is refused.
        let genuine = HelloReply(responder: Self.node(Self.responderID, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: challenge)
        #expect(throws: PeerHandshake.Failure.unexpectedNode(expected: impostor, found: Self.responderID)) {
            try caller.answer(genuine, expecting: impostor)
        }
        _ = try caller.answer(genuine, expecting: Self.responderID)
    }

    @Test func aProofIsGoodForOneConnectionOnly() throws {
        // Connection 1: a genuine handshake, watched by an eavesdropper.
        let caller = PeerHandshake.Caller(key: Self.key, me: Self.callerID, channelBinding: Self.binding)
        var first = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        guard case .challenge(let proof, let challenge) = first.hello(from: Self.node(Self.callerID, "c"), challenge: caller.challenge) else {
            Issue.record("no challenge")
            return
        }
        let reply = HelloReply(responder: Self.node(Self.responderID, ""), catalogGeneration: 0, peersGeneration: 0, proof: proof, challenge: challenge)
        let seen = try caller.answer(reply)
        #expect(first.authenticate(proof: seen) != nil)

        // Connection 2: the eavesdropper replays the same HELLO and the same
        // proof; the responder's fresh challenge makes it worthless.
        var second = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        guard case .challenge(_, let otherChallenge) = second.hello(from: Self.node(Self.callerID, "c"), challenge: caller.challenge) else {
            Issue.record("no challenge")
            return
        }
        #expect(otherChallenge != challenge)
        #expect(second.authenticate(proof: seen) == nil)
        #expect(!second.isAuthorized)

        // Reflection: the responder's own proof handed back as the caller's.
        var third = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        guard case .challenge(let reflected, _) = third.hello(from: Self.node(Self.callerID, "c"), challenge: caller.challenge) else {
            Issue.record("no challenge")
            return
        }
        #expect(third.authenticate(proof: reflected) == nil)

        // A new HELLO on an authorized connection drops the authorization
        // until the new challenge is answered; a proof out of turn too.
        #expect(first.isAuthorized)
        _ = first.hello(from: Self.node(Self.callerID, "c"), challenge: PeerHandshake.makeChallenge())
        #expect(!first.isAuthorized)
        #expect(first.authenticate(proof: seen) == nil)
        #expect(first.authenticate(proof: seen) == nil)
    }

    @Test func helloWithoutAUsableChallengeIsDenied() {
        var responder = PeerHandshake.Responder(key: Self.key, me: Self.responderID, channelBinding: Self.binding)
        #expect(responder.hello(from: Self.node(Self.callerID, "c"), challenge: []) == .denied)
        #expect(responder.hello(from: Self.node(Self.callerID, "c"), challenge: Array(repeating: 1, count: 15)) == .denied)
        #expect(responder.authenticate(proof: Array(repeating: 0, count: 32)) == nil)
        #expect(responder.state == .idle)
    }
}
