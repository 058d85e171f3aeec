@testable import Discovery

/// Milliseconds as the Duration the state machines take for "now".
func ms(_ value: Int64) -> Duration { .milliseconds(value) }

let annaID = "0123abcd0123abcd0123abcd0123abcd"

func anna(addresses: [[UInt8]] = [[198, 18, 0, 1]]) -> ServiceAdvertisement {
    ServiceAdvertisement(
        nodeName: "anna", nodeID: annaID, port: 7070, protocolVersion: 1, roles: ["offer"], addresses: addresses)
}

extension MDNSResponder.Output {
    var message: DNSMessage? {
        switch self {
        case .multicast(let message), .unicastReply(let message): message
        case .renamed: nil
        }
    }
}

/// What went through the wire: encoded and decoded again, so the state
/// machines only ever see what a real packet could carry.
func onTheWire(_ message: DNSMessage) throws -> DNSMessage {
    try DNSMessage(decoding: message.encoded())
}

/// A responder taken through probing and announcing to running.
func runningResponder(_ advertisement: ServiceAdvertisement = anna()) -> MDNSResponder {
    var responder = MDNSResponder(advertisement: advertisement)
    _ = responder.start(now: ms(0))
    var now = ms(0)
    while let deadline = responder.nextDeadline {
        now = deadline
        _ = responder.tick(now: now)
    }
    return responder
}
