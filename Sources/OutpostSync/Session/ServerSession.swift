import Foundation
import OutpostModel
import OutpostWire

/// The sans-IO sync core of one server: connection, authentication, heartbeat and backoff;
/// outbox drain; catch-up and gap filling; inbound storage and acknowledgement.
///
/// A value type. It takes ``SessionEvent``s and outbox commands with an explicit `now` and
/// returns ``SessionEffect``s; it never touches a socket, a clock, a file or the system's
/// random source. The client core (`ServerCore`) carries its effects out, for the runtime with
/// real sockets and clocks and for the simulator with virtual ones: the same code runs in both.
///
/// ```swift
/// var session = ServerSession(capabilities: .all, snapshot: try partition.sessionSnapshot(), seed: seed)
/// for effect in session.handle(.connectRequested, now: now) { … }
/// ```
public struct ServerSession: Sendable {
    public struct Configuration: Hashable, Sendable {
        var connection = ConnectionStateMachine.Configuration()
        var outbox = OutboxDrain.Configuration()
        var catchUp = CatchUp.Configuration()

        /// Messages per history page (1…500).
        public var historyPageSize: Int32 {
            get { catchUp.pageSize }
            set { catchUp.pageSize = min(max(newValue, 1), 500) }
        }

        /// History pages fetched right after authentication before the rest of a backlog
        /// becomes a persisted gap filled in the background.
        public var foregroundHistoryPages: Int {
            get { catchUp.foregroundPages }
            set { catchUp.foregroundPages = max(newValue, 1) }
        }

        /// How many sends may be in flight at once (one per conversation).
        public var maxSendsInFlight: Int {
            get { outbox.maxInFlight }
            set { outbox.maxInFlight = max(newValue, 1) }
        }

        public init() {}
    }

    public let capabilities: ServerCapabilities
    private let configuration: Configuration
    private var connection: ConnectionStateMachine
    private var outbox: OutboxDrain
    private var catchUp: CatchUp
    private var random: SplitMix64
    private var sessionToken: String?
    private var ownUserID: String?
    private var requestCounter: UInt64 = 0
    /// The request id of the history page on the wire.
    private var historyRequestID: String?
    private var isRemoved = false

    public init(configuration: Configuration = Configuration(), capabilities: ServerCapabilities,
                snapshot: SessionSnapshot, seed: UInt64) {
        self.configuration = configuration
        self.capabilities = capabilities
        connection = ConnectionStateMachine(configuration: configuration.connection,
                                            hasCredentials: snapshot.sessionToken != nil)
        outbox = OutboxDrain(configuration: configuration.outbox, pending: snapshot.pendingOutbox,
                             nextQueuePosition: snapshot.nextQueuePosition, expiredAfterSending: snapshot.expiredAfterSending)
        catchUp = CatchUp(configuration: configuration.catchUp, capabilities: capabilities, cursor: snapshot.cursor,
                          gaps: snapshot.gaps)
        random = SplitMix64(seed: seed)
        sessionToken = snapshot.sessionToken
        ownUserID = snapshot.ownUserID
    }

    // MARK: Observation

    public var connectionState: ConnectionState { connection.connectionState }
    public var cursor: SyncCursor { catchUp.cursor }
    public var openGap: GapRecord? { catchUp.openGap }
    public var gapGuarantee: GapGuarantee { catchUp.gapGuarantee }
    public var pendingOutboxCount: Int { outbox.pending.count }
    /// Queued and in-flight items, in FIFO order.
    public var pendingOutbox: [OutboxItem] { outbox.pending }
    /// When the item at the head of the outbox was queued.
    public var oldestPendingEnqueuedAt: Timestamp? { outbox.pending.first?.enqueuedAt }
    /// The connection that is open or opening, if any.
    public var currentConnection: ConnectionID? { connection.currentConnection }
    public var sendsInFlight: Int { outbox.inFlightCount }
    public var isCaughtUp: Bool { catchUp.isCaughtUp }
    public var reconnectScheduledAt: Timestamp? { connection.reconnectScheduledAt }
    public var backoffAttempt: Int { connection.backoffAttempt }
    /// The user's id on this server, once known.
    public var userID: String? { ownUserID }

