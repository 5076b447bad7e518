import OutpostStore
import OutpostSync

/// News from one server, for the front end. Subscribe with ``OutpostClient/events()``.
public struct OutpostEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case serverAdded
        case serverRemoved
        case connectionStateChanged(ConnectionState)
        /// The connection (or an attempt to open one) ended: the close code, the transport
        /// error, the timeout or the refusal. Comes before the state change it causes.
        case disconnected(reason: DisconnectReason)
        /// The session token no longer works; the server stays in ``ConnectionState/authFailed``
        /// until ``OutpostClient/updateSessionToken(_:for:)`` supplies a new one.
        case authFailed(reason: String)
        /// New messages were committed (their ids, each named once: a redelivered message, or
        /// one a history page brings again, is not new): refresh what is on screen.
        case messagesStored([String])
        case outboxItemSent(clientMessageID: String, messageID: String)
        /// The server refused the message for good; it stays in the outbox as failed until the
        /// user retries, edits or cancels it.
        case outboxItemFailed(clientMessageID: String, failure: OutboxFailure)
        /// The message waited longer than its lifespan and will not be sent.
        case outboxItemExpired(clientMessageID: String)
        case delivered(messageID: String, to: String)
        case presence(userID: String, status: String)
        case gapOpened(id: Int64)
        case gapFilled(id: Int64)
        /// Catch-up after this authentication is complete (on a legacy server: the pending push
        /// was requested, without a gap guarantee).
        case caughtUp
        /// A frame for the front end itself (passkey challenges, MLS key packages …).
        case frame(type: Int, requestID: String, payload: [UInt8])
        /// A write to the server's partition failed (the reason). Nothing of what the server
        /// sent since the last commit was acknowledged: the connection was closed, and the
        /// server's session starts again from what is on disk after a short wait.
        case storageFailed(String)
        /// A frame from the server could not be decoded and was skipped; a message's id when
        /// it could be read (the message was acknowledged, so the server stops sending it).
        /// Everything after it still arrives.
        case messageSetAside(messageID: String?, reason: String)
        /// The subscriber fell behind by more than the stream's buffer and missed this many
        /// events (``OutpostEvent/server`` is `nil`): reload what is on screen.
        case eventsMissed(Int)
    }

    /// The server the news is about; `nil` only for ``Kind/eventsMissed(_:)``.
    public let server: ServerID?
    /// What happened.
    public let kind: Kind

    public init(server: ServerID, kind: Kind) {
        self.server = server
        self.kind = kind
    }

    private init(missed count: Int) {
        server = nil
        kind = .eventsMissed(count)
    }

    /// The marker a bounded event stream puts where it dropped `count` events.
    public static func missed(_ count: Int) -> OutpostEvent { OutpostEvent(missed: count) }

    public var description: String { "\(server.map { "\($0)" } ?? "client"): \(kind)" }
}

/// One server as the front end lists it.
public struct ServerInfo: Hashable, Sendable {
    /// Whether the server can be used.
    public enum Availability: Hashable, Sendable {
        case available
        /// Its partition cannot be opened (a damaged or missing file, a setup that never
        /// finished …): the reason says why. Nothing else is held up, and it can be removed.
        case unavailable(reason: String)
    }

    public let id: ServerID
    /// The canonical origin (`https://host[:port]`).
    public let origin: ServerOrigin
    public let availability: Availability
    /// From the discovery document (the host, when the server is unavailable).
    public let name: String
    /// From the discovery document: `mls`, `passkey`, `idempotent-send`, `history`, `sequence` …
    public let capabilities: [String]
    /// As RFC-0006 names them: Disconnected, Connecting, Authenticating, Connected,
    /// AuthFailed, Disconnecting.
    public let connectionState: ConnectionState
    /// Whether gaps are detected (`history`/`sequence`) or only the pending push is relied on
    /// (a legacy server: nothing the client does can recover a message the server dropped).
    public let gapGuarantee: GapGuarantee
    /// Messages waiting in the outbox (queued or in flight).
    public let pendingOutboxCount: Int
    /// Whether the server publishes `/.well-known/sovereign.json`; one that does not (the
    /// upstream Sovereign server) is taken for a legacy server with its WebSocket at `/ws`.
    public let hasDiscoveryDocument: Bool
    /// The latest failure of the server's connection or storage, kept after it recovers (compare
    /// ``ServerError/at`` with the time of the last connection to tell).
    public var lastError: ServerError?
    /// Connection attempts that failed since the last successful authentication.
    public var consecutiveFailures: Int = 0
    /// When the next connection attempt is due, while one waits for its backoff (or for
    /// storage to recover).
    public var nextRetryAt: Timestamp?

    public init(id: ServerID, origin: ServerOrigin, availability: Availability, name: String, capabilities: [String],
                connectionState: ConnectionState, gapGuarantee: GapGuarantee, pendingOutboxCount: Int,
                hasDiscoveryDocument: Bool = true) {
        self.id = id
        self.origin = origin
        self.availability = availability
        self.name = name
        self.capabilities = capabilities
        self.connectionState = connectionState
        self.gapGuarantee = gapGuarantee
        self.pendingOutboxCount = pendingOutboxCount
        self.hasDiscoveryDocument = hasDiscoveryDocument
    }
}

/// A failure of one server, and when it happened.
public struct ServerError: Hashable, Sendable, CustomStringConvertible {
    public let reason: DisconnectReason
    public let at: Timestamp

    public init(reason: DisconnectReason, at: Timestamp) {
        self.reason = reason
        self.at = at
    }

    /// The close code or the server's error code, when there was one.
    public var code: Int? { reason.closeCode.map(Int.init) }
    /// A sentence for the user.
    public var message: String { reason.message }
    public var description: String { reason.message }
}

/// What a front end hands over after its passkey ceremony with a server.
public struct ServerSignIn: Hashable, Sendable {
    public var sessionToken: String
    /// The user's id on the server, when known (the server tells it again at authentication).
    public var userID: String?
    public var passkeyCredentialID: [UInt8]?

    public init(sessionToken: String, userID: String? = nil, passkeyCredentialID: [UInt8]? = nil) {
        self.sessionToken = sessionToken
        self.userID = userID
        self.passkeyCredentialID = passkeyCredentialID
    }
}

/// One screenful of a conversation, oldest first, with markers where messages may be missing.
public struct ConversationPage: Hashable, Sendable {
    public enum Item: Hashable, Sendable {
        case message(Message)
        /// Messages between the neighbouring items are not stored yet (a persisted gap being
        /// filled). Opening the page asks the server's session to fill it now.
        case gap(GapRecord)
    }

    /// Oldest first.
    public var items: [Item]
    /// Pass this as `before` to load the previous page; `nil` when this page starts the
    /// conversation.
    public var previousPageBefore: MessagePosition?

    public init(items: [Item], previousPageBefore: MessagePosition?) {
        self.items = items
        self.previousPageBefore = previousPageBefore
    }

    /// The page's messages without the gap markers.
    public var messages: [Message] {
        items.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }
}
