/// How ``ClientFrame`` and ``ServerFrame`` decode a payload, so ``WireCodec`` handles both
/// directions with one code path.
protocol FrameDecoding {
    /// Decodes `payload` as the message of `type`; `nil` when `type` belongs to the other
    /// direction. Throws when the bytes are not that message.
    static func decode(_ type: MessageType, payload: [UInt8]) throws -> Self?
}