    // MARK: Events

    public mutating func handle(_ event: SessionEvent, now: Timestamp) -> [SessionEffect] {
        guard !isRemoved else { return [] }
        switch event {
        case .connectRequested:
            return run(connection.connectRequested(now: now), now: now) + expireOutbox(now: now)
        case .transportOpened(let id):
            return run(connection.transportOpened(id, now: now), now: now)
        case .transportClosed(let id, let code):
            return run(connection.transportClosed(id, code: code, now: now, random: &random), now: now)
        case .transportFailed(let id, let reason):
            return run(connection.transportClosed(id, code: nil, reason: reason, now: now, random: &random), now: now)
        case .received(let id, let bytes):
            guard id == connection.currentConnection else { return [] }
            return received(bytes, on: id, now: now)
        case .timerFired(let timer):
            return timerFired(timer, now: now)
        case .appBackgrounded:
            return run(connection.backgrounded(now: now), now: now)
        case .appForegrounded:
            return run(connection.foregrounded(now: now), now: now)
        case .reachabilityLost:
            return run(connection.reachabilityLost(now: now), now: now)
        case .reachabilityRestored:
            return run(connection.reachabilityRestored(now: now), now: now)
        case .sessionTokenUpdated(let token):
            sessionToken = token
            return [.persist(.setSessionToken(token))] + run(connection.credentialsUpdated(now: now), now: now)
        case .removeRequested:
            let effects = run(connection.removeRequested(now: now), now: now)
            isRemoved = true
            return effects
        case .reconnectRequested:
            return run(connection.reconnectRequested(now: now), now: now)
        case .lowPowerModeChanged(let isOn):
            return run(connection.lowPowerModeChanged(isOn, now: now), now: now)
        case .fillGapsNow:
            guard connection.establishedConnection != nil else { return [] }
            return catchUpEffects(catchUp.fillNow(now: now), now: now)
        }
    }

    // MARK: Outbox commands

    /// Carries out a command of the front end on the outbox. The session is the outbox's only
    /// authority: what it refuses is never written, what it accepts comes back as effects
    /// (the write, and the send when the server is connected).
    ///
    /// - Returns: the item as the command left it, and the effects.
    /// - Throws: ``OutboxRefusal`` when the command is not allowed; nothing changed.
    public mutating func perform(_ command: OutboxCommand, now: Timestamp) throws(OutboxRefusal) -> (item: OutboxItem, effects: [SessionEffect]) {
        guard !isRemoved else { throw OutboxRefusal(code: .notAllowed, message: "the server is being removed") }
        let item: OutboxItem
        let actions: [OutboxDrain.Action]
        switch command {
        case .send(let draft):
            (item, actions) = try outbox.enqueue(draft, now: now)
        case .retry(let stored, let lifespan):
            actions = try outbox.retry(stored, lifespan: lifespan, now: now)
            item = outbox.item(stored.clientMessageID) ?? stored
        case .cancel(let stored):
            actions = try outbox.cancel(stored, now: now)
            var cancelled = stored
            cancelled.state = .cancelled
            cancelled.updatedAt = now
            item = cancelled
        case .edit(let stored, let payload):
            actions = try outbox.edit(stored, payload: payload, now: now)
            item = outbox.item(stored.clientMessageID) ?? stored
        }
        let effects = outboxEffects(actions, now: now) + drain(now: now)
        // Drained at once when connected: report the item as it is now.
        return (outbox.item(item.clientMessageID) ?? item, effects)
    }

    // MARK: Inbound frames

