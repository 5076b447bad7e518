import OutpostModel

/// Catch-up and gap filling of one server, sans-IO.
///
/// - With `history`, after every authentication it pages forward from the cursor until
///   `has_more` is false. A backlog larger than ``Configuration/foregroundPages`` pages becomes a
///   persisted gap record, filled in the background (one page per
///   ``Configuration/backgroundPageDelay``) or at once on demand.
/// - With `sequence` as well, a jump in sequence numbers is an exact gap, filled by sequence.
///   (`sequence` without `history` can show a hole but never fill it: it is not relied on.)
/// - The cursor only ever moves over a contiguous range: never past an unfilled gap. Without
///   `sequence` a live push proves nothing about the messages before it (another device of the
///   user may have acknowledged one that never reached this device, so the server no longer
///   keeps it pending), so only history pages move the cursor; after
///   ``Configuration/refreshAfterPushes`` live pushes a page is fetched to move it along.
/// - A legacy server (no `history`) relies on its pending push after authentication; there is
///   no gap guarantee, and ``gapGuarantee`` says so.
struct CatchUp {
    struct Configuration: Hashable, Sendable {
        var pageSize: Int32 = 100
        /// Pages fetched right after authentication before the rest becomes a background gap.
        var foregroundPages = 5
        var backgroundPageDelay: Int64 = Micros.milliseconds(200)
        /// `history` without `sequence`: live pushes after which a history page is fetched to
        /// move the cursor over them.
        var refreshAfterPushes = 100
        /// The wait before asking again for a page that failed or made no progress; it doubles
        /// with each such page in a row, up to ``maxPageRetryDelay``.
        var pageRetryDelay: Int64 = Micros.seconds(5)
        var maxPageRetryDelay: Int64 = Micros.seconds(300)
    }

    enum Action: Hashable, Sendable {
        case requestHistory(afterCursor: SyncCursor, bySequence: Bool)
        case persist(PersistOperation)
        case setTimer(SessionTimer, at: Timestamp)
        case notify(SessionNotification)
    }

    private enum Phase: Hashable {
        /// Nothing to fetch (caught up, or not connected).
        case idle
        /// A history request is on the wire.
        case awaitingPage(pagesThisSession: Int)
        /// Waiting for the background fill timer.
        case waitingToFill(pagesThisSession: Int)
    }

    let configuration: Configuration
    let capabilities: ServerCapabilities
    private(set) var cursor: SyncCursor
    private(set) var openGap: GapRecord?
    private var nextGapID: Int64
    private var phase: Phase = .idle
    /// Sequence numbers received above the cursor, with their positions (sequence servers).
    private var receivedAhead: [UInt64: MessagePosition] = [:]
    /// Whether this authenticated session has completed a catch-up.
    private(set) var isCaughtUp = false
    /// Live pushes since the last history page (`history` without `sequence`).
    private var pushesSincePage = 0
    /// History requests in a row that failed or moved nothing: a server that keeps answering
    /// so is asked less and less often.
    private var fruitlessPages = 0

    init(configuration: Configuration = Configuration(), capabilities: ServerCapabilities, cursor: SyncCursor,
         gaps: [GapRecord]) {
        self.configuration = configuration
        self.capabilities = capabilities
        self.cursor = cursor
        self.openGap = gaps.last { $0.state == .open }
        self.nextGapID = (gaps.map(\.id).max() ?? 0) + 1
    }

    /// What the client can promise about missed messages on this server.
    var gapGuarantee: GapGuarantee {
        if usesSequence { return .exact }
        if capabilities.contains(.history) { return .byTimestamp }
        return .none
    }

    /// Sequence numbers are relied on only where history can fill the holes they show.
    private var usesSequence: Bool { capabilities.isSuperset(of: [.sequence, .history]) }

    // MARK: Events

