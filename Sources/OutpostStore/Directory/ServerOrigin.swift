import Foundation

/// The canonical origin of a Sovereign server: lowercase scheme and host, the port only when it
/// is not the scheme's default, no path. `sovereign.example.com`, `HTTPS://Sovereign.Example.com/`
/// and `https://sovereign.example.com:443` are one origin.
public struct ServerOrigin: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// `https://host[:port]` (or `http://` for loopback tests).
    public let value: String

    public var description: String { value }

    /// Parses what a user typed: a bare host, or an http(s)/ws(s) URL.
    public init(parsing text: String) throws(StoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidServerURL(text, "empty") }
        let withScheme = trimmed.contains("://") ? trimmed : "https://" + trimmed
        guard let components = URLComponents(string: withScheme) else {
            throw .invalidServerURL(text, "not a URL")
        }
        guard let scheme = components.scheme?.lowercased() else {
            throw .invalidServerURL(text, "no scheme")
        }
        let webScheme: String
        switch scheme {
        case "https", "wss": webScheme = "https"
        case "http", "ws": webScheme = "http"
        default: throw .invalidServerURL(text, "scheme \(scheme) is not http(s) or ws(s)")
        }
        guard let host = components.host?.lowercased(), !host.isEmpty else {
            throw .invalidServerURL(text, "no host")
        }
        guard components.user == nil, components.password == nil else {
            throw .invalidServerURL(text, "credentials in the URL are not accepted")
        }
        let defaultPort = webScheme == "https" ? 443 : 80
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        if let port = components.port, port != defaultPort {
            guard (1...65_535).contains(port) else { throw .invalidServerURL(text, "port \(port) out of range") }
            value = "\(webScheme)://\(hostPart):\(port)"
        } else {
            value = "\(webScheme)://\(hostPart)"
        }
    }

    /// The host name (without brackets for IPv6).
    public var host: String {
        URLComponents(string: value)?.host ?? value
    }

    public static func < (lhs: ServerOrigin, rhs: ServerOrigin) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try ServerOrigin(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
