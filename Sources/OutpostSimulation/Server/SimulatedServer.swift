import Foundation
import OutpostStore
import OutpostSync
import OutpostWire

/// How a simulated server behaves: the presets. A server can also offer any other subset of
/// the extensions (``SimulatedServer/Configuration/init(extensions:)``).
public enum ServerBehaviour: String, Hashable, Sendable, Codable, CaseIterable {
    /// The base protocol only: pending push on authentication, no deduplication, wall-clock
    /// timestamps, and the 256-slot send buffer that silently drops pushes (PROTOCOL.md §5).
    case legacy
    /// All three extensions: `idempotent-send`, `history`, `sequence`.
    case extended
    /// The upstream Sovereign server as it was observed (PROTOCOL.md §10): no discovery
    /// document, no extension, one push registration per user for the newest connection that
    /// any closing connection of the user drops (a newer one goes deaf until it logs in again),
    /// no copy to the sender's other devices, pending pushes ordered by timestamp only and
    /// without `message_type`, counted delivered once queued (possibly before `AUTH_SUCCESS`),
    /// `AUTH_ERROR 1001` for every credential problem and 9001 for its own faults without
    /// closing, 1009 for a client envelope over 65,536 bytes while its own pushes may be about
    /// 120 bytes over, error 3001 for what it cannot read or does not know, 5001 for an empty
    /// key package and 5005 when a user has none left (each is handed out once),
    /// `MESSAGE_DELIVERED` on every ACK, no rate limit, no connection limit, and no close frame
    /// when it stops.
    case upstream
}

extension ServerCapabilities {
    /// `legacy`, `extended`, or the extensions offered (`history+sequence` …).
    public var behaviourName: String {
        if isEmpty { return ServerBehaviour.legacy.rawValue }
        if self == .all { return ServerBehaviour.extended.rawValue }
        return extensionNames.joined(separator: "+")
    }

    /// The capability names of the extensions, in a fixed order.
    public var extensionNames: [String] {
        [(ServerCapabilities.idempotentSend, "idempotent-send"), (.history, "history"), (.sequence, "sequence")]
            .filter { contains($0.0) }.map(\.1)
    }
}

/// A Sovereign server, simulated, speaking PROTOCOL.md to simulated connections. Sans-IO like
/// the client core: it takes frames with an explicit `now` and returns what to send or close.
///
/// The server's stored messages are the ground truth the checker compares the client against.
public final class SimulatedServer {
    public struct Configuration: Hashable, Sendable {
        /// The extensions the server offers; none is a legacy server.
        public var extensions: ServerCapabilities
        /// Behaves as the upstream server was observed to (``ServerBehaviour/upstream``).
        public var isUpstream = false
        /// Server wall clock minus simulated time, in µs.
        public var clockSkew: Int64 = 0
        /// Frames a connection can have queued before a push is dropped (legacy weakness).
        public var sendBufferSlots = 256
        public var rateLimitPerSecond = 30.0
        public var rateLimitBurst = 10.0
        public var sessionLifetime: Int64 = Micros.seconds(30 * 24 * 3600)
        public var maxConnectionsPerUser = 5
        /// The largest `encrypted_payload` accepted; larger sends get ERROR 3003.
        public var maxPayloadBytes = WireCodec.maxOutboundPayloadBytes
        /// The resolution of the server's timestamps, in µs. Above 1, a server with `history`
        /// stamps messages stored within one tick alike (its timestamps never decrease, but
        /// repeat): the history cursor's pair (`server_timestamp`, `message_id`) must then
        /// break the ties, across page boundaries too.
        public var timestampResolution: Int64 = 1

        public init(behaviour: ServerBehaviour) {
            extensions = behaviour == .extended ? .all : []
            if behaviour == .upstream {
                isUpstream = true
                // It takes a send up to the envelope limit (and pushes it on, a little over).
                maxPayloadBytes = WireCodec.maxEnvelopeBytes
            }
        }

        public init(extensions: ServerCapabilities) {
            self.extensions = extensions
        }