    mutating func sessionEstablished(now: Timestamp) -> [Action] {
        isCaughtUp = false
        guard capabilities.contains(.history) else {
            isCaughtUp = true
            return [.notify(.caughtUp)]
        }
        phase = .awaitingPage(pagesThisSession: 0)
        return [requestNextPage()]
    }

    mutating func sessionLost() {
        phase = .idle
        isCaughtUp = false
    }

    /// A page of history arrived (its messages are being stored by the session). `entries` are
    /// the positions of the page's messages, those set aside included, in page order.
    mutating func pageReceived(_ entries: [PageEntry], hasMore: Bool, now: Timestamp) -> [Action] {
        guard case .awaitingPage(let pages) = phase else { return [] }
        pushesSincePage = 0
        let pagesSoFar = pages + 1
        var actions: [Action] = []
        let before = cursor
        if let last = entries.last(where: { $0.position != nil })?.position {
            var advanced = SyncCursor(position: max(cursor.position, last), sequence: cursor.sequence)
            if usesSequence, let sequence = entries.compactMap(\.sequence).max() {
                advanced.sequence = max(cursor.sequence, sequence)
            }
            cursor = absorbReceivedAhead(advanced)
        }
        if cursor != before {
            fruitlessPages = 0
            actions.append(.persist(.setSyncCursor(cursor)))
            if let gap = openGap {
                actions.append(.persist(.updateGapProgress(id: gap.id, filledUpTo: cursor)))
            }
        } else if hasMore && !entries.isEmpty {
            // A page that moves nothing would be asked for again and again: try later.
            return retryLater(pagesThisSession: pagesSoFar, now: now)
        }
        guard hasMore, !entries.isEmpty else {
            // Caught up. An empty page is the last whatever it says (every page before the
            // last holds a message, PROTOCOL.md §9): asking again would loop for ever.
            fruitlessPages = 0
            phase = .idle
            isCaughtUp = true
            if let gap = openGap {
                openGap = nil
                actions += [.persist(.markGapFilled(id: gap.id)), .notify(.gapFilled(id: gap.id))]
            }
            receivedAhead = receivedAhead.filter { $0.key > cursor.sequence }
            return actions + [.notify(.caughtUp)]
        }
        if openGap == nil && pagesSoFar >= configuration.foregroundPages {
            actions += openGapRecord(after: cursor, before: nil, now: now)
        }
        if openGap != nil {
            phase = .waitingToFill(pagesThisSession: pagesSoFar)
            return actions + [.setTimer(.gapFill, at: now.adding(configuration.backgroundPageDelay))]
        }
        phase = .awaitingPage(pagesThisSession: pagesSoFar)
        return actions + [requestNextPage()]
    }

    /// The history request failed (error reply): retry in the background.
    mutating func pageFailed(now: Timestamp) -> [Action] {
        guard case .awaitingPage(let pages) = phase else { return [] }
        return retryLater(pagesThisSession: pages, now: now)
    }

    /// Asks again after ``Configuration/pageRetryDelay``, doubled for each fruitless page in
    /// a row before this one.
    private mutating func retryLater(pagesThisSession pages: Int, now: Timestamp) -> [Action] {
        phase = .waitingToFill(pagesThisSession: pages)
        let doublings = min(fruitlessPages, 16)
        fruitlessPages += 1
        let delay = min(configuration.pageRetryDelay << doublings, configuration.maxPageRetryDelay)
        return [.setTimer(.gapFill, at: now.adding(delay))]
    }

    mutating func fillTimerFired(now: Timestamp) -> [Action] {
        guard case .waitingToFill(let pages) = phase else { return [] }
        phase = .awaitingPage(pagesThisSession: pages)
        return [requestNextPage()]
    }

    /// The front end wants the gap filled now (the conversation is on screen).
    mutating func fillNow(now: Timestamp) -> [Action] {
        fillTimerFired(now: now)
    }

