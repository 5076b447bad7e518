import Foundation
import SwiftProtobuf

/// What can still be read from a server frame that did not decode.
///
/// A server (or a sender whose bytes the server relays) can produce a message no decoder
/// accepts: a string field that is not UTF-8, a field with the wrong wire type. Dropping the
/// connection over it would bring the same frame back after every login; a client sets it aside
/// instead, and to do that it needs the few fields that say which message it was and where it
/// sits in the stream. ``WireCodec/salvage(_:)`` reads those fields straight from the protobuf
/// wire format, skipping whatever is malformed.
public struct SalvagedFrame: Hashable, Sendable {
    public enum Content: Hashable, Sendable {
        /// A `MESSAGE_RECEIVE` whose payload does not decode.
        case message(SalvagedMessage)
        /// A `HISTORY_RESPONSE` whose messages were decoded one by one: the ones that decode,
        /// and what could be read of the others, in page order.
        case historyPage([HistoryPageEntry], hasMore: Bool)
        /// Anything else: nothing worth recovering.
        case unreadable
    }

    /// The envelope's type, when the envelope itself could be read.
    public var messageType: MessageType?
    public var requestID: String
    public var content: Content
}

/// The identifying fields of a `MESSAGE_RECEIVE` that does not decode.
public struct SalvagedMessage: Hashable, Sendable {
    public var messageID: String?
    /// `server_timestamp` (Unix µs).
    public var serverTimestamp: Int64?
    /// `sequence` (extension `sequence`).
    public var sequence: UInt64?

    public init(messageID: String? = nil, serverTimestamp: Int64? = nil, sequence: UInt64? = nil) {
        self.messageID = messageID
        self.serverTimestamp = serverTimestamp
        self.sequence = sequence
    }
}

/// One message of a salvaged history page.
public enum HistoryPageEntry: Hashable, Sendable {
    case message(MessageReceive)
    case setAside(SalvagedMessage)
}

extension WireCodec {
    /// Reads what it can of a server frame that ``decodeServerEnvelope(_:)`` refused. Never
    /// throws and never traps; oversized input is not read at all.
    public static func salvage(_ bytes: [UInt8]) -> SalvagedFrame {
        var frame = SalvagedFrame(messageType: nil, requestID: "", content: .unreadable)
        guard bytes.count <= maxInboundEnvelopeBytes else { return frame }
        var payload: ArraySlice<UInt8>?
        for field in ProtobufFields(bytes[...]) {
            switch (field.number, field.value) {
            case (1, .varint(let type)): frame.messageType = MessageType(rawValue: Int(truncatingIfNeeded: type))
            case (2, .bytes(let text)): frame.requestID = String(bytes: text, encoding: .utf8) ?? ""
            case (3, .bytes(let bytes)): payload = bytes
            default: continue
            }
        }
        guard let payload else { return frame }
        switch frame.messageType {
        case .messageReceive?:
            frame.content = .message(salvageMessage(payload))
        case .historyResponse?:
            var entries: [HistoryPageEntry] = []
            var hasMore = false
            for field in ProtobufFields(payload) {
                switch (field.number, field.value) {
                case (1, .bytes(let item)):
                    if let message = try? MessageReceive(serializedBytes: Array(item)) {
                        entries.append(.message(message))
                    } else {
                        entries.append(.setAside(salvageMessage(item)))
                    }
                case (2, .varint(let flag)):
                    hasMore = flag != 0
                default:
                    continue
                }
            }
            frame.content = .historyPage(entries, hasMore: hasMore)
        default:
            break
        }
        return frame
    }

    private static func salvageMessage(_ bytes: ArraySlice<UInt8>) -> SalvagedMessage {
        var message = SalvagedMessage()
        for field in ProtobufFields(bytes) {
            switch (field.number, field.value) {
            case (1, .bytes(let id)): message.messageID = String(bytes: id, encoding: .utf8)
            case (5, .varint(let timestamp)): message.serverTimestamp = Int64(bitPattern: timestamp)
            case (8, .varint(let sequence)): message.sequence = sequence
            default: continue
            }
        }
        return message
    }
}

/// The fields of a serialized protobuf message, read from the wire format; reading stops at the
/// first field that cannot be read (a truncated value, a group, an unknown wire type).
private struct ProtobufFields: Sequence, IteratorProtocol {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed
    }

    struct Field {
        let number: UInt64
        let value: Value
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    mutating func next() -> Field? {
        guard let tag = readVarint() else { return nil }
        let number = tag >> 3
        switch tag & 7 {
        case 0:
            guard let value = readVarint() else { return nil }
            return Field(number: number, value: .varint(value))
        case 1, 5:
            let width = tag & 7 == 1 ? 8 : 4
            guard bytes.count >= width else { return nil }
            bytes = bytes.dropFirst(width)
            return Field(number: number, value: .fixed)
        case 2:
            guard let length = readVarint(), length <= UInt64(bytes.count) else { return nil }
            let value = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return Field(number: number, value: .bytes(value))
        default:
            return nil
        }
    }

    private mutating func readVarint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.first, shift < 64 {
            bytes = bytes.dropFirst()
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