    private mutating func received(_ bytes: [UInt8], on id: ConnectionID, now: Timestamp) -> [SessionEffect] {
        let envelope: ServerEnvelope
        do {
            envelope = try WireCodec.decodeServerEnvelope(bytes)
        } catch {
            // A newer server may send types this client does not know: skip them. Anything
            // else undecodable is set aside, not fought over: dropping the connection would
            // bring the same frame back after every login, and nothing behind it would arrive.
            if error.code == .unknownMessageType { return [] }
            return setAside(bytes, error, on: id, now: now)
        }
        let requestID = envelope.requestID
        switch envelope.frame {
        case .authSuccess(let success):
            return authenticated(id, userID: success.userID, newToken: success.sessionToken, now: now)
        case .authRegisterSuccess(let success):
            return authenticated(id, userID: success.userID, newToken: success.sessionToken, now: now)
        case .authError(let error):
            let reason = "AUTH_ERROR \(error.errorCode): \(error.message)"
            switch AuthErrorDisposition.classify(error.errorCode) {
            case .rejected:
                return run(connection.authRejected(id, reason: reason, now: now), now: now)
            case .transient:
                return run(connection.authFailedTransiently(id, reason: reason, now: now, random: &random), now: now)
            }
        case .authChallenge:
            guard connection.connectionState == .authenticating else { return forward(envelope) }
            // The server did not recognise the token and started a passkey login instead.
            return run(connection.authRejected(id, reason: "the session token is no longer recognised", now: now), now: now)
        case .messageReceive(let receive):
            return messageReceived(receive, requestID: requestID, on: id, now: now)
        case .historyResponse(let response):
            guard requestID == historyRequestID else { return [] }
            historyRequestID = nil
            return historyPage(response.messages.map(HistoryPageEntry.message), hasMore: response.hasMore,
                               requestID: requestID, on: id, now: now)
        case .messageDelivered(let delivered):
            return [.notify(.delivered(messageID: delivered.messageID, to: delivered.deliveredTo))]
        case .groupCreated(let group):
            let members = group.members.map {
                ConversationMember(userID: $0.userID, username: $0.username, displayName: $0.displayName, role: $0.role)
            }
            return [.persist(.recordGroup(conversationID: group.conversationID, title: group.title, members: members))]
        case .groupMemberAdded(let added):
            return [.persist(.recordMemberAdded(conversationID: added.conversationID, member: ConversationMember(userID: added.userID)))]
        case .groupMemberRemoved(let removed):
            return [.persist(.recordMemberRemoved(conversationID: removed.conversationID, userID: removed.userID))]
        case .mlsWelcomeReceive(let welcome):
            return [.persist(.recordInboundMLS(.welcome, conversationID: welcome.conversationID, senderID: welcome.senderID,
                                               data: [UInt8](welcome.welcomeData)))]
        case .mlsCommitBroadcast(let commit):
            return [.persist(.recordInboundMLS(.commit, conversationID: commit.conversationID, senderID: commit.senderID,
                                               data: [UInt8](commit.commitData)))]
        case .mlsKeyPackageResponse(let response):
            return [.persist(.recordInboundMLS(.keyPackage, conversationID: "", senderID: response.userID,
                                               data: [UInt8](response.keyPackageData)))]
        case .presenceNotify(let presence):
            return [.notify(.presence(userID: presence.userID, status: presence.status))]
        case .pong:
            return run(connection.pongReceived(id, now: now), now: now)
        case .error(let error):
            return serverError(error, requestID: requestID, now: now)
        case .authRegisterChallenge:
            return forward(envelope)
        }
    }

    private mutating func authenticated(_ id: ConnectionID, userID: String, newToken: String, now: Timestamp) -> [SessionEffect] {
        guard connection.connectionState == .authenticating else { return [] }
        var effects: [SessionEffect] = []
        if !userID.isEmpty, userID != ownUserID {
            ownUserID = userID
            effects.append(.persist(.setOwnUserID(userID)))
        }
        if !newToken.isEmpty, newToken != sessionToken {
            sessionToken = newToken
            effects.append(.persist(.setSessionToken(newToken)))
        }
        return effects + run(connection.authSucceeded(id, now: now), now: now)
    }

