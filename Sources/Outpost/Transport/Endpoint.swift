import Foundation
import NIOSSL

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

    /// Whether `host` names this machine beyond doubt: an IPv4 literal in `127.0.0.0/8`, the
    /// IPv6 literal `::1` (in any spelling `inet_pton` reads), or the name `localhost`.
    ///
    /// A name is not resolved: `127.attacker.example` or `127.0.0.1.nip.io` are ordinary DNS
    /// names that may point anywhere. IPv4 literals are read by `inet_pton`, which takes four
    /// decimal parts only, so `0x7f.1`, `0177.0.0.1` or `127.1` (which `inet_aton` would read
    /// as loopback, or not) are refused rather than guessed at. IPv4-mapped IPv6 addresses
    /// (`::ffff:127.0.0.1`) are refused too: write `127.0.0.1`.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, host, &ipv4) == 1 {
            return withUnsafeBytes(of: &ipv4) { $0.first } == 127
        }
        var ipv6 = in6_addr()
        if inet_pton(AF_INET6, host, &ipv6) == 1 {
            return withUnsafeBytes(of: &ipv6) { Array($0) } == Array(repeating: 0, count: 15) + [1]
        }
        return false
    }
}

extension TLSConfiguration {
    /// The oldest TLS version any client connection accepts: 1.0 and 1.1 are deprecated (RFC
    /// 8996).
    static let minimumClientVersion = TLSVersion.tlsv12

    /// A client configuration with a minimum of TLS 1.2 (the library's own default is 1.0).
    public static func makeOutpostClientConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = minimumClientVersion
        return configuration
    }

    /// This configuration with TLS 1.0 and 1.1 refused, whatever a caller set.
    var withModernMinimum: TLSConfiguration {
        var configuration = self
        if configuration.minimumTLSVersion == .tlsv1 || configuration.minimumTLSVersion == .tlsv11 {
            configuration.minimumTLSVersion = Self.minimumClientVersion
        }
        return configuration
    }
}
