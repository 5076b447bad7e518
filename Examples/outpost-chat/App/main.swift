// outpost-chat: a terminal chat over Outpost, linking the library as an app would.
//
//     swift run outpost-sim serve --port 8765 --name Home --demo-token demo     # terminal 1
//     swift run outpost-sim serve --port 8766 --name Work --demo-token demo     # terminal 2
//     swift run outpost-chat --server http://127.0.0.1:8765 --server http://127.0.0.1:8766 --token demo
//
// Type to send to the open conversation; /help lists the commands.
import Foundation
import Outpost
import OutpostChatKit

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

let chat = ChatModel(client: client, conversation: arguments.conversation, output: say, now: { SystemClock().now() },
                     addServer: { address, token in try await client.addServer(address, signIn: ServerSignIn(sessionToken: token)) })
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