    private mutating func messageReceived(
        _ receive: MessageReceive, requestID: String, on id: ConnectionID, now: Timestamp
    ) -> [SessionEffect] {
        let message = self.message(from: receive)
        let store: [SessionEffect] = [.persist(.storeInbound([message]))]
        let acks = requestID.isEmpty ? acknowledgements([message.messageID], on: id) : []
        var own: [SessionEffect] = []
        if let seen = outbox.ownMessageSeen(requestID: requestID, clientMessageID: message.clientMessageID,
                                            serverMessageID: message.messageID, serverTimestamp: message.serverTimestamp, now: now) {
            own = outboxEffects(seen, now: now) + drain(now: now)
        }
        // Live pushes and this client's own echoes both count for the cursor (sequence numbers
        // cover the user's own messages too).
        let progress = catchUpEffects(catchUp.livePushReceived(position: message.position, sequence: message.sequence,
                                                               connected: true, now: now), now: now)
        return store + acks + progress + own
    }

    private mutating func historyPage(_ entries: [HistoryPageEntry], hasMore: Bool, requestID: String, on id: ConnectionID,
                                      now: Timestamp) -> [SessionEffect] {
        var messages: [Message] = []
        var positions: [PageEntry] = []
        var setAside: [SessionEffect] = []
        var acknowledged: [String] = []
        for entry in entries {
            switch entry {
            case .message(let receive):
                let message = self.message(from: receive)
                messages.append(message)
                acknowledged.append(message.messageID)
                positions.append(PageEntry(position: message.position, sequence: message.sequence))
            case .setAside(let salvaged):
                setAside.append(.notify(.messageSetAside(messageID: salvaged.messageID, reason: "undecodable message in a history page")))
                if let messageID = salvaged.messageID { acknowledged.append(messageID) }
                positions.append(PageEntry(position: salvaged.position, sequence: salvaged.sequence))
            }
        }
        var own: [SessionEffect] = []
        for message in messages {
            if let seen = outbox.ownMessageSeen(requestID: nil, clientMessageID: message.clientMessageID,
                                                serverMessageID: message.messageID, serverTimestamp: message.serverTimestamp,
                                                now: now) {
                own += outboxEffects(seen, now: now)
            }
        }
        let store: [SessionEffect] = messages.isEmpty ? [] : [.persist(.storeInbound(messages))]
        let acks = acknowledgements(acknowledged, on: id)
        let progress = catchUpEffects(catchUp.pageReceived(positions, hasMore: hasMore, now: now), now: now)
        return [.cancelTimer(.request(requestID))] + store + acks + setAside
            + [.notify(.historyPageReceived(entries: entries.count, hasMore: hasMore))] + progress + own + drain(now: now)
    }

    /// A frame that does not decode: what can be read of it is used (a message's id to
    /// acknowledge it, so the server stops pushing it; its place in the stream, so the cursor can
    /// pass it), the rest is reported and skipped. The connection stays.
    private mutating func setAside(_ bytes: [UInt8], _ error: WireError, on id: ConnectionID, now: Timestamp) -> [SessionEffect] {
        let salvaged = WireCodec.salvage(bytes)
        switch salvaged.content {
        case .historyPage(let entries, let hasMore) where !salvaged.requestID.isEmpty && salvaged.requestID == historyRequestID:
            historyRequestID = nil
            return historyPage(entries, hasMore: hasMore, requestID: salvaged.requestID, on: id, now: now)
        case .message(let message):
            var effects: [SessionEffect] = [.notify(.messageSetAside(messageID: message.messageID, reason: error.description))]
            if let messageID = message.messageID, salvaged.requestID.isEmpty {
                effects += acknowledgements([messageID], on: id)
            }
            effects += catchUpEffects(catchUp.livePushReceived(position: message.position, sequence: message.sequence,
                                                               connected: true, now: now), now: now)
            return effects
        default:
            if !salvaged.requestID.isEmpty, salvaged.requestID == historyRequestID {
                // A page that cannot be read at all: ask again later rather than wedge.
                historyRequestID = nil
                return [.notify(.messageSetAside(messageID: nil, reason: error.description)),
                        .cancelTimer(.request(salvaged.requestID))] + catchUpEffects(catchUp.pageFailed(now: now), now: now)
            }
            return [.notify(.messageSetAside(messageID: nil, reason: error.description))]
        }
    }

