/// Why bytes could not become a frame, or a frame could not become bytes.
///
/// A struct with static members (the swift-nio style), so new cases never break a caller that
/// switches on ``code``. Decoding never traps: every input gives a frame or one of these.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case envelopeTooLarge = "envelope too large"
            case payloadTooLarge = "payload too large"
            case malformedEnvelope = "malformed envelope"
            case unspecifiedMessageType = "unspecified message type"
            case unknownMessageType = "unknown message type"
            case malformedPayload = "malformed payload"
            case wrongDirection = "wrong direction"
            case textFrame = "text frame"
        }

        fileprivate let base: Base

        /// An envelope over 65,536 bytes, in either direction.
        public static let envelopeTooLarge = Code(base: .envelopeTooLarge)
        /// An outbound `encrypted_payload` over 65,000 bytes (refused at enqueue time).
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        /// Bytes that are not a protobuf `Envelope`.
        public static let malformedEnvelope = Code(base: .malformedEnvelope)
        /// `MESSAGE_TYPE_UNSPECIFIED` (0).
        public static let unspecifiedMessageType = Code(base: .unspecifiedMessageType)
        /// A type number the protocol does not define.
        public static let unknownMessageType = Code(base: .unknownMessageType)
        /// A payload that does not decode as its type's message.
        public static let malformedPayload = Code(base: .malformedPayload)
        /// A client-to-server type arriving at the client, or the reverse.
        public static let wrongDirection = Code(base: .wrongDirection)
        /// A text WebSocket frame (the protocol is binary only; servers answer with close 1003).
        public static let textFrame = Code(base: .textFrame)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }

    static func envelopeTooLarge(_ size: Int) -> WireError {
        WireError(.envelopeTooLarge, "\(size) bytes; the limit is \(WireCodec.maxEnvelopeBytes)")
    }
}
