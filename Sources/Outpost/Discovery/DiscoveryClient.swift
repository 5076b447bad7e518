import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OutpostStore

/// Fetches a server's discovery document. ``HTTPDiscoveryClient`` is the implementation that
/// ships with Outpost; tests and Apple front ends may supply their own.
public protocol DiscoveryClient: Sendable {
    /// `GET <origin>/.well-known/sovereign.json`, validated.
    func discover(_ origin: ServerOrigin) async throws(OutpostError) -> DiscoveryDocument
}

/// Discovery over HTTP/1.1 with swift-nio: HTTPS (plain HTTP to loopback hosts only), a
/// deadline on the whole exchange, and a size limit on the answer.
public struct HTTPDiscoveryClient: DiscoveryClient {
    public struct Configuration: Sendable {
        /// The deadline of the whole request: connect, TLS, request and answer.
        public var timeout: Duration = .seconds(10)
        /// The largest document accepted.
        public var maxDocumentBytes = 64 * 1024
        /// The TLS settings for `https`: system trust roots, TLS 1.2 at least (a lower minimum
        /// set here is raised to 1.2).
        public var tls: TLSConfiguration = .makeOutpostClientConfiguration()

        public init() {}
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup

    public init(configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// Where a server publishes its discovery document.
    public static let path = "/.well-known/sovereign.json"

    /// `GET <origin>/.well-known/sovereign.json`. A server that answers 404 or 410 publishes
    /// no document: it is a legacy server (``DiscoveryDocument/absent(for:)``), as the upstream
    /// Sovereign server is. Any other failure (no connection, a timeout, a TLS failure, a 5xx)
    /// fails with its own code: nothing showed that a server is there.
    public func discover(_ origin: ServerOrigin) async throws(OutpostError) -> DiscoveryDocument {
        let url = origin.value + Self.path
        let endpoint = try Endpoint(httpURL: url)
        let answer: (status: HTTPResponseStatus, body: [UInt8])
        do {
            answer = try await get(endpoint, url: url)
        } catch let error as OutpostError {
            throw error
        } catch {
            throw OutpostError(.connectionFailed, "\(url): \(error)")
        }
        switch answer.status {
        case .ok:
            return try DiscoveryDocument(json: Data(answer.body), source: url)
        case .notFound, .gone:
            return .absent(for: origin)
        case let status where status.code >= 500:
            throw OutpostError(.serverError, "\(url): HTTP \(status.code) \(status.reasonPhrase)")
        case let status:
            throw OutpostError(.invalidDiscoveryDocument, "\(url): HTTP \(status.code) \(status.reasonPhrase)")
        }
    }

    private func get(_ endpoint: Endpoint, url: String) async throws -> (status: HTTPResponseStatus, body: [UInt8]) {
        let sslContext = try endpoint.usesTLS ? NIOSSLContext(configuration: configuration.tls.withModernMinimum) : nil
        let deadline = ChannelDeadline(configuration.timeout)
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(configuration.timeout.nanoseconds))
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let sslContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: sslContext, serverHostname: endpoint.serverNameIndication))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        deadline.arm(on: channel, until: channel.closeFuture)
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw OutpostError.connect(url, error)
        }
        let limit = configuration.maxDocumentBytes
        let timeout = configuration.timeout
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: endpoint.hostHeader)
                headers.add(name: "Accept", value: "application/json")
                headers.add(name: "Connection", value: "close")
                // One write for the whole request: a server may answer and close as soon as it
                // has the head.
                try await outbound.write(contentsOf: [
                    .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.pathAndQuery, headers: headers)),
                    .end(nil),
                ])
                var status: HTTPResponseStatus?
                var body: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = head.status
                    case .body(let buffer):
                        body += buffer.readableBytesView
                        guard body.count <= limit else {
                            throw OutpostError(.protocolViolation, "\(url): the document is larger than \(limit) bytes")
                        }
                    case .end:
                        guard let status else { break }
                        return (status, body)
                    }
                }
                if deadline.expired { throw OutpostError(.timedOut, "\(url): no answer within \(timeout)") }
                throw OutpostError(.connectionFailed, "\(url): the connection closed before the answer was complete")
            }
        } catch let error as OutpostError {
            throw error
        } catch {
            throw deadline.expired ? OutpostError(.timedOut, "\(url): no answer within \(timeout)")
                : OutpostError(.connectionFailed, "\(url): \(error)")
        }
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating far beyond any timeout in use).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
