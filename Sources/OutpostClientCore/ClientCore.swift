import CoreMetrics
import Logging
import OutpostStore
import OutpostSync

/// The deterministic client: the encrypted store and the life of its servers. Each server's
/// traffic is its own ``ServerCore``; this type makes them, adds and removes servers, and
/// answers for what spans servers. The runtime (``OutpostClient`` in `Outpost`) and the
/// simulator drive the same code.
///
/// - **Startup.** Every server is loaded on its own: one whose partition cannot be opened (a
///   damaged or missing file, a setup that never finished) is listed as unavailable with the
///   reason, can be removed, and holds up no other.
/// - **Adding** a server is all or nothing: its partition is created with its configuration and
///   credentials inside before the server is listed, so a failure or a crash leaves no
///   half-added server behind.
/// - **Removing** one destroys its partition, crash-safe; the driver stops its core first
///   (``ServerInput/remove``).
///
/// Not `Sendable`: used from one serial executor (the runtime's actor, the simulator's loop).
/// The server cores it makes are values that may run on executors of their own.
public final class ClientCore {
    public struct Configuration: Sendable {
        /// Every server core's settings.
        public var server = ServerCore.Configuration()
        /// The partition pool and durability of the store.
        public var store = Store.Options()
        /// Where the cores log what happens to each server (the server's id is added as
        /// `server` metadata; never a token, a key, a payload or an address below `.debug`).
        /// Silent by default; the runtime passes the app's logger.
        public var logger: Logger = .silent
        /// Where the per-server metrics go (see the table in `ServerTelemetry`). None by
        /// default; the runtime passes `MetricsSystem.factory`.
        public var metrics: any MetricsFactory = NOOPMetricsHandler.instance

        public init() {}
    }

    public let store: Store
    public let configuration: Configuration
    private var random: SplitMix64
    /// Numbers every server core made, so that connections of a server added again never
    /// collide with those of its previous core.
    private var incarnations: UInt64 = 0
    /// How many cores were made for each origin: with the origin, it names each core's own
    /// random stream, so that the streams do not depend on the order servers are loaded in
    /// (by id, and ids are keyed hashes that differ from one directory to the next).
    private var coresMade: [ServerOrigin: Int] = [:]
    private var unavailable: [ServerID: ServerInfo] = [:]

    /// Opens (or creates) the data directory.
    ///
    /// - Parameter seed: the source of every random choice the cores make (backoff jitter,
    ///   client message ids): a random value in an app, the scenario's seed in a simulation.
    /// - Throws: ``OutpostError`` with code ``OutpostError/Code/storage`` when the directory
    ///   cannot be opened (wrong key, damaged header …); nothing is ever deleted to recover.
    public init(directory: String, keyProvider: some KeyProvider, configuration: Configuration = Configuration(),
                seed: UInt64) throws(OutpostError) {
        do {
            store = try Store.open(at: directory, keyProvider: keyProvider, options: configuration.store)
        } catch {
            throw .storage(error)
        }
        self.configuration = configuration
        random = SplitMix64(seed: seed)
    }

    /// Closes the store. Every server core made by this client is unusable afterwards.
    public func close() {
        store.close()
    }

    // MARK: Servers

    /// Makes a core for every server in the directory, in the order of their ids. A server
    /// whose partition cannot be read is left out and listed by ``unavailableServers`` instead.
    public func loadServers(now: Timestamp) -> [ServerCore] {
        unavailable.removeAll()
        var cores: [ServerCore] = []
        for record in store.servers().sorted(by: { $0.id < $1.id }) {
            do {
                let partition = try store.partition(for: record.id)
                guard let config = try partition.credentials().serverConfig else {
                    unavailable[record.id] = unavailableInfo(record.id, record.origin,
                                                             reason: "its setup never finished: no server configuration is stored")
                    continue
                }
                // Sends in flight when the app last stopped may or may not have reached the
                // server: they go out again with the same client message id. (Only what the
                // outbox shows depends on this write; the session re-sends them anyway.)
                _ = try? partition.returnAllInFlightToQueue(now: now)
                cores.append(try makeCore(partition, config: config))
            } catch {
                unavailable[record.id] = unavailableInfo(record.id, record.origin, reason: error.description)
            }
        }
        return cores
    }

    /// Servers whose partition could not be opened at the last ``loadServers(now:)``, each with
    /// the reason. They can be removed.
    public var unavailableServers: [ServerInfo] {
        unavailable.keys.sorted().compactMap { unavailable[$0] }
    }

