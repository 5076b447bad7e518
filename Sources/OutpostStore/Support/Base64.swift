import Foundation

/// Standard base64 for the binary fields of the JSON files the store writes.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    static func decode<Key: CodingKey>(
        _ text: String, in container: KeyedDecodingContainer<Key>, key: Key
    ) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not base64")
        }
        return [UInt8](data)
    }
}