    /// A message pushed live (not from history); `position` is `nil` for one set aside whose
    /// position could not be read.
    mutating func livePushReceived(position: MessagePosition?, sequence: UInt64?, connected: Bool, now: Timestamp) -> [Action] {
        if usesSequence, let sequence, let position {
            guard sequence > cursor.sequence else { return [] }
            receivedAhead[sequence] = position
            guard case .idle = phase, isCaughtUp else { return [] }
            if sequence == cursor.sequence + 1 {
                cursor = absorbReceivedAhead(cursor)
                return [.persist(.setSyncCursor(cursor))]
            }
            // An exact hole: sequence numbers cursor+1 ..< sequence are missing.
            var actions = openGap == nil
                ? openGapRecord(after: cursor, before: SyncCursor(position: position, sequence: sequence), now: now)
                : []
            if connected {
                phase = .awaitingPage(pagesThisSession: 0)
                isCaughtUp = false
                actions.append(requestNextPage())
            }
            return actions
        }
        // Timestamp cursors: a push proves nothing about the messages before it, so it never
        // moves the cursor. Enough of them, and a history page moves it over them.
        guard capabilities.contains(.history) else { return [] }
        pushesSincePage += 1
        guard pushesSincePage >= configuration.refreshAfterPushes, connected, case .idle = phase, isCaughtUp else { return [] }
        pushesSincePage = 0
        phase = .awaitingPage(pagesThisSession: 0)
        isCaughtUp = false
        return [requestNextPage()]
    }

    // MARK: Helpers

    private func requestNextPage() -> Action {
        .requestHistory(afterCursor: cursor, bySequence: usesSequence && cursor.sequence > 0)
    }

    private mutating func openGapRecord(after: SyncCursor, before: SyncCursor?, now: Timestamp) -> [Action] {
        let gap = GapRecord(id: nextGapID, conversationID: nil, after: after, before: before, filledUpTo: after,
                            state: .open, createdAt: now, updatedAt: now)
        nextGapID += 1
        openGap = gap
        return [.persist(.recordGap(id: gap.id, after: after, before: before)), .notify(.gapOpened(id: gap.id))]
    }

    /// Moves the cursor over sequence numbers already received above it.
    private mutating func absorbReceivedAhead(_ start: SyncCursor) -> SyncCursor {
        var cursor = start
        while let position = receivedAhead[cursor.sequence + 1] {
            cursor.sequence += 1
            if position > cursor.position { cursor.position = position }
            receivedAhead.removeValue(forKey: cursor.sequence)
        }
        return cursor
    }
}

/// One message of a history page, as the cursor sees it: its position and sequence number,
/// when known (a message set aside as undecodable may have neither).
struct PageEntry: Hashable, Sendable {
    var position: MessagePosition?
    var sequence: UInt64?
}

/// What the client can promise about messages missed while offline.
public enum GapGuarantee: Hashable, Sendable {
    /// `sequence` and `history`: every hole is detected exactly and filled.
    case exact
    /// `history`: everything after the cursor is fetched after each authentication.
    case byTimestamp
    /// Legacy server: only its pending push; a message it dropped is lost and cannot be detected.
    case none
}

/// The protocol extensions a server advertises in discovery.
public struct ServerCapabilities: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let idempotentSend = ServerCapabilities(rawValue: 1 << 0)
    public static let history = ServerCapabilities(rawValue: 1 << 1)
    public static let sequence = ServerCapabilities(rawValue: 1 << 2)
    public static let all: ServerCapabilities = [.idempotentSend, .history, .sequence]

    /// From the `capabilities` list of `/.well-known/sovereign.json`; unknown names are ignored.
    public init(advertised: [String]) {
        var capabilities: ServerCapabilities = []
        if advertised.contains("idempotent-send") { capabilities.insert(.idempotentSend) }
        if advertised.contains("history") { capabilities.insert(.history) }
        if advertised.contains("sequence") { capabilities.insert(.sequence) }
        self = capabilities
    }
}
