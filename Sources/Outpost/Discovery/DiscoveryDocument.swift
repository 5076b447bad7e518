import Foundation
import OutpostJSONSchema
import OutpostSchemas

/// What a Sovereign server publishes at `/.well-known/sovereign.json`.
///
/// Parsing validates the bytes against `Schemas/json/discovery.schema.json` first, so a bad
/// document is refused with the exact field that is wrong.
public struct DiscoveryDocument: Hashable, Sendable {
    public var name: String
    public var version: String
    /// Where to open the WebSocket (`wss://…`; `ws://` on loopback only).
    public var websocketURL: String
    /// `open`, `invite` or `closed`, when the server says.
    public var registration: String?
    public var iconURL: String?
    /// `mls`, `passkey`, and the extensions `idempotent-send`, `history`, `sequence`. A server
    /// that lists none of the extensions is a legacy server.
    public var capabilities: [String]
    /// `false` when the server publishes no document and this one was made up for it
    /// (``absent(for:)``).
    public var isPublished: Bool

    public init(name: String, version: String, websocketURL: String, registration: String? = nil,
                iconURL: String? = nil, capabilities: [String] = [], isPublished: Bool = true) {
        self.name = name
        self.version = version
        self.websocketURL = websocketURL
        self.registration = registration
        self.iconURL = iconURL
        self.capabilities = capabilities
        self.isPublished = isPublished
    }

    /// What a server that publishes no discovery document is (PROTOCOL.md §7): a legacy server
    /// (`mls` and `passkey`, no extension) with its WebSocket at `/ws` on the same origin (`wss`
    /// for `https`), named after its host. The upstream Sovereign server is one.
    public static func absent(for origin: ServerOrigin) -> DiscoveryDocument {
        let secure = origin.value.hasPrefix("https://")
        let authority = origin.value.drop { $0 != "/" }.dropFirst(2)
        return DiscoveryDocument(name: origin.host, version: "", websocketURL: (secure ? "wss://" : "ws://") + authority + "/ws",
                                 capabilities: ["mls", "passkey"], isPublished: false)
    }

    private static let schema: Result<JSONSchema, OutpostError> = {
        do {
            return .success(try JSONSchema(data: SchemaCatalog.jsonSchema(named: "discovery")))
        } catch {
            return .failure(OutpostError(.invalidDiscoveryDocument, "the discovery schema does not load: \(error)"))
        }
    }()

    private struct Wire: Decodable {
        var name: String
        var version: String
        var websocket_url: String
        var registration: String?
        var icon_url: String?
        var capabilities: [String]?
    }

    /// Parses and validates a discovery document, and checks that its WebSocket URL is one the
    /// transport may use (`wss`, or `ws` to a loopback host).
    public init(json data: Data, source: String) throws(OutpostError) {
        let violations = try Self.schema.get().validate(data)
        guard violations.isEmpty else {
            throw OutpostError(.invalidDiscoveryDocument,
                               "\(source): " + violations.map(\.description).joined(separator: "; "))
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: data)
        } catch {
            throw OutpostError(.invalidDiscoveryDocument, "\(source): \(error)")
        }
        _ = try Endpoint(websocketURL: wire.websocket_url)
        self.init(name: wire.name, version: wire.version, websocketURL: wire.websocket_url,
                  registration: wire.registration, iconURL: wire.icon_url, capabilities: wire.capabilities ?? [])
    }
}