    private mutating func acknowledgements(_ messageIDs: [String], on id: ConnectionID) -> [SessionEffect] {
        var acks: [SessionEffect] = []
        for messageID in messageIDs {
            acks.append(send(.messageAck(MessageAck.with { $0.messageID = messageID }), on: id))
        }
        return acks
    }

    private mutating func serverError(_ error: ErrorPayload, requestID: String, now: Timestamp) -> [SessionEffect] {
        if !requestID.isEmpty, let outcome = outbox.errorReceived(requestID: requestID, code: error.code, message: error.message, now: now) {
            return outboxEffects(outcome, now: now) + drain(now: now)
        }
        if !requestID.isEmpty, requestID == historyRequestID {
            historyRequestID = nil
            return [.cancelTimer(.request(requestID))] + catchUpEffects(catchUp.pageFailed(now: now), now: now)
        }
        // A fatal error is followed by the server closing the connection; nothing else to do.
        return []
    }

    private func forward(_ envelope: ServerEnvelope) -> [SessionEffect] {
        [.notify(.frame(type: Int(envelope.frame.messageType.rawValue), requestID: envelope.requestID,
                        payload: (try? WireCodec.encode(envelope)) ?? []))]
    }

    // MARK: Timers

    private mutating func timerFired(_ timer: SessionTimer, now: Timestamp) -> [SessionEffect] {
        switch timer {
        case .request(let requestID):
            // No reply within 30 s: the request failed, and the link is not to be trusted.
            guard let id = connection.establishedConnection,
                  requestID == historyRequestID || outbox.clientMessageID(forRequest: requestID) != nil
            else { return [] }
            let reason = DisconnectReason.timedOut("to request \(requestID) within \(configuration.outbox.requestTimeout / 1_000_000) s")
            return run(connection.connectionFailed(id, reason: reason, now: now, random: &random), now: now)
        case .sendPause:
            return drain(now: now)
        case .outboxExpiry:
            return expireOutbox(now: now)
        case .gapFill:
            guard connection.establishedConnection != nil else { return [] }
            return catchUpEffects(catchUp.fillTimerFired(now: now), now: now)
        case .connectTimeout, .authTimeout, .reconnect, .heartbeat, .pongTimeout:
            return run(connection.timerFired(timer, now: now, random: &random), now: now)
        }
    }

    // MARK: Translating the parts' actions into effects

