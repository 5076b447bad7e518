import Foundation
import OutpostClientCore

/// The chat's logic, apart from the terminal: what `/servers` and `/list` show, the open
/// conversation, commands and events. It speaks to any `OutpostClientProtocol`: the
/// app's `OutpostClient`, or a `SimulatedClient` in the chat's tests.
public actor ChatModel {
    let client: any OutpostClientProtocol
    /// The open server.
    public private(set) var server: ServerID?
    /// The open conversation.
    public private(set) var conversation: String
    var shown: Set<String> = []
    private let say: @Sendable (String) -> Void
    private let now: @Sendable () -> Timestamp
    private let addServer: (@Sendable (_ address: String, _ token: String) async throws -> ServerID)?

    /// - Parameters:
    ///   - output: where the chat's lines go (the terminal).
    ///   - now: the time, for "next attempt in …".
    ///   - addServer: how `/add <url> <token>` adds a server (discovery needs the app's client).
    public init(client: any OutpostClientProtocol, conversation: String, output: @escaping @Sendable (String) -> Void,
                now: @escaping @Sendable () -> Timestamp,
                addServer: (@Sendable (_ address: String, _ token: String) async throws -> ServerID)? = nil) {
        self.client = client
        self.conversation = conversation
        self.say = output
        self.now = now
        self.addServer = addServer
    }

    /// How many messages wait to be sent, across every server: the badge on the chat's title.
    public func waitingToSend() async -> Int {
        await client.servers().reduce(0) { $0 + $1.pendingOutboxCount }
    }

    /// The servers numbered by name, so that the numbers stay put from one run to the next.
    public func servers() async -> [ServerInfo] {
        await client.servers().sorted { ($0.name, $0.origin) < ($1.name, $1.origin) }
    }

    func serverNumber(_ id: ServerID) async -> Int {
        (await servers().firstIndex { $0.id == id } ?? -1) + 1
    }

    func name(_ id: ServerID) async -> String {
        await client.server(id)?.name ?? id.description
    }

    /// What `/servers` shows: one entry per server, numbered, the open one starred.
    public func serverLines() async -> [String] {
        var lines: [String] = []
        for (number, info) in await servers().enumerated() {
            let marker = info.id == server ? "*" : " "
            if case .unavailable(let reason) = info.availability {
                lines.append("\(marker)[\(number + 1)] \(info.name) \(info.origin): unavailable (\(reason)); /remove \(number + 1) to remove it")
                continue
            }
            var line = "\(marker)[\(number + 1)] \(info.name) \(info.origin): \(info.connectionState), \(info.pendingOutboxCount) waiting to send"
            if let error = info.lastError, info.connectionState != .connected || info.consecutiveFailures > 0 {
                line += "\n      last error: \(error.message)"
                if info.consecutiveFailures > 0 { line += " (\(info.consecutiveFailures) failed attempt(s) in a row)" }
            }
            if let retry = info.nextRetryAt {
                let seconds = Double(retry.microseconds - now().microseconds) / 1_000_000
                line += "\n      next attempt in \(String(format: "%.1f", max(seconds, 0))) s"
            }
            lines.append(line)
        }
        return lines
    }

    func showServers() async {
        for line in await serverLines() { say(line) }
    }

    func showList() async throws {
        for row in try await client.conversations(limit: 20, servers: nil) {
            let unread = row.summary.unreadCount > 0 ? " (\(row.summary.unreadCount) unread)" : ""
            say("  [\(await serverNumber(row.serverID))] \(row.summary.conversationID)\(unread)")
        }
    }

    public func open(serverNumber: Int, conversation: String) async throws {
        let list = await servers()
        guard list.indices.contains(serverNumber - 1) else { return say("no server \(serverNumber)") }
        server = list[serverNumber - 1].id
        self.conversation = conversation
        shown.removeAll()
        say("— \(list[serverNumber - 1].name) / \(conversation) —")
        try await showNewMessages()
    }

    /// Prints the messages of the open conversation that are not on screen yet, and marks
    /// them read.
    public func showNewMessages() async throws {
        guard let server else { return }
        let page = try await client.messages(in: conversation, on: server, before: nil, limit: 30)
        for item in page.items {
            switch item {
            case .message(let message) where !shown.contains(message.messageID):
                shown.insert(message.messageID)
                say("  \(message.senderID): \(String(decoding: message.payload, as: UTF8.self))")
            case .gap:
                say("  … older messages are still arriving …")
            default:
                continue
            }
        }
        try await client.markRead(conversation, on: server)
    }

    public func handle(_ event: OutpostEvent) async throws {
        guard let eventServer = event.server else {
            // This terminal fell behind the events: show the conversation again.
            return try await showNewMessages()
        }
        switch event.kind {
        case .connectionStateChanged(let state):
            say("[\(await serverNumber(eventServer))] \(await name(eventServer)): \(state)")
        case .disconnected(let reason) where reason.isFailure:
            say("[\(await serverNumber(eventServer))] \(await name(eventServer)): \(reason.message)")
        case .authFailed(let reason):
            say("[\(await serverNumber(eventServer))] sign-in expired (\(reason)): /token \(await serverNumber(eventServer)) <new token>")
        case .messagesStored:
            if eventServer == server { try await showNewMessages() }
        case .outboxItemSent(let clientMessageID, _):
            say("  ✓ sent \(clientMessageID.prefix(8))")
        case .outboxItemFailed(let clientMessageID, let failure):
            say("  ✗ \(clientMessageID.prefix(8)) failed: \(failure.reason) (/retry or /cancel)")
        case .outboxItemExpired(let clientMessageID):
            say("  ✗ \(clientMessageID.prefix(8)) expired before it could be sent")
        case .storageFailed(let reason):
            say("storage error: \(reason)")
        default:
            break
        }
    }

    /// Carries out one typed line: a command, or a message to send; `false` for `/quit`.
    public func command(_ line: String) async throws -> Bool {
        let words = line.split(separator: " ").map(String.init)
        switch words.first {
        case "/quit": return false
        case "/help":
            say("""
                /servers  /list  /open <n> <conversation>  /outbox  /retry <id>  /cancel <id>
                /background  /foreground  /offline  /online  /lowpower on|off  /token <n> <token>
                /add <url> <token>  /remove <n>  /diagnostics  /quit;  anything else is sent
                """)
        case "/servers": await showServers()
        case "/list": try await showList()
        case "/open" where words.count == 3:
            try await open(serverNumber: Int(words[1]) ?? 0, conversation: words[2])
        case "/outbox":
            guard let server else { break }
            for item in try await client.outbox(on: server) where item.state != .sent {
                say("  \(item.clientMessageID.prefix(8)) \(item.state) \(item.failure?.reason ?? "")")
            }
        case "/retry" where words.count == 2, "/cancel" where words.count == 2:
            guard let server else { break }
            let item = try await client.outbox(on: server).first { $0.clientMessageID.hasPrefix(words[1]) }
            guard let item else { say("no such item"); break }
            if words[0] == "/retry" { try await client.retry(item.clientMessageID, on: server) }
            else { try await client.cancel(item.clientMessageID, on: server) }
        case "/diagnostics": say(await client.diagnostics().description)
        case "/lowpower" where words.count == 2: await client.setLowPowerMode(words[1] == "on")
        case "/background": await client.didEnterBackground()
        case "/foreground": await client.willEnterForeground()
        case "/offline": await client.networkLost()
        case "/online": await client.networkRestored()
        case "/token" where words.count == 3:
            let list = await servers()
            guard let number = Int(words[1]), list.indices.contains(number - 1) else { break }
            try await client.updateSessionToken(words[2], for: list[number - 1].id)
        case "/add" where words.count == 3:
            guard let addServer else { say("adding servers is not available here"); break }
            let id = try await addServer(words[1], words[2])
            if server == nil { server = id }
        case "/remove" where words.count == 2:
            let list = await servers()
            guard let number = Int(words[1]), list.indices.contains(number - 1) else { break }
            try await client.removeServer(list[number - 1].id)
            if server == list[number - 1].id { server = nil }
        default:
            guard !line.hasPrefix("/") else { say("unknown command; /help"); break }
            guard let server else { say("no server open: /add or /open"); break }
            try await client.send(Array(line.utf8), to: conversation, on: server)
        }
        return true
    }
}
