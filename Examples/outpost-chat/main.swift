// outpost-chat: a terminal chat over Outpost, linking the library as an app would.
//
//     swift run outpost-sim serve --port 8765 --name Home --demo-token demo     # terminal 1
//     swift run outpost-sim serve --port 8766 --name Work --demo-token demo     # terminal 2
//     swift run outpost-chat --server http://127.0.0.1:8765 --server http://127.0.0.1:8766 --token demo
//
// Type to send to the open conversation; /help lists the commands.
import Foundation
import Outpost

// MARK: Arguments

struct Arguments {
    var dataDirectory = "outpost-chat-data"
    var passphrase = "outpost-demo"
    var servers: [String] = []
    var token: String?
    var conversation = "family"

    init(_ arguments: [String]) {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            let value = remaining.popFirst() ?? ""
            switch argument {
            case "--data": dataDirectory = value
            case "--passphrase": passphrase = value
            case "--server": servers.append(value)
            case "--token": token = value
            case "--conversation": conversation = value
            default:
                print("""
                    usage: outpost-chat [--data DIR] [--passphrase TEXT] [--server URL]... [--token TOKEN] [--conversation ID]
                    """)
                exit(argument == "--help" ? 0 : 64)
            }
        }
    }
}

/// Lines typed on standard input, read on a thread of their own so that no task blocks.
func standardInputLines() -> AsyncStream<String> {
    let (lines, continuation) = AsyncStream<String>.makeStream()
    let reader = Thread {
        while let line = readLine() { continuation.yield(line) }
        continuation.finish()
    }
    reader.start()
    return lines
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

// MARK: The chat

actor Chat {
    let client: OutpostClient
    var server: ServerID?
    var conversation: String
    var shown: Set<String> = []

    init(client: OutpostClient, conversation: String) {
        self.client = client
        self.conversation = conversation
    }

    /// The servers numbered by name, so that the numbers stay put from one run to the next.
    func servers() async -> [ServerInfo] {
        await client.servers().sorted { ($0.name, $0.origin) < ($1.name, $1.origin) }
    }

    func serverNumber(_ id: ServerID) async -> Int {
        (await servers().firstIndex { $0.id == id } ?? -1) + 1
    }

    func name(_ id: ServerID) async -> String {
        await client.server(id)?.name ?? id.description
    }

    func showServers() async {
        for (number, info) in await servers().enumerated() {
            let marker = info.id == server ? "*" : " "
            if case .unavailable(let reason) = info.availability {
                say("\(marker)[\(number + 1)] \(info.name) \(info.origin): unavailable (\(reason)); /remove \(number + 1) to remove it")
                continue
            }
            var line = "\(marker)[\(number + 1)] \(info.name) \(info.origin): \(info.connectionState), \(info.pendingOutboxCount) waiting to send"
            if let error = info.lastError, info.connectionState != .connected || info.consecutiveFailures > 0 {
                line += "\n      last error: \(error.message)"
                if info.consecutiveFailures > 0 { line += " (\(info.consecutiveFailures) failed attempt(s) in a row)" }
            }
            if let retry = info.nextRetryAt {
                let seconds = Double(retry.microseconds - SystemClock().now().microseconds) / 1_000_000
                line += "\n      next attempt in \(String(format: "%.1f", max(seconds, 0))) s"
            }
            say(line)
        }
    }

    func showList() async throws {
        for row in try await client.conversations(limit: 20) {
            let unread = row.summary.unreadCount > 0 ? " (\(row.summary.unreadCount) unread)" : ""
            say("  [\(await serverNumber(row.serverID))] \(row.summary.conversationID)\(unread)")
        }
    }

    func open(serverNumber: Int, conversation: String) async throws {
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
    func showNewMessages() async throws {
        guard let server else { return }
        let page = try await client.messages(in: conversation, on: server, limit: 30)
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

    func handle(_ event: OutpostEvent) async throws {
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

    func command(_ line: String) async throws -> Bool {
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
            let id = try await client.addServer(words[1], signIn: ServerSignIn(sessionToken: words[2]))
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

// MARK: Main

let arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
let keyFile = arguments.dataDirectory + ".key.json"
if !FileManager.default.fileExists(atPath: keyFile) {
    _ = try PassphraseKeyFile.create(at: keyFile, passphrase: arguments.passphrase)
}
let client = try OutpostClient(directory: arguments.dataDirectory,
                               keyProvider: PassphraseKeyFile(path: keyFile, passphrase: arguments.passphrase))
let known = Set(await client.servers().map(\.origin))
for address in arguments.servers where !known.contains(try ServerOrigin(parsing: address)) {
    guard let token = arguments.token else {
        say("--token is needed to add \(address)")
        exit(64)
    }
    do {
        let id = try await client.addServer(address, signIn: ServerSignIn(sessionToken: token))
        say("added \(await client.server(id)?.name ?? address)")
    } catch {
        say("could not add \(address): \(error)")
    }
}

let chat = Chat(client: client, conversation: arguments.conversation)
let events = await client.events()
await client.start()
if !(await client.servers().isEmpty) { try await chat.open(serverNumber: 1, conversation: arguments.conversation) }
say("Type a message and press return to send it; /help for commands.")

await withTaskGroup { group in
    group.addTask {
        for await event in events {
            do { try await chat.handle(event) } catch { say("error: \(error)") }
        }
    }
    for await line in standardInputLines() {
        do {
            guard try await chat.command(line) else { break }
        } catch {
            say("error: \(error)")
        }
    }
    await client.close()
    group.cancelAll()
}