        /// `legacy`, `extended`, `upstream`, or the extensions offered.
        public var behaviourName: String { isUpstream ? ServerBehaviour.upstream.rawValue : extensions.behaviourName }
    }

    /// What the server does to the network.
    public enum Output: Hashable, Sendable {
        /// A frame; `messageIDs` are the messages it carries (a push, an echo, a history page),
        /// for the checker's accounting.
        case send(connection: UInt64, bytes: [UInt8], messageIDs: [String] = [])
        /// Closes the connection; `nil`: without a close frame (the process died).
        case close(connection: UInt64, code: UInt16?)
    }

    /// A message as the server stored it.
    public struct StoredMessage: Hashable, Sendable {
        public let messageID: String
        public let conversationID: String
        public let senderID: String
        public let serverTimestamp: Int64
        public let payload: [UInt8]
        public let messageType: String
        public let clientMessageID: String
        /// Sent as a frame no decoder accepts (a string field that is not UTF-8).
        public let isPoison: Bool
    }

    private struct Connection {
        var userID: String?
        var authenticatedAt: Timestamp?
        var tokens: Double
        var lastRefill: Timestamp
        /// Frames sent to this connection that the network has not delivered yet.
        var queuedFrames = 0
    }

    private struct Delivery {
        let sequence: UInt64
        let messageIndex: Int
    }

    public let name: String
    public private(set) var configuration: Configuration
    public var capabilities: [String] { ["mls", "passkey"] + configuration.extensions.extensionNames }
    /// Whether `/.well-known/sovereign.json` is served (the upstream server has none).
    public var publishesDiscovery: Bool { !configuration.isUpstream }
    private var isUpstream: Bool { configuration.isUpstream }
    private var offersIdempotency: Bool { configuration.extensions.contains(.idempotentSend) }
    /// With `history`: timestamps strictly increase, and pending ends on the recipient's ACK.
    private var offersHistory: Bool { configuration.extensions.contains(.history) }
    private var offersSequence: Bool { configuration.extensions.contains(.sequence) }

    // Durable state: survives restarts.
    public private(set) var messages: [StoredMessage] = []
    private var messageIndexByID: [String: Int] = [:]
    private var members: [String: [String]] = [:]          // conversation → user ids, in join order
    private var titles: [String: String] = [:]
    private var tokens: [String: (userID: String, issuedAt: Timestamp, revoked: Bool)] = [:]
    private var sequences: [String: UInt64] = [:]           // user → last sequence
    private var deliveries: [String: [Delivery]] = [:]       // user → messages delivered to them, in sequence order
    private var pending: [String: [Int]] = [:]               // user → message indices still pending
    private var acknowledged: [String: Set<Int>] = [:]       // user → message indices acknowledged
    private var idempotency: [String: [String: Int]] = [:]   // sender → client message id → message index
    private var keyPackages: [String: [UInt8]] = [:]
    private var lastTimestamp: Int64 = 0
    private var messageCounter: UInt64 = 0
    /// Pushes the legacy server dropped from a full send buffer: lost for good, by the server.
    public private(set) var droppedPushes: [(userID: String, messageID: String)] = []

    // Volatile state: lost on restart.
    private var connections: [UInt64: Connection] = [:]
    /// Upstream: the one connection of each user that gets pushes (the newest to log in),
    /// until any connection of the user closes.
    private var registrations: [String: UInt64] = [:]
    /// Until then every `AUTH_REQUEST` is answered with `AUTH_ERROR 9001` (a fault of the server).
    private var authGlitchUntil: Timestamp?

    public init(name: String, configuration: Configuration) {
        self.name = name
        self.configuration = configuration
    }

    // MARK: Administration (the scenario's hand)

