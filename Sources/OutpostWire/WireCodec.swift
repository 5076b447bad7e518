import Foundation
import SwiftProtobuf

/// Bytes ⇄ typed frames for Sovereign v1.
///
/// Binary only: one serialized `Envelope` per WebSocket message, at most
/// ``maxEnvelopeBytes`` in either direction. Unknown types and malformed payloads are
/// ``WireError``s, never a crash; a failed encode writes nothing.
public enum WireCodec {
    /// The largest serialized envelope, in both directions (PROTOCOL.md §1).
    public static let maxEnvelopeBytes = 65_536
    /// The largest outbound `encrypted_payload`: a server's echo is up to ~100 bytes larger than
    /// the send, so anything bigger is refused when it is queued (PROTOCOL.md §9).
    public static let maxOutboundPayloadBytes = 65_000

    /// The WebSocket subprotocol a client must request.
    public static let subprotocol = "sovereign.v1"

    // MARK: Client side

    /// Decodes a frame from the server.
    public static func decodeServerEnvelope(_ bytes: [UInt8]) throws(WireError) -> ServerEnvelope {
        let (type, requestID, payload) = try decodeEnvelope(bytes)
        guard let frame = try decodePayload(type, payload, as: ServerFrame.self) else {
            throw WireError(.wrongDirection, "\(type) is sent by clients, not servers")
        }
        return ServerEnvelope(requestID: requestID, frame: frame)
    }

    /// Encodes a frame for the server.
    public static func encode(_ envelope: ClientEnvelope) throws(WireError) -> [UInt8] {
        if case .messageSend(let send) = envelope.frame {
            try validateOutboundPayload(count: send.encryptedPayload.count)
        }
        return try encodeEnvelope(envelope.frame.messageType, envelope.requestID) { try envelope.frame.serializedPayload() }
    }

    // MARK: Server side (simulated servers)

    /// Decodes a frame from a client.
    public static func decodeClientEnvelope(_ bytes: [UInt8]) throws(WireError) -> ClientEnvelope {
        let (type, requestID, payload) = try decodeEnvelope(bytes)
        guard let frame = try decodePayload(type, payload, as: ClientFrame.self) else {
            throw WireError(.wrongDirection, "\(type) is sent by servers, not clients")
        }
        return ClientEnvelope(requestID: requestID, frame: frame)
    }

    /// Encodes a frame for a client.
    public static func encode(_ envelope: ServerEnvelope) throws(WireError) -> [UInt8] {
        try encodeEnvelope(envelope.frame.messageType, envelope.requestID) { try envelope.frame.serializedPayload() }
    }

    // MARK: Limits

    /// Refuses an outbound `encrypted_payload` over ``maxOutboundPayloadBytes``.
    public static func validateOutboundPayload(count: Int) throws(WireError) {
        guard count <= maxOutboundPayloadBytes else {
            throw WireError(.payloadTooLarge, "\(count) bytes; the limit is \(maxOutboundPayloadBytes)")
        }
    }

    // MARK: Envelope

    private static func decodeEnvelope(_ bytes: [UInt8]) throws(WireError) -> (MessageType, String, [UInt8]) {
        // The limit is checked before any parsing.
        guard bytes.count <= maxEnvelopeBytes else { throw .envelopeTooLarge(bytes.count) }
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: bytes)
        } catch {
            throw WireError(.malformedEnvelope, "\(error)")
        }
        switch envelope.type {
        case .unspecified:
            throw WireError(.unspecifiedMessageType, "type 0 is invalid")
        case .UNRECOGNIZED(let number):
            throw WireError(.unknownMessageType, "type \(number)")
        default:
            return (envelope.type, envelope.requestID, [UInt8](envelope.payload))
        }
    }

    private static func decodePayload<Frame>(
        _ type: MessageType, _ payload: [UInt8], as: Frame.Type
    ) throws(WireError) -> Frame? where Frame: FrameDecoding {
        do {
            return try Frame.decode(type, payload: payload)
        } catch {
            throw WireError(.malformedPayload, "\(type): \(error)")
        }
    }

    private static func encodeEnvelope(
        _ type: MessageType, _ requestID: String, payload: () throws -> [UInt8]
    ) throws(WireError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            let envelope = Envelope.with {
                $0.type = type
                $0.requestID = requestID
            }
            var withPayload = envelope
            withPayload.payload = Data(try payload())
            bytes = try withPayload.serializedBytes()
        } catch {
            throw WireError(.malformedPayload, "\(type) cannot be encoded: \(error)")
        }
        guard bytes.count <= maxEnvelopeBytes else { throw .envelopeTooLarge(bytes.count) }
        return bytes
    }
}

/// The two frame enums decode the same way.
protocol FrameDecoding {
    static func decode(_ type: MessageType, payload: [UInt8]) throws -> Self?
}

extension ClientFrame: FrameDecoding {}
extension ServerFrame: FrameDecoding {}
