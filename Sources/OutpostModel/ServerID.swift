/// The identity of one server in this data directory: the keyed BLAKE2b hash of its canonical
/// origin, in hex. It is also the name of the server's partition directory, so the directory
/// name reveals nothing to someone who guesses a host but lacks the key.
public struct ServerID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    public var description: String { String(hex.prefix(12)) }

    public static func < (lhs: ServerID, rhs: ServerID) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        hex = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
