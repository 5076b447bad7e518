import Foundation

/// What the client keeps about a server it talks to, as the front end set it up from
/// discovery (`/.well-known/sovereign.json`). Stored as JSON inside the encrypted partition;
/// its JSON Schema is `Schemas/json/server-config.schema.json`.
public struct ServerConfig: Codable, Hashable, Sendable {
    public var name: String
    public var websocketURL: String
    public var iconURL: String?
    public var registration: String?
    public var capabilities: [String]
    public var version: String?
    /// The server publishes no discovery document: this configuration is what PROTOCOL.md §7
    /// makes of such a server (a legacy server with its WebSocket at `/ws`).
    public var documentAbsent: Bool?

    public init(name: String, websocketURL: String, iconURL: String? = nil, registration: String? = nil,
                capabilities: [String] = [], version: String? = nil, documentAbsent: Bool? = nil) {
        self.name = name
        self.websocketURL = websocketURL
        self.iconURL = iconURL
        self.registration = registration
        self.capabilities = capabilities
        self.version = version
        self.documentAbsent = documentAbsent
    }

    enum CodingKeys: String, CodingKey {
        case name, registration, capabilities, version
        case websocketURL = "websocket_url"
        case iconURL = "icon_url"
        case documentAbsent = "document_absent"
    }
}

/// A server's credentials. Only ``Partition`` hands these out, and only its own.
public struct ServerCredentials: Hashable, Sendable {
    public var sessionToken: String?
    public var passkeyCredentialID: [UInt8]?
    public var serverConfig: ServerConfig?
}

extension Partition {
    private enum CredentialName {
        static let sessionToken = "session_token"
        static let passkeyCredentialID = "passkey_credential_id"
        static let serverConfig = "server_config"
    }

    /// This server's credentials.
    public func credentials() throws(StoreError) -> ServerCredentials {
        try read { partition throws(StoreError) in
            let statement = try partition.messages.statement("SELECT name, value FROM credentials ORDER BY name")
            var credentials = ServerCredentials()
            while try statement.step() {
                let value = statement.blob(1)
                switch statement.text(0) {
                case CredentialName.sessionToken:
                    credentials.sessionToken = String(decoding: value, as: UTF8.self)
                case CredentialName.passkeyCredentialID:
                    credentials.passkeyCredentialID = value
                case CredentialName.serverConfig:
                    credentials.serverConfig = try? JSONDecoder().decode(ServerConfig.self, from: Data(value))
                default:
                    break
                }
            }
            return credentials
        }
    }

    /// Stores the session token (after `AUTH_SUCCESS`, or a new one after AuthFailed); `nil`
    /// deletes it.
    public func setSessionToken(_ token: String?, now: Timestamp) throws(StoreError) {
        try setCredential(CredentialName.sessionToken, token.map { Array($0.utf8) }, now: now)
    }

    /// Stores the WebAuthn credential id from the front end's passkey ceremony.
    public func setPasskeyCredentialID(_ credentialID: [UInt8]?, now: Timestamp) throws(StoreError) {
        try setCredential(CredentialName.passkeyCredentialID, credentialID, now: now)
    }

    /// Stores the server's configuration.
    public func setServerConfig(_ config: ServerConfig, now: Timestamp) throws(StoreError) {
        try setCredential(CredentialName.serverConfig, JSONFiles.encode(config), now: now)
    }

    private func setCredential(_ name: String, _ value: [UInt8]?, now: Timestamp) throws(StoreError) {
        try write("setCredential") { partition throws(StoreError) in
            try Self.writeCredential(name, value, into: partition.messages, now: now)
        }
    }

    private static func writeCredential(_ name: String, _ value: [UInt8]?, into database: Database, now: Timestamp) throws(StoreError) {
        if let value {
            try database.statement("INSERT OR REPLACE INTO credentials (name, value, updated_at_us) VALUES (?, ?, ?)")
                .bind(.text(name), .blob(value), .integer(now.microseconds)).run()
        } else {
            try database.statement("DELETE FROM credentials WHERE name = ?").bind(.text(name)).run()
        }
    }

    /// Writes a new server's setup into its fresh `messages.db`, in one transaction, before the
    /// server is listed.
    static func writeSetup(_ setup: ServerSetup, into database: Database, now: Timestamp) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            if let config = setup.config {
                try writeCredential(CredentialName.serverConfig, JSONFiles.encode(config), into: database, now: now)
            }
            if let token = setup.sessionToken {
                try writeCredential(CredentialName.sessionToken, Array(token.utf8), into: database, now: now)
            }
            if let credential = setup.passkeyCredentialID {
                try writeCredential(CredentialName.passkeyCredentialID, credential, into: database, now: now)
            }
            if let userID = setup.ownUserID { try writeMetadata(ServerMetadataKey.userID, Array(userID.utf8), into: database) }
        }
    }
}
