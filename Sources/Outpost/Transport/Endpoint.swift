import Foundation

/// Where a connection goes: host, port, TLS or not, and the request path. Parsing enforces the
/// one rule about plaintext: `ws` and `http` are allowed to loopback hosts only.
struct Endpoint: Hashable, Sendable {
    let host: String
    let port: Int
    let usesTLS: Bool
    let pathAndQuery: String

    /// A `ws://` or `wss://` URL (from the discovery document).
    init(websocketURL url: String) throws(OutpostError) {
        try self.init(url: url, secureScheme: "wss", plainScheme: "ws", defaultPath: "/ws")
    }

    /// An `http://` or `https://` URL (discovery).
    init(httpURL url: String) throws(OutpostError) {
        try self.init(url: url, secureScheme: "https", plainScheme: "http", defaultPath: "/")
    }

    private init(url: String, secureScheme: String, plainScheme: String, defaultPath: String) throws(OutpostError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw OutpostError(.invalidURL, "\(url) is not a URL")
        }
        switch scheme {
        case secureScheme: usesTLS = true
        case plainScheme: usesTLS = false
        default: throw OutpostError(.invalidURL, "\(url): the scheme must be \(secureScheme) (or \(plainScheme) on loopback)")
        }
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard usesTLS || Self.isLoopback(bareHost) else {
            throw OutpostError(.insecureURL, "\(url): plain \(plainScheme) is allowed to loopback hosts only; use \(secureScheme)")
        }
        self.host = bareHost
        port = components.port ?? (usesTLS ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? defaultPath : components.percentEncodedPath
        pathAndQuery = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
    }

    /// `host[:port]` for the HTTP `Host` header.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (usesTLS ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The TLS server name: a host name, never an IP address (RFC 6066).
    var serverNameIndication: String? {
        host.allSatisfy({ $0.isNumber || $0 == "." }) || host.contains(":") ? nil : host
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
