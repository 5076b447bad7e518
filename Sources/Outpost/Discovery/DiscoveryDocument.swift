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

    public init(name: String, version: String, websocketURL: String, registration: String? = nil,
                iconURL: String? = nil, capabilities: [String] = []) {
        self.name = name
        self.version = version
        self.websocketURL = websocketURL
        self.registration = registration
        self.iconURL = iconURL
        self.capabilities = capabilities
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
