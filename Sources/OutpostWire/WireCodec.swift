import Foundation
import SwiftProtobuf

/// Bytes ⇄ typed frames for Sovereign v1.
///
/// Binary only: one serialized `Envelope` per WebSocket message, at most ``maxEnvelopeBytes``
/// in either direction. The client side decodes ``ServerEnvelope``s and encodes
/// ``ClientEnvelope``s; the mirror pair serves the simulated servers.
///
/// Decoding never traps: every input gives an envelope or a ``WireError``
/// (too large, malformed envelope, type 0, unknown type, wrong direction, malformed payload).
/// Encoding refuses what a peer would refuse, and a failed encode produces no bytes.
public enum WireCodec {
    /// The largest serialized envelope, in both directions (PROTOCOL.md §1). Everything a
    /// client sends stays within it.
    public static let maxEnvelopeBytes = 65_536

    /// The largest envelope a client accepts from a server: the protocol's limit and 1 KiB of
    /// headroom. A server may accept a send right at the limit and push it on with its own
    /// fields added (the upstream server's push of a maximal send is about 120 bytes over);
    /// refusing that frame would lose the message, which the server counts as delivered.
    public static let maxInboundEnvelopeBytes = maxEnvelopeBytes + 1_024

    /// The largest outbound `encrypted_payload`. A server's echo is up to ~100 bytes larger than
    /// the send, so anything bigger is refused when it is queued (PROTOCOL.md §9).
    public static let maxOutboundPayloadBytes = 65_000

    /// The WebSocket subprotocol a client must request.
    public static let subprotocol = "sovereign.v1"

    // MARK: Client side

    /// Decodes one binary WebSocket message from a server, up to ``maxInboundEnvelopeBytes``.
    ///
    /// - Throws: ``WireError`` with code ``WireError/Code/envelopeTooLarge`` (checked before
    ///   parsing), ``WireError/Code/malformedEnvelope``, ``WireError/Code/unspecifiedMessageType``,
    ///   ``WireError/Code/unknownMessageType``, ``WireError/Code/wrongDirection`` (a client
    ///   type) or ``WireError/Code/malformedPayload``.
    public static func decodeServerEnvelope(_ bytes: [UInt8]) throws(WireError) -> ServerEnvelope {
        let (type, requestID, payload) = try decodeEnvelope(bytes, limit: maxInboundEnvelopeBytes)
        guard let frame = try decodePayload(type, payload, as: ServerFrame.self) else {
            throw .wrongDirection(type, sentBy: "clients")
        }
        return ServerEnvelope(requestID: requestID, frame: frame)
    }

    /// Encodes a frame for a server.
    ///
    /// - Throws: ``WireError`` with code ``WireError/Code/payloadTooLarge`` for a
    ///   `MESSAGE_SEND` whose `encrypted_payload` is over ``maxOutboundPayloadBytes``, or
    ///   ``WireError/Code/envelopeTooLarge`` when the envelope is over ``maxEnvelopeBytes``.
    public static func encode(_ envelope: ClientEnvelope) throws(WireError) -> [UInt8] {
        if case .messageSend(let send) = envelope.frame {
            try validateOutboundPayload(count: send.encryptedPayload.count)
        }
        return try encodeEnvelope(envelope.frame.messageType, envelope.requestID) { try envelope.frame.serializedPayload() }
    }

    // MARK: Server side

    /// Decodes one binary WebSocket message from a client (for the simulated servers).
    ///
    /// - Throws: the same ``WireError``s as ``decodeServerEnvelope(_:)``, with
    ///   ``WireError/Code/wrongDirection`` for a server type.
    public static func decodeClientEnvelope(_ bytes: [UInt8]) throws(WireError) -> ClientEnvelope {
        let (type, requestID, payload) = try decodeEnvelope(bytes, limit: maxEnvelopeBytes)
        guard let frame = try decodePayload(type, payload, as: ClientFrame.self) else {
            throw .wrongDirection(type, sentBy: "servers")
        }
        return ClientEnvelope(requestID: requestID, frame: frame)
    }

    /// Encodes a frame for a client (for the simulated servers).
    ///
    /// - Throws: ``WireError`` with code ``WireError/Code/envelopeTooLarge`` when the envelope
    ///   is over ``maxEnvelopeBytes``.
    public static func encode(_ envelope: ServerEnvelope) throws(WireError) -> [UInt8] {
        try encodeEnvelope(envelope.frame.messageType, envelope.requestID) { try envelope.frame.serializedPayload() }
    }

    // MARK: Limits

    /// Refuses an outbound `encrypted_payload` of `count` bytes when it is over
    /// ``maxOutboundPayloadBytes``: call it before queueing a message.
    ///
    /// - Throws: ``WireError`` with code ``WireError/Code/payloadTooLarge``.
    public static func validateOutboundPayload(count: Int) throws(WireError) {
        guard count <= maxOutboundPayloadBytes else { throw .payloadTooLarge(size: count) }
    }

    // MARK: Envelope

    private static func decodeEnvelope(_ bytes: [UInt8], limit: Int) throws(WireError) -> (MessageType, String, [UInt8]) {
        // The limit is checked before any parsing.
        guard bytes.count <= limit else { throw .envelopeTooLarge(size: bytes.count, limit: limit) }
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: bytes)
        } catch {
            throw .malformedEnvelope("\(error)")
        }
        switch envelope.type {
        case .unspecified:
            throw .unspecifiedMessageType
        case .UNRECOGNIZED(let number):
            throw .unknownMessageType(number)
        default:
            return (envelope.type, envelope.requestID, [UInt8](envelope.payload))
        }
    }

    private static func decodePayload<Frame: FrameDecoding>(
        _ type: MessageType, _ payload: [UInt8], as: Frame.Type
    ) throws(WireError) -> Frame? {
        do {
            return try Frame.decode(type, payload: payload)
        } catch {
            throw .malformedPayload(type, "\(error)")
        }
    }

    private static func encodeEnvelope(
        _ type: MessageType, _ requestID: String, payload: () throws -> [UInt8]
    ) throws(WireError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            var envelope = Envelope()
            envelope.type = type
            envelope.requestID = requestID
            envelope.payload = Data(try payload())
            bytes = try envelope.serializedBytes()
        } catch {
            throw .malformedPayload(type, "cannot be encoded: \(error)")
        }
        guard bytes.count <= maxEnvelopeBytes else { throw .envelopeTooLarge(size: bytes.count) }
        return bytes
    }
}
