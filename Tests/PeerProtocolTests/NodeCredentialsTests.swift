import Crypto
import Namespace
import NIOSSL
import PeerProtocol
import Testing

/// `NodeCredentials`: the node id is the SHA-256 of the public key, so it
/// follows from the key alone; certificates made elsewhere are read, and one
/// for another key is refused.
@Suite struct NodeCredentialsTests {
    /// Made with `openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt`.
    static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWBOZB64TNVKbyRnB
        ooAVL4jeU6Q/+RG7bbRiJCwJYLGhRANCAAT6eOcjvkPZ26m+g7ziXa9IikvJBhK8
        WpouhXAjjcuqJAeDppfXmZn4Tswr7anBcD7rkVUETOAmK3/7FOquWlff
        -----END PRIVATE KEY-----

        """
    /// `openssl req -new -x509 -key KEY -subj "/CN=p2pfs node" -days 36500`.
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBgTCCASegAwIBAgIUFKINxyc0egJKx6q0vg4sSiEugFYwCgYIKoZIzj0EAwIw
        FTETMBEGA1UEAwwKcDJwZnMgbm9kZTAgFw0yNjExMzAxMTQ5NDhaGA8yMTI2MTEw
        NjExNDk0OFowFTETMBEGA1UEAwwKcDJwZnMgbm9kZTBZMBMGByqGSM49AgEGCCqG
        SM49AwEHA0IABPp45yO+Q9nbqb6DvOJdr0iKS8kGErxami6FcCONy6okB4Oml9eZ
        mfhOzCvtqcFwPuuRVQRM4CYrf/sU6q5aV9+jUzBRMB0GA1UdDgQWBBR8jthaPAeQ
        sZV/AFgpVVsotrWTajAfBgNVHSMEGDAWgBR8jthaPAeQsZV/AFgpVVsotrWTajAP
        BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFMARXm+h/WyH/9Vdvk4
        Xeo8E9H+putKQHddlkIKZbJ5AiEA/3qslaQOChSI1ACnIRGi/nNBWjNe6gQdsV6/
        KUvu36g=
        -----END CERTIFICATE-----

        """
    /// `openssl pkey -in KEY -pubout -outform DER | sha256sum`.
    static let keyDigestHex = "9558f1a330b05999b32d6e12c608c99ec7f5c9539de265ad42986035f3b4d2e4"

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined()
    }

    @Test func theIDOfAKnownKeyIsTheStartOfItsDigest() throws {
        let credentials = try NodeCredentials(privateKeyPEM: Self.keyPEM, certificatePEM: Self.certificatePEM)
        #expect(Self.hex(credentials.publicKeyDigest) == Self.keyDigestHex)
        #expect(credentials.nodeID == NodeID(hex: Self.keyDigestHex.prefix(32)))
        #expect(credentials.publicKeySPKI.count == 91)
        // What a peer derives from the certificate on the wire is the same.
        let seen = try NIOSSLCertificate(bytes: Array(Self.certificatePEM.utf8), format: .pem)
        #expect(Self.hex(try NodeCredentials.publicKeyDigest(of: seen)) == Self.keyDigestHex)
    }

    @Test func aCertificateForAnotherKeyIsRefused() throws {
        let other = try NodeCredentials.generate()
        #expect(throws: NodeCredentialsError.keyMismatch) {
            try NodeCredentials(privateKeyPEM: other.privateKeyPEM, certificatePEM: Self.certificatePEM)
        }
    }

    @Test func generatedCredentialsRoundTripThroughTheirPEM() throws {
        let made = try NodeCredentials.generate()
        let read = try NodeCredentials(privateKeyPEM: made.privateKeyPEM, certificatePEM: made.certificatePEM)
        #expect(read.nodeID == made.nodeID)
        #expect(read.publicKeyDigest == Array(SHA256.hash(data: read.publicKeySPKI)))
        let seen = try NIOSSLCertificate(bytes: Array(made.certificatePEM.utf8), format: .pem)
        #expect(try NodeCredentials.publicKeyDigest(of: seen) == made.publicKeyDigest)
        #expect(try NodeCredentials.generate().nodeID != made.nodeID)
    }
}
