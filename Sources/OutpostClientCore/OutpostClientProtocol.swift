/// What a front end's own code asks of Outpost: its servers, the outbox, the unified
/// conversation list, pages of messages, events, and the app's lifecycle.
///
/// `OutpostClient` (in `Outpost`) conforms: that is what the app links. `SimulatedClient` (in
/// `OutpostTesting`) conforms too, over the same client core in a simulated world with virtual
/// time. Write view models and other app logic against this protocol and the same code runs in
/// the app and, deterministically, in the app's tests:
///
/// ```swift
/// @MainActor final class InboxModel {
///     let client: any OutpostClientProtocol
///     var waitingToSend = 0
///     func refresh() async {
///         waitingToSend = await client.servers().reduce(0) { $0 + $1.pendingOutboxCount }
///     }
/// }
/// ```
public protocol OutpostClientProtocol: Sendable {
    /// Every server, unavailable ones included, in the order of their ids.
    func servers() async -> [ServerInfo]
    /// One server, or `nil` when there is none with `id`.
    func server(_ id: ServerID) async -> ServerInfo?
    /// Removes a server and destroys its partition (crash-safe).
    func removeServer(_ id: ServerID) async throws(OutpostError)
    /// The connection state of one server now, then every change.
    func connectionStates(of id: ServerID) async -> AsyncStream<ConnectionState>
    /// Every event of every server, from now on.
    func events() async -> AsyncStream<OutpostEvent>
    /// New messages from other people, one value per server and commit.
    func notifications() async -> AsyncStream<MessageNotification>
    /// A new session token for a server that reported `authFailed`.
    func updateSessionToken(_ token: String, for id: ServerID) async throws(OutpostError)

    /// Queues a message durably; it is sent when the server is reachable.
    @discardableResult
    func send(_ payload: [UInt8], to conversationID: String, on server: ServerID, messageType: String,
              lifespan: Duration?) async throws(OutpostError) -> OutboxItem
    /// One server's outbox in FIFO order, optionally only the items in `states`.
    func outbox(on server: ServerID, states: Set<OutboxState>?) async throws(OutpostError) -> [OutboxItem]
    /// Queues a failed or expired item again.
    func retry(_ clientMessageID: String, on server: ServerID) async throws(OutpostError)
    /// Cancels an item that has never been on the wire.
    func cancel(_ clientMessageID: String, on server: ServerID) async throws(OutpostError)

    /// The unified conversation list, by last activity.
    func conversations(limit: Int, servers: Set<ServerID>?) async throws(OutpostError) -> [UnifiedConversation]
    /// The unified conversation list now, then again after every change.
    func conversationList(limit: Int, servers: Set<ServerID>?) async -> AsyncStream<[UnifiedConversation]>
    /// One page of a conversation, oldest first, with gap markers.
    func messages(in conversationID: String, on server: ServerID, before: MessagePosition?,
                  limit: Int) async throws(OutpostError) -> ConversationPage
    /// Marks a conversation read, up to `position` or everything.
    func markRead(_ conversationID: String, on server: ServerID, upTo position: MessagePosition?) async throws(OutpostError)

    /// The app went to the background.
    func didEnterBackground() async
    /// The app is in the foreground again.
    func willEnterForeground() async
    /// The device lost its network.
    func networkLost() async
    /// The network is back.
    func networkRestored() async
    /// Low-power mode on or off.
    func setLowPowerMode(_ isOn: Bool) async
    /// A redacted snapshot of every server for a bug report.
    func diagnostics() async -> ClientDiagnostics
}

extension OutpostClientProtocol {
    /// Queues a `text` message with the default lifespan.
    @discardableResult
    public func send(_ payload: [UInt8], to conversationID: String, on server: ServerID) async throws(OutpostError) -> OutboxItem {
        try await send(payload, to: conversationID, on: server, messageType: "text", lifespan: nil)
    }

    /// One server's whole outbox in FIFO order.
    public func outbox(on server: ServerID) async throws(OutpostError) -> [OutboxItem] {
        try await outbox(on: server, states: nil)
    }

    /// The first 50 conversations of every server, by last activity.
    public func conversations() async throws(OutpostError) -> [UnifiedConversation] {
        try await conversations(limit: 50, servers: nil)
    }

    /// The first 50 conversations of every server now, then again after every change.
    public func conversationList() async -> AsyncStream<[UnifiedConversation]> {
        await conversationList(limit: 50, servers: nil)
    }

    /// The newest page of 50 messages of a conversation.
    public func messages(in conversationID: String, on server: ServerID) async throws(OutpostError) -> ConversationPage {
        try await messages(in: conversationID, on: server, before: nil, limit: 50)
    }

    /// Marks everything that has arrived in a conversation read.
    public func markRead(_ conversationID: String, on server: ServerID) async throws(OutpostError) {
        try await markRead(conversationID, on: server, upTo: nil)
    }
}