    /// Issues a session token for `userID` (as after a passkey login).
    public func issueToken(for userID: String, now: Timestamp, random: inout SplitMix64) -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        tokens[token] = (userID, now, false)
        return token
    }

    /// Accepts `token` as a session token of `userID` (a fixed token for local demos).
    public func registerToken(_ token: String, for userID: String, now: Timestamp) {
        tokens[token] = (userID, now, false)
    }

    /// Revokes every session of `userID` and closes its connections with 4004 (upstream closes
    /// nothing: the next login is refused with 1001).
    public func expireSessions(of userID: String) -> [Output] {
        for token in tokens.keys.sorted() where tokens[token]?.userID == userID { tokens[token]?.revoked = true }
        guard !isUpstream else { return [] }
        return connectionIDs(of: userID).flatMap { id -> [Output] in
            connectionClosed(id)
            return [.close(connection: id, code: 4004)]
        }
    }

    /// Whether `userID` holds a session token the server would accept now.
    public func hasValidSession(for userID: String, now: Timestamp) -> Bool {
        tokens.values.contains { $0.userID == userID && isValid($0, now: now) }
    }

    private func isValid(_ session: (userID: String, issuedAt: Timestamp, revoked: Bool), now: Timestamp) -> Bool {
        !session.revoked && now.microseconds < session.issuedAt.microseconds + configuration.sessionLifetime
    }

    /// Creates a conversation with its members (no frames: set-up before the client exists).
    public func createConversation(_ conversationID: String, title: String, members userIDs: [String]) {
        members[conversationID] = userIDs
        titles[conversationID] = title
    }

    public func members(of conversationID: String) -> [String] { members[conversationID] ?? [] }

    public var conversationIDs: [String] { members.keys.sorted() }

    /// Steps the server's wall clock by `delta` µs (negative: backwards).
    public func stepClock(by delta: Int64) {
        configuration.clockSkew += delta
    }

    /// A restart: every connection is closed (4006; upstream sends no close frame: 1006);
    /// stored data stays.
    public func restart() -> [Output] {
        let ids = connections.keys.sorted()
        connections.removeAll()
        registrations.removeAll()
        return ids.map { .close(connection: $0, code: isUpstream ? nil : 4006) }
    }

    /// Until `until`, every login is answered with `AUTH_ERROR 9001`.
    public func setAuthGlitch(until: Timestamp?) {
        authGlitchUntil = until
    }

    public func setMaxPayloadBytes(_ limit: Int) {
        configuration.maxPayloadBytes = limit
    }

    /// Another device of `userID` acknowledged everything: nothing is pending for them any more.
    public func acknowledgeEverything(for userID: String) {
        for index in pending[userID] ?? [] { acknowledged[userID, default: []].insert(index) }
        pending[userID] = []
    }

    public func setRateLimit(perSecond: Double, burst: Double) {
        configuration.rateLimitPerSecond = perSecond
        configuration.rateLimitBurst = burst
    }

    // MARK: Connections

    public func connectionOpened(_ id: UInt64, now: Timestamp) {
        connections[id] = Connection(tokens: configuration.rateLimitBurst, lastRefill: now)
    }

    /// The connection is gone (closed by the client, reset by the network). Upstream drops the
    /// user's push registration whichever of their connections it was; the result is the other
    /// connection this left deaf, if any.
    @discardableResult
    public func connectionClosed(_ id: UInt64) -> UInt64? {
        guard let connection = connections.removeValue(forKey: id) else { return nil }
        guard isUpstream, let userID = connection.userID,
              let registered = registrations.removeValue(forKey: userID), registered != id else { return nil }
        return registered
    }

    /// Upstream: whether `userID` has connections but none of them gets pushes.
    public func isDeaf(_ userID: String) -> Bool {
        isUpstream && registrations[userID] == nil && !connectionIDs(of: userID).isEmpty
    }

    /// Whether `messageID` is still pending for `userID`.
    public func isPending(_ messageID: String, for userID: String) -> Bool {
        guard let index = messageIndexByID[messageID] else { return false }
        return pending[userID]?.contains(index) ?? false
    }

    /// The network delivered one frame of `id`'s send buffer.
    public func frameDelivered(_ id: UInt64) {
        if connections[id] != nil { connections[id]!.queuedFrames = max(0, connections[id]!.queuedFrames - 1) }
    }

    /// 10 s after the handshake: close a connection that has not authenticated (4001).
    public func authDeadlinePassed(_ id: UInt64) -> [Output] {
        guard let connection = connections[id], connection.userID == nil else { return [] }
        connections.removeValue(forKey: id)
        return [.close(connection: id, code: 4001)]
    }

    public var openConnectionCount: Int { connections.count }

    // MARK: Frames

    /// One binary frame from a client connection.
    public func receive(_ bytes: [UInt8], on id: UInt64, now: Timestamp) -> [Output] {
        guard connections[id] != nil else { return [] }
        let envelope: ClientEnvelope
        do {
            envelope = try WireCodec.decodeClientEnvelope(bytes)
        } catch {
            if isUpstream, error.code == .envelopeTooLarge {
                connectionClosed(id)
                return [.close(connection: id, code: 1009)]
            }
            let code: Int32 = isUpstream ? 3001 : error.code == .unknownMessageType ? 3002 : 3005
            return reply(id, "", .error(ErrorPayload.with { $0.code = code; $0.message = error.description }))
        }
        let requestID = envelope.requestID
        guard let userID = connections[id]?.userID else {
            switch envelope.frame {
            case .authRequest(let request): return authenticate(id, token: request.username, requestID: requestID, now: now)
            case .ping(let ping): return reply(id, requestID, .pong(Pong.with { $0.timestamp = ping.timestamp }))
            default: return reply(id, requestID, .error(ErrorPayload.with { $0.code = 3002; $0.message = "authenticate first" }))
            }
        }
        switch envelope.frame {
        case .ping(let ping):
            return reply(id, requestID, .pong(Pong.with { $0.timestamp = ping.timestamp }))
        case .messageSend(let send):
            return messageSend(send, from: userID, on: id, requestID: requestID, now: now)
        case .messageAck(let ack):
            return acknowledge(ack.messageID, by: userID, now: now)
        case .historyRequest(let request) where offersHistory:
            return history(request, for: userID, on: id, requestID: requestID)
        case .mlsKeyPackageUpload(let upload):
            // Upstream refuses an empty key package with 5001.
            if isUpstream && upload.keyPackageData.isEmpty {
                return reply(id, requestID, .error(ErrorPayload.with { $0.code = 5001; $0.message = "Invalid key package data" }))
            }
            keyPackages[userID] = [UInt8](upload.keyPackageData)
            return []
        case .mlsKeyPackageFetch(let fetch):
            // Upstream hands each key package out once, and answers 5005 when none is left.
            let package = isUpstream ? keyPackages.removeValue(forKey: fetch.userID) : keyPackages[fetch.userID]
            if isUpstream && package == nil {
                return reply(id, requestID, .error(ErrorPayload.with { $0.code = 5005; $0.message = "No key package available for user" }))
            }
            return reply(id, requestID, .mlsKeyPackageResponse(MlsKeyPackageResponse.with {
                $0.userID = fetch.userID
                $0.keyPackageData = Data(package ?? [])
            }))
        case .authRequest:
            return []
        default:
            return reply(id, requestID, .error(ErrorPayload.with { $0.code = isUpstream ? 3001 : 3002; $0.message = "not supported here" }))
        }
    }

    private func authenticate(_ id: UInt64, token: String, requestID: String, now: Timestamp) -> [Output] {
        if let authGlitchUntil, now < authGlitchUntil {
            // A fault of the server's own: the socket stays open, the client may try again.
            return frame(id, requestID, .authError(AuthError.with { $0.errorCode = 9001; $0.message = "internal error" }))
        }
        guard let session = tokens[token] else {
            // Upstream answers every credential problem with 1001 and leaves the socket open
            // until its 10-second deadline.
            if isUpstream { return frame(id, requestID, .authError(AuthError.with { $0.errorCode = 1001; $0.message = "authentication failed" })) }
            connections.removeValue(forKey: id)
            return frame(id, requestID, .authError(AuthError.with { $0.errorCode = 1001; $0.message = "invalid credential" }))
                + [.close(connection: id, code: 4002)]
        }
        guard isValid(session, now: now) else {
            if isUpstream { return frame(id, requestID, .authError(AuthError.with { $0.errorCode = 1001; $0.message = "authentication failed" })) }
            connections.removeValue(forKey: id)
            return frame(id, requestID, .authError(AuthError.with { $0.errorCode = 1002; $0.message = "session expired" }))
                + [.close(connection: id, code: 4004)]
        }
        let success = frame(id, requestID, .authSuccess(AuthSuccess.with {
            $0.userID = session.userID
            $0.username = session.userID
        }))
        let established = established(id, userID: session.userID, now: now)
        // Upstream may push what is pending before it says AUTH_SUCCESS.
        return isUpstream ? established + success : success + established
    }

    /// `id` is authenticated as `userID`: the connection limit, then the pending push.
    private func established(_ id: UInt64, userID: String, now: Timestamp) -> [Output] {
        connections[id]!.userID = userID
        connections[id]!.authenticatedAt = now
        var outputs: [Output] = []
        if isUpstream {
            // No connection limit; the newest login gets the pushes.
            registrations[userID] = id
        } else {
            // At most five authenticated connections per user: the oldest goes.
            let mine = connectionIDs(of: userID)
            if mine.count > configuration.maxConnectionsPerUser, let oldest = mine.first {
                connectionClosed(oldest)
                outputs.append(.close(connection: oldest, code: 4003))
            }
        }
        // The pending push: oldest (server_timestamp, message_id) first; upstream orders by
        // timestamp only (ties in the order stored) and leaves `message_type` out.
        let due = (pending[userID] ?? []).sorted { lhs, rhs in
            let a = messages[lhs], b = messages[rhs]
            if a.serverTimestamp != b.serverTimestamp { return a.serverTimestamp < b.serverTimestamp }
            return isUpstream ? lhs < rhs : a.messageID < b.messageID
        }
        for index in due {
            outputs += push(index, to: userID, on: id, bare: isUpstream)
        }
        return outputs
    }

    // MARK: The user's other devices

    /// Another device of `userID` comes online on connection `device` (no network behind it):
    /// it is authenticated at once, counts towards the connection limit (the oldest connection
    /// may be closed with 4003) and gets the pending push.
    public func attachDevice(_ device: UInt64, for userID: String, now: Timestamp) -> [Output] {
        connectionOpened(device, now: now)
        return established(device, userID: userID, now: now)
    }

    /// A device read a message: its MESSAGE_ACK (ends "pending" for the user on a server with
    /// `history`; tells the sender).
    public func acknowledge(_ messageID: String, by userID: String) -> [Output] {
        acknowledge(messageID, by: userID, now: .zero)
    }

    /// The user writes from another device (connection `device`): stored, echoed to that
    /// device, pushed to the user's other connections and the other members.
    public func devicePost(on device: UInt64, conversationID: String, payload: [UInt8], clientMessageID: String,
                           now: Timestamp) -> [Output] {
        guard let userID = connections[device]?.userID else { return [] }
        let send = MessageSend.with {
            $0.conversationID = conversationID
            $0.encryptedPayload = Data(payload)
            $0.messageType = "text"
            $0.clientMessageID = clientMessageID
        }
        return messageSend(send, from: userID, on: device, requestID: "d\(device)-\(clientMessageID)", now: now)
    }

    /// A redelivery storm: every message already delivered to `userID` (the newest `limit`) is
    /// pushed again, `times` times over, to each of the user's connections.
    public func redeliver(to userID: String, times: Int, limit: Int = 200) -> [Output] {
        let delivered = (deliveries[userID] ?? []).suffix(limit).map(\.messageIndex).filter { messages[$0].senderID != userID }
        var outputs: [Output] = []
        for _ in 0..<max(times, 1) {
            for connection in connectionIDs(of: userID) {
                for index in delivered { outputs += messageFrame(connection, "", index, for: userID) }
            }
        }
        return outputs
    }

    private func messageSend(_ send: MessageSend, from userID: String, on id: UInt64, requestID: String, now: Timestamp) -> [Output] {
        // Token bucket, MESSAGE_SEND frames only (upstream has none).
        var connection = connections[id]!
        if isUpstream { connection.tokens = configuration.rateLimitBurst }
        let elapsed = Double(now.microseconds - connection.lastRefill.microseconds) / 1_000_000
        connection.tokens = min(configuration.rateLimitBurst, connection.tokens + elapsed * configuration.rateLimitPerSecond)
        connection.lastRefill = now
        guard connection.tokens >= 1 else {
            connections[id] = connection
            return reply(id, requestID, .error(ErrorPayload.with { $0.code = 3004; $0.message = "rate limited" }))
        }
        connection.tokens -= 1
        connections[id] = connection
        guard send.encryptedPayload.count <= configuration.maxPayloadBytes else {
            return reply(id, requestID, .error(ErrorPayload.with { $0.code = 3003; $0.message = "message too large" }))
        }
        guard let conversationMembers = members[send.conversationID], conversationMembers.contains(userID) else {
            // What real servers send for a conversation the user is not in.
            return reply(id, requestID, .error(ErrorPayload.with { $0.code = 4001; $0.message = "group not found" }))
        }
        if offersIdempotency, !send.clientMessageID.isEmpty, let original = idempotency[userID]?[send.clientMessageID] {
            // Already stored: the original echo, nothing new.
            return messageFrame(id, requestID, original, for: userID)
        }
        let index = store(send, from: userID, members: conversationMembers, now: now)
        var outputs = messageFrame(id, requestID, index, for: userID)
        // Other online members, the sender's other connections included (not upstream's).
        for member in conversationMembers where !(isUpstream && member == userID) {
            for other in pushTargets(of: member) where other != id {
                outputs += push(index, to: member, on: other)
            }
        }
        return outputs
    }

    /// A peer on this server writes into a conversation (the workload's hand). A poison
    /// message is sent, every time, as a frame no decoder accepts.
    public func peerPost(from senderID: String, conversationID: String, payload: [UInt8], now: Timestamp,
                         poison: Bool = false) -> [Output] {
        guard let conversationMembers = members[conversationID] else { return [] }
        let send = MessageSend.with {
            $0.conversationID = conversationID
            $0.encryptedPayload = Data(payload)
            $0.messageType = "text"
        }
        let index = store(send, from: senderID, members: conversationMembers, now: now, poison: poison)
        var outputs: [Output] = []
        for member in conversationMembers where member != senderID {
            for connection in pushTargets(of: member) {
                outputs += push(index, to: member, on: connection)
            }
        }
        return outputs
    }

    /// The connections a live push to `userID` goes to: all of theirs, or upstream's one
    /// registration (none when it was dropped: the message stays pending).
    private func pushTargets(of userID: String) -> [UInt64] {
        guard isUpstream else { return connectionIDs(of: userID) }
        return registrations[userID].map { [$0] } ?? []
    }

    private func store(_ send: MessageSend, from senderID: String, members conversationMembers: [String], now: Timestamp,
                       poison: Bool = false) -> Int {
        let wallClock = now.microseconds + configuration.clockSkew
        // A legacy server stamps its wall clock (it repeats and steps back); an extended one
        // keeps timestamps strictly increasing so its history cursor never skips a message.
        let timestamp: Int64
        if configuration.timestampResolution > 1 {
            let tick = wallClock - ((wallClock % configuration.timestampResolution) + configuration.timestampResolution)
                % configuration.timestampResolution
            timestamp = offersHistory ? max(tick, lastTimestamp) : tick
        } else {
            timestamp = offersHistory ? max(wallClock, lastTimestamp + 1) : wallClock
        }
        lastTimestamp = max(lastTimestamp, timestamp)
        messageCounter += 1
        // ULID-like: sorts by timestamp, then by arrival.
        let messageID = String(format: "%016llX%08llX", UInt64(bitPattern: timestamp), messageCounter)
        let index = messages.count
        messages.append(StoredMessage(messageID: messageID, conversationID: send.conversationID, senderID: senderID,
                                      serverTimestamp: timestamp, payload: [UInt8](send.encryptedPayload),
                                      messageType: send.messageType, clientMessageID: send.clientMessageID, isPoison: poison))
        messageIndexByID[messageID] = index
        if offersIdempotency, !send.clientMessageID.isEmpty { idempotency[senderID, default: [:]][send.clientMessageID] = index }
        for member in conversationMembers {
            let sequence = (sequences[member] ?? 0) + 1
            sequences[member] = sequence
            deliveries[member, default: []].append(Delivery(sequence: sequence, messageIndex: index))
            if member != senderID { pending[member, default: []].append(index) }
        }
        return index
    }

    /// Queues a push on a connection. A server without `history` ends "pending" when it
    /// queues the frame, and drops the frame when the send buffer is full: that message is lost
    /// for good.
    private func push(_ index: Int, to userID: String, on connection: UInt64, bare: Bool = false) -> [Output] {
        guard connections[connection] != nil else { return [] }
        if !offersHistory {
            pending[userID]?.removeAll { $0 == index }
            if connections[connection]!.queuedFrames >= configuration.sendBufferSlots {
                droppedPushes.append((userID, messages[index].messageID))
                return []
            }
        }
        return messageFrame(connection, "", index, for: userID, bare: bare)
    }

    private func acknowledge(_ messageID: String, by userID: String, now: Timestamp) -> [Output] {
        guard let index = messageIndexByID[messageID] else { return [] }  // unknown ids are ignored
        pending[userID]?.removeAll { $0 == index }
        // Told once per recipient; upstream tells the sender on every ACK.
        guard acknowledged[userID, default: []].insert(index).inserted || isUpstream else { return [] }
        let sender = messages[index].senderID
        guard sender != userID else { return [] }
        return connectionIDs(of: sender).flatMap { connection in
            frame(connection, "", .messageDelivered(MessageDelivered.with {
                $0.messageID = messageID
                $0.deliveredTo = userID
            }))
        }
    }

    private func history(_ request: HistoryRequest, for userID: String, on id: UInt64, requestID: String) -> [Output] {
        if !request.conversationID.isEmpty, !(members[request.conversationID]?.contains(userID) ?? false) {
            return reply(id, requestID, .error(ErrorPayload.with { $0.code = 2002; $0.message = "not a member" }))
        }
        let limit = request.limit <= 0 ? 100 : min(Int(request.limit), 500)
        var candidates = (deliveries[userID] ?? []).filter {
            request.conversationID.isEmpty || messages[$0.messageIndex].conversationID == request.conversationID
        }
        if request.afterSequence > 0 {
            candidates = candidates.filter { $0.sequence > request.afterSequence }
        } else {
            candidates = candidates.filter { delivery in
                let message = messages[delivery.messageIndex]
                return message.serverTimestamp > request.afterTimestamp
                    || (message.serverTimestamp == request.afterTimestamp && message.messageID > request.afterMessageID)
            }
            candidates.sort { lhs, rhs in
                let a = messages[lhs.messageIndex], b = messages[rhs.messageIndex]
                return a.serverTimestamp != b.serverTimestamp ? a.serverTimestamp < b.serverTimestamp : a.messageID < b.messageID
            }
        }
        var page: [[UInt8]] = []
        var size = 64
        for delivery in candidates.prefix(limit) {
            let message = receiveBytes(delivery.messageIndex, for: userID)
            // Stay under the envelope limit: a page may be shorter than `limit`.
            if !page.isEmpty && size + message.count + 8 > WireCodec.maxEnvelopeBytes - 64 { break }
            size += message.count + 8
            page.append(message)
        }
        // Written field by field, so that a poison message can sit in a page as it would.
        var payload: [UInt8] = []
        for message in page {
            payload.append(0x0A)  // field 1, length-delimited
            Self.appendVarint(UInt64(message.count), to: &payload)
            payload += message
        }
        if candidates.count > page.count { payload += [0x10, 0x01] }  // field 2 (has_more) = true
        return envelope(id, requestID, .historyResponse, payload,
                        messageIDs: candidates.prefix(page.count).map { messages[$0.messageIndex].messageID })
    }

    // MARK: Helpers

    private func receive(_ index: Int, for userID: String) -> MessageReceive {
        let message = messages[index]
        return MessageReceive.with {
            $0.messageID = message.messageID
            $0.conversationID = message.conversationID
            $0.senderID = message.senderID
            $0.encryptedPayload = Data(message.payload)
            $0.serverTimestamp = message.serverTimestamp
            $0.messageType = message.messageType
            if offersIdempotency, message.senderID == userID { $0.clientMessageID = message.clientMessageID }
            if offersSequence { $0.sequence = deliveries[userID]?.first { $0.messageIndex == index }?.sequence ?? 0 }
        }
    }

    /// The serialized `MessageReceive` of a message; a poison one ends with a `sender_id` that
    /// is not UTF-8 (proto3 strings must be), which no decoder accepts. `bare`: without
    /// `message_type` (upstream's pending push).
    private func receiveBytes(_ index: Int, for userID: String, bare: Bool = false) -> [UInt8] {
        var receive = receive(index, for: userID)
        if bare { receive.messageType = "" }
        var bytes = (try? receive.serializedBytes() as [UInt8]) ?? []
        if messages[index].isPoison { bytes += [0x1A, 0x02, 0xFF, 0xFE] }  // field 3, 2 bytes
        return bytes
    }

    private func messageFrame(_ id: UInt64, _ requestID: String, _ index: Int, for userID: String, bare: Bool = false) -> [Output] {
        envelope(id, requestID, .messageReceive, receiveBytes(index, for: userID, bare: bare), messageIDs: [messages[index].messageID])
    }

    /// An envelope around a payload already serialized. Within the protocol's limit, except
    /// upstream's: it pushes a maximal send with its own fields added, a little over.
    private func envelope(_ id: UInt64, _ requestID: String, _ type: MessageType, _ payload: [UInt8],
                          messageIDs: [String] = []) -> [Output] {
        var envelope = Envelope()
        envelope.type = type
        envelope.requestID = requestID
        envelope.payload = Data(payload)
        guard let bytes = try? envelope.serializedBytes() as [UInt8],
              isUpstream || bytes.count <= WireCodec.maxEnvelopeBytes else { return [] }
        if connections[id] != nil { connections[id]!.queuedFrames += 1 }
        return [.send(connection: id, bytes: bytes, messageIDs: messageIDs)]
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private func connectionIDs(of userID: String) -> [UInt64] {
        connections.filter { $0.value.userID == userID }
            .sorted { ($0.value.authenticatedAt ?? .zero, $0.key) < ($1.value.authenticatedAt ?? .zero, $1.key) }
            .map(\.key)
    }

    private func reply(_ id: UInt64, _ requestID: String, _ serverFrame: ServerFrame) -> [Output] {
        frame(id, requestID, serverFrame)
    }

    private func frame(_ id: UInt64, _ requestID: String, _ serverFrame: ServerFrame) -> [Output] {
        guard let bytes = try? WireCodec.encode(ServerEnvelope(requestID: requestID, frame: serverFrame)) else { return [] }
        if connections[id] != nil { connections[id]!.queuedFrames += 1 }
        return [.send(connection: id, bytes: bytes)]
    }

    // MARK: Ground truth for the checker

    /// Messages of conversations `userID` is in that are not theirs: what their client must end up with.
    public func messagesOwed(to userID: String) -> [StoredMessage] {
        (deliveries[userID] ?? []).map { messages[$0.messageIndex] }
    }

    /// How many times the server stored a message with this client message id from `senderID`.
    public func storedCount(clientMessageID: String, from senderID: String) -> Int {
        messages.filter { $0.senderID == senderID && $0.clientMessageID == clientMessageID }.count
    }

    public func message(_ messageID: String) -> StoredMessage? {
        messageIndexByID[messageID].map { messages[$0] }
    }
}
