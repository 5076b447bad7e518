import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import OutpostWire

/// Puts a ``ServerHost`` on a loopback port: HTTP for discovery and the fault controls,
/// WebSocket (`sovereign.v1`, binary frames, 64 KiB) at `/ws` for the protocol.
///
/// ```swift
/// let host = ServerHost(name: "home", behaviour: .extended, users: ["me", "alice"], conversations: ["family"])
/// let server = try await WebSocketServer.start(port: 0, serverHost: host)
/// // … ws://127.0.0.1:\(server.port)/ws
/// await server.stop()
/// ```
public final class WebSocketServer: Sendable {
    enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocolRequested: Bool)
        case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>)
    }

    /// The bound port.
    public let port: Int
    private let serverHost: ServerHost
    private let listenerChannel: any Channel
    private let acceptLoop: Task<Void, Never>

    private init(port: Int, serverHost: ServerHost, listenerChannel: any Channel, acceptLoop: Task<Void, Never>) {
        self.port = port
        self.serverHost = serverHost
        self.listenerChannel = listenerChannel
        self.acceptLoop = acceptLoop
    }

    /// Binds `host:port` (port 0: any free port) and starts accepting connections; with `tls`,
    /// every connection is TLS (`https`, `wss`).
    public static func start(
        host: String = "127.0.0.1", port: Int, serverHost: ServerHost, tls: NIOSSLContext? = nil
    ) async throws -> WebSocketServer {
        let listener: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never> = try await ServerBootstrap(group: .singletonMultiThreadedEventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    return try configureUpgradablePipeline(channel)
                }
            }
        let boundPort = listener.channel.localAddress?.port ?? port
        await serverHost.setEndpoint(port: boundPort, secure: tls != nil)
        let acceptLoop = Task<Void, Never> {
            await withDiscardingTaskGroup { group in
                try? await listener.executeThenClose { inbound in
                    for try await upgrade in inbound {
                        group.addTask {
                            switch try? await upgrade.get() {
                            case .websocket(let channel, let requested)?:
                                await serveWebSocket(channel, subprotocolRequested: requested, host: serverHost)
                            case .http(let channel)?:
                                await serveHTTP(channel, host: serverHost)
                            case nil:
                                break
                            }
                        }
                    }
                }
            }
        }
        return WebSocketServer(port: boundPort, serverHost: serverHost, listenerChannel: listener.channel, acceptLoop: acceptLoop)
    }

    /// Stops listening and drops every connection, as a killed server process would. The
    /// ``ServerHost`` keeps its state: starting a new server with it on the same port is a
    /// restart.
    public func stop() async {
        try? await listenerChannel.close()
        await serverHost.dropAllConnections()
        await acceptLoop.value
    }

    /// Returns when the listener closes.
    public func waitUntilClosed() async {
        await acceptLoop.value
    }

    private static func configureUpgradablePipeline(_ channel: any Channel) throws -> EventLoopFuture<Upgrade> {
        let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
            maxFrameSize: WireCodec.maxEnvelopeBytes,
            shouldUpgrade: { channel, head in
                var headers = HTTPHeaders()
                if requestedProtocols(head).contains(WireCodec.subprotocol) {
                    headers.add(name: "Sec-WebSocket-Protocol", value: WireCodec.subprotocol)
                }
                return channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/ws") ? headers : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    Upgrade.websocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel),
                                      subprotocolRequested: requestedProtocols(head).contains(WireCodec.subprotocol))
                }
            })
        let configuration = NIOTypedHTTPServerUpgradeConfiguration(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    Upgrade.http(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                }
            })
        return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
            configuration: .init(upgradeConfiguration: configuration))
    }

    private static func requestedProtocols(_ head: HTTPRequestHead) -> [String] {
        head.headers["Sec-WebSocket-Protocol"].joined(separator: ",")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private static func serveWebSocket(
        _ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocolRequested: Bool, host: ServerHost
    ) async {
        try? await channel.executeThenClose { inbound, outbound in
            if await host.isDown {
                try? await channel.channel.close()
                return
            }
            let id = await host.opened(channel: channel.channel, writer: outbound)
            guard subprotocolRequested else {
                await host.close(id, code: SovereignCloseCode.policyViolation.rawValue)
                return
            }
            let deadline = Task {
                try await Task.sleep(for: .seconds(10))
                await host.authDeadline(id)
            }
            defer { deadline.cancel() }
            var message: [UInt8] = []
            for try await frame in inbound {
                switch frame.opcode {
                case .binary, .continuation:
                    message += frame.unmaskedData.readableBytesView
                    guard frame.fin else { continue }
                    let bytes = message
                    message.removeAll()
                    await host.received(bytes, on: id)
                case .text:
                    await host.close(id, code: SovereignCloseCode.unsupportedData.rawValue)
                    return
                case .ping:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                case .connectionClose:
                    await host.closeReceived(id)
                    return
                default:
                    continue
                }
            }
            await host.closed(id)
        }
    }

    private static func serveHTTP(
        _ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, host: ServerHost
    ) async {
        try? await channel.executeThenClose { inbound, outbound in
            var requestHead: HTTPRequestHead?
            for try await part in inbound {
                // Answer once the whole request is in, so the client is never cut off mid-write.
                if case .head(let head) = part { requestHead = head }
                guard case .end = part, let head = requestHead else { continue }
                // Form encoding: a `+` in a query value is a space.
                let components = URLComponents(string: head.uri.replacingOccurrences(of: "+", with: "%20"))
                let path = components?.path ?? head.uri
                let query = Dictionary((components?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
                let response: (status: HTTPResponseStatus, body: String, type: String)
                if path == "/.well-known/sovereign.json" {
                    if await host.isDown {
                        response = (.serviceUnavailable, "down\n", "text/plain")
                    } else if await host.publishesDiscovery {
                        response = (.ok, await host.discoveryDocument(), "application/json")
                    } else {
                        response = (.notFound, "404 page not found\n", "text/plain")
                    }
                } else if path.hasPrefix("/control/") {
                    let result = await host.control(String(path.dropFirst("/control/".count)), query)
                    response = (result.status, result.body, "text/plain")
                } else {
                    response = (.notFound, "not found\n", "text/plain")
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: response.type)
                headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                try await outbound.write(contentsOf: [
                    .head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)),
                    .body(.byteBuffer(ByteBuffer(string: response.body))), .end(nil),
                ])
                return
            }
        }
    }
}
