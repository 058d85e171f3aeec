import Crypto
import Foundation
import Namespace
import NIOSSL
import SwiftASN1
import X509

/// A node's TLS identity: a P-256 key pair and a self-signed certificate for
/// it, made on first start and kept in the state directory. The node id is
/// derived from the public key (`NodeID(publicKey:)`), so claiming an id
/// means holding its private key.
public struct NodeCredentials: Sendable {
    /// PEM of the PKCS #8 private key.
    public let privateKeyPEM: String
    /// PEM of the self-signed X.509 certificate.
    public let certificatePEM: String
    /// DER SubjectPublicKeyInfo of the certificate's key.
    public let publicKeySPKI: [UInt8]
    /// SHA-256 of `publicKeySPKI`.
    public let publicKeyDigest: [UInt8]
    public let nodeID: NodeID

    let certificate: NIOSSLCertificate
    let privateKey: NIOSSLPrivateKey

    /// A new key pair and a certificate for it.
    public static func generate() throws -> NodeCredentials {
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName("p2pfs node")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: certificateKey.publicKey,
            // Clocks of LAN machines disagree; the validity is not checked
            // by peers (the key is what identifies a node), only kept sane.
            notValidBefore: now.addingTimeInterval(-86_400),
            notValidAfter: now.addingTimeInterval(100 * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: certificateKey
        )
        return try NodeCredentials(privateKeyPEM: key.pemRepresentation, certificatePEM: certificate.serializeAsPEM().pemString)
    }

    /// Credentials from their files' contents; throws when they do not
    /// parse or the certificate is not for the key.
    public init(privateKeyPEM: String, certificatePEM: String) throws {
        let key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        let parsed = try Certificate(pemEncoded: certificatePEM)
        guard parsed.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw NodeCredentialsError.keyMismatch
        }
        self.privateKeyPEM = privateKeyPEM
        self.certificatePEM = certificatePEM
        self.publicKeySPKI = Array(key.publicKey.derRepresentation)
        self.publicKeyDigest = Array(SHA256.hash(data: self.publicKeySPKI))
        self.nodeID = NodeID(publicKeyDigest: self.publicKeyDigest)
        self.certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        self.privateKey = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
    }

    /// The digest of the public key a peer's certificate holds.
    public static func publicKeyDigest(of certificate: NIOSSLCertificate) throws -> [UInt8] {
        Array(SHA256.hash(data: try certificate.extractPublicKey().toSPKIBytes()))
    }
}

public enum NodeCredentialsError: Error, Equatable, Sendable, CustomStringConvertible {
    case keyMismatch

    public var description: String {
        switch self {
        case .keyMismatch: "the certificate is not for the private key"
        }
    }
}

extension NodeID {
    /// A node's id: the first 128 bits of the SHA-256 of its public key's
    /// DER SubjectPublicKeyInfo. Finding another key with the same id is a
    /// second preimage of 128 bits, out of reach.
    public init(publicKeyDigest digest: [UInt8]) {
        precondition(digest.count >= 16, "a SHA-256 digest")
        let high = digest[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = digest[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self.init(high: high, low: low)
    }
}
