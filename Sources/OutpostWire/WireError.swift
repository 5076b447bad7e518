/// Why bytes could not become a frame, or a frame could not become bytes.
///
/// A struct with static members (the swift-nio style) rather than an enum, so adding a kind of
/// error never breaks a caller: match on ``code``, read ``detail`` for the specifics.
///
/// ```swift
/// do {
///     let envelope = try WireCodec.decodeServerEnvelope(bytes)
/// } catch where error.code == .unknownMessageType {
///     // a newer server: ignore the frame
/// }
/// ```
///
/// Decoding never traps: every input gives a frame or one of these.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of a ``WireError``.
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

        /// A serialized envelope over ``WireCodec/maxEnvelopeBytes``, in either direction.
        public static let envelopeTooLarge = Code(base: .envelopeTooLarge)
        /// An outbound `encrypted_payload` over ``WireCodec/maxOutboundPayloadBytes``, refused
        /// when the message is queued.
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        /// Bytes that are not a protobuf `Envelope`.
        public static let malformedEnvelope = Code(base: .malformedEnvelope)
        /// An envelope of type `MESSAGE_TYPE_UNSPECIFIED` (0), which is invalid.
        public static let unspecifiedMessageType = Code(base: .unspecifiedMessageType)
        /// An envelope type number the protocol does not define.
        public static let unknownMessageType = Code(base: .unknownMessageType)
        /// A payload that does not decode as the message of its envelope's type.
        public static let malformedPayload = Code(base: .malformedPayload)
        /// A client-to-server type arriving at a client, or a server-to-client type at a server.
        public static let wrongDirection = Code(base: .wrongDirection)
        /// A text WebSocket frame: the protocol is binary only (servers close with 1003).
        public static let textFrame = Code(base: .textFrame)

        /// A short, stable name of the kind.
        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// What exactly went wrong, for logs and `ERROR` messages.
    public let detail: String

    /// An error of kind `code`.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `"<code>: <detail>"`.
    public var description: String { "\(code): \(detail)" }

    // MARK: Constructors

    /// An envelope of `size` serialized bytes, over ``WireCodec/maxEnvelopeBytes``.
    public static func envelopeTooLarge(size: Int, limit: Int = WireCodec.maxEnvelopeBytes) -> WireError {
        WireError(.envelopeTooLarge, "\(size) bytes; the limit is \(limit)")
    }

    /// An outbound `encrypted_payload` of `size` bytes, over ``WireCodec/maxOutboundPayloadBytes``.
    public static func payloadTooLarge(size: Int) -> WireError {
        WireError(.payloadTooLarge, "\(size) bytes; the limit is \(WireCodec.maxOutboundPayloadBytes)")
    }

    /// Bytes that are not an `Envelope`, with the parser's reason.
    public static func malformedEnvelope(_ reason: String) -> WireError {
        WireError(.malformedEnvelope, reason)
    }

    /// An envelope of type `MESSAGE_TYPE_UNSPECIFIED`.
    public static let unspecifiedMessageType = WireError(.unspecifiedMessageType, "type 0 is invalid")

    /// An envelope whose type number, `rawValue`, the protocol does not define.
    public static func unknownMessageType(_ rawValue: Int) -> WireError {
        WireError(.unknownMessageType, "type \(rawValue)")
    }

    /// A payload that is not the message of `type`, with the parser's reason.
    public static func malformedPayload(_ type: MessageType, _ reason: String) -> WireError {
        WireError(.malformedPayload, "\(type) (\(type.rawValue)): \(reason)")
    }

    /// A frame of `type` travelling in the wrong direction; `sentBy` names who may send it.
    public static func wrongDirection(_ type: MessageType, sentBy: String) -> WireError {
        WireError(.wrongDirection, "\(type) (\(type.rawValue)) is sent by \(sentBy) only")
    }

    /// A text WebSocket frame, for transports to report.
    public static let textFrame = WireError(.textFrame, "text frames are not part of the protocol; answer with close 1003")
}