    /// The id `origin` has (or would have) in this directory.
    public func serverID(for origin: ServerOrigin) -> ServerID {
        store.serverID(for: origin)
    }

    /// Adds a server with its configuration and the credentials of the front end's sign-in,
    /// and returns its core (not started: hand it ``ServerInput/start(foreground:reachable:)``).
    public func addServer(_ origin: ServerOrigin, config: ServerConfig, signIn: ServerSignIn,
                          now: Timestamp) throws(OutpostError) -> ServerCore {
        let setup = ServerSetup(origin: origin, config: config, sessionToken: signIn.sessionToken, ownUserID: signIn.userID,
                                passkeyCredentialID: signIn.passkeyCredentialID)
        do {
            let partition = try store.addServer(setup, now: now)
            unavailable.removeValue(forKey: partition.id)
            return try makeCore(partition, config: config)
        } catch where error.code == .serverAlreadyAdded {
            throw OutpostError(.serverAlreadyAdded, "\(origin) is already added")
        } catch {
            throw .storage(error)
        }
    }

    /// Destroys server `id`'s partition: messages, outbox, keys, credentials. Crash-safe: a
    /// removal cut short completes when the directory is next opened. The driver first hands
    /// the server's core ``ServerInput/remove`` (an unavailable server has no core).
    public func removeServer(_ id: ServerID) throws(OutpostError) {
        var logger = configuration.logger
        logger[metadataKey: "server"] = "\(id)"
        do {
            try store.removeServer(id)
            unavailable.removeValue(forKey: id)
            logger.info("server removed: partition destroyed")
        } catch where error.code == .serverNotFound {
            throw OutpostError(.unknownServer, "no server \(id)")
        } catch {
            // Its core is stopped already: until a removal completes (asked again, or at the
            // next launch) the server is listed as unavailable, with the reason.
            if let record = store.servers().first(where: { $0.id == id }) {
                unavailable[id] = unavailableInfo(id, record.origin, reason: "its removal did not finish (\(error)); remove it again")
            }
            logger.error("server removal did not finish", metadata: ["error": "\(error.code)"])
            throw .storage(error)
        }
    }

    // MARK: Across servers

    /// The unified conversation list: conversations of every server (or of `servers`), most
    /// recent activity first, each tagged with its server. No query spans two partitions.
    public func conversations(limit: Int = 50, servers: Set<ServerID>? = nil) throws(OutpostError) -> [UnifiedConversation] {
        var filter = servers
        if !unavailable.isEmpty {
            filter = (servers ?? Set(store.servers().map(\.id))).subtracting(unavailable.keys)
        }
        do { return try store.unifiedConversations(limit: limit, servers: filter) } catch { throw .storage(error) }
    }

    // MARK: Diagnostics

    /// The servers that could not be loaded, as a ``ClientDiagnostics`` lists them (the loaded
    /// ones come from their ``ServerCore/diagnostics()``).
    public var unavailableDiagnostics: [ServerDiagnostics] {
        unavailableServers.map { info in
            var reason = ""
            if case .unavailable(let why) = info.availability { reason = why }
            return ServerDiagnostics(server: info.id, unavailableReason: reason, connectionState: .disconnected, capabilities: [],
                                     gapGuarantee: .none, outboxDepth: 0, openGaps: 0, lastError: nil, consecutiveFailures: 0,
                                     nextRetryAt: nil, isLowPower: false, setAsideCount: 0, storage: nil)
        }
    }

    // MARK: Helpers

    private func makeCore(_ partition: Partition, config: ServerConfig) throws(StoreError) -> ServerCore {
        let snapshot = try partition.sessionSnapshot()
        incarnations += 1
        coresMade[partition.origin, default: 0] += 1
        let stream = random.derived("\(partition.origin.value)#\(coresMade[partition.origin]!)")
        return ServerCore(id: partition.id, origin: partition.origin, config: config, partition: partition, snapshot: snapshot,
                          incarnation: incarnations, random: stream, configuration: configuration.server,
                          telemetry: ServerTelemetry(server: partition.id, logger: configuration.logger, metrics: configuration.metrics))
    }

    private func unavailableInfo(_ id: ServerID, _ origin: ServerOrigin, reason: String) -> ServerInfo {
        ServerInfo(id: id, origin: origin, availability: .unavailable(reason: reason), name: origin.host, capabilities: [],
                   connectionState: .disconnected, gapGuarantee: .none, pendingOutboxCount: 0)
    }
}