    private mutating func run(_ actions: [ConnectionStateMachine.Action], now: Timestamp) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        for action in actions {
            switch action {
            case .openTransport(let id):
                effects.append(.openTransport(id))
            case .closeTransport(let id, let code):
                effects.append(.closeTransport(id, code: code))
            case .sendAuthRequest(let id):
                effects.append(send(.authRequest(AuthRequest.with { $0.username = sessionToken ?? "" }), on: id))
            case .sendPing(let id):
                effects.append(send(.ping(Ping.with { $0.timestamp = now.microseconds }), on: id))
            case .setTimer(let timer, let at):
                effects.append(.setTimer(timer, at: at))
            case .cancelTimer(let timer):
                effects.append(.cancelTimer(timer))
            case .sessionEstablished:
                effects += drain(now: now) + catchUpEffects(catchUp.sessionEstablished(now: now), now: now)
            case .sessionLost:
                historyRequestID = nil
                catchUp.sessionLost()
                effects += outboxEffects(outbox.connectionLost(), now: now)
            case .stateChanged(let state):
                effects.append(.notify(.connectionStateChanged(state)))
            case .connectionEnded(let reason):
                effects.append(.notify(.disconnected(reason)))
            case .authFailed(let reason):
                sessionToken = nil
                effects.append(.notify(.authFailed(reason: reason)))
            case .readyForRemoval:
                effects.append(.notify(.readyForRemoval))
            }
        }
        return effects
    }

    private mutating func drain(now: Timestamp) -> [SessionEffect] {
        guard connection.establishedConnection != nil else { return [] }
        var counter = requestCounter
        let actions = outbox.drain(now: now) {
            counter += 1
            return "s\(counter)"
        }
        requestCounter = counter
        return outboxEffects(actions, now: now)
    }

    private mutating func expireOutbox(now: Timestamp) -> [SessionEffect] {
        outboxEffects(outbox.expire(now: now), now: now)
    }

    private mutating func outboxEffects(_ actions: [OutboxDrain.Action], now: Timestamp) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        for action in actions {
            switch action {
            case .send(let item, let requestID):
                guard let id = connection.establishedConnection else { continue }
                effects.append(.persist(.markInFlight(clientMessageID: item.clientMessageID, requestID: requestID)))
                let frame = MessageSend.with {
                    $0.conversationID = item.conversationID
                    $0.encryptedPayload = Data(item.payload)
                    $0.messageType = item.messageType
                    // Extension fields only for servers that advertise them.
                    if capabilities.contains(.idempotentSend) { $0.clientMessageID = item.clientMessageID }
                }
                effects.append(send(.messageSend(frame), on: id, requestID: requestID))
            case .persist(let operation):
                effects.append(.persist(operation))
            case .setTimer(let timer, let at):
                effects.append(.setTimer(timer, at: at))
            case .cancelTimer(let timer):
                effects.append(.cancelTimer(timer))
            case .notify(let notification):
                effects.append(.notify(notification))
            }
        }
        return effects
    }

    private mutating func catchUpEffects(_ actions: [CatchUp.Action], now: Timestamp) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        for action in actions {
            switch action {
            case .requestHistory(let cursor, let bySequence):
                guard let id = connection.establishedConnection else { continue }
                let requestID = nextRequestID(prefix: "h")
                historyRequestID = requestID
                let request = HistoryRequest.with {
                    $0.limit = configuration.catchUp.pageSize
                    if bySequence {
                        $0.afterSequence = cursor.sequence
                    } else {
                        $0.afterTimestamp = cursor.position.timestamp.microseconds
                        $0.afterMessageID = cursor.position.messageID
                    }
                }
                effects += [send(.historyRequest(request), on: id, requestID: requestID),
                            .setTimer(.request(requestID), at: now.adding(configuration.outbox.requestTimeout))]
            case .persist(let operation):
                effects.append(.persist(operation))
            case .setTimer(let timer, let at):
                effects.append(.setTimer(timer, at: at))
            case .notify(let notification):
                effects.append(.notify(notification))
            }
        }
        return effects
    }

    // MARK: Encoding

    private mutating func nextRequestID(prefix: String) -> String {
        requestCounter += 1
        return "\(prefix)\(requestCounter)"
    }

    private mutating func send(_ frame: ClientFrame, on id: ConnectionID, requestID: String? = nil) -> SessionEffect {
        let envelope = ClientEnvelope(requestID: requestID ?? nextRequestID(prefix: "r"), frame: frame)
        do {
            return .send(id, try WireCodec.encode(envelope))
        } catch {
            // Only an oversized frame fails to encode, and the outbox refuses those at enqueue.
            preconditionFailure("an outbound frame failed to encode: \(error)")
        }
    }

    private func message(from receive: MessageReceive) -> Message {
        Message(messageID: receive.messageID, conversationID: receive.conversationID, senderID: receive.senderID,
                serverTimestamp: Timestamp(microseconds: receive.serverTimestamp),
                sequence: capabilities.contains(.sequence) && receive.sequence > 0 ? receive.sequence : nil,
                messageType: receive.messageType, payload: [UInt8](receive.encryptedPayload),
                clientMessageID: receive.clientMessageID.isEmpty ? nil : receive.clientMessageID)
    }
}

extension SalvagedMessage {
    /// Where the message sits in the stream, when both parts could be read.
    var position: MessagePosition? {
        guard let messageID, let serverTimestamp else { return nil }
        return MessagePosition(timestamp: Timestamp(microseconds: serverTimestamp), messageID: messageID)
    }
}
