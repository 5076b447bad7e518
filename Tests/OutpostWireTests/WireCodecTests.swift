import Foundation
import OutpostWire
import Testing

@Suite("Wire codec")
struct WireCodecTests {
    /// One frame of every client type, with every field set, and its number from PROTOCOL.md §2.
    static let clientFrames: [(ClientFrame, Int)] = [
        (.authRequest(.with { $0.username = "token" }), 1),
        (.authResponse(.with {
            $0.credentialID = Data([1]); $0.authenticatorData = Data([2]); $0.clientDataJson = Data([3]); $0.signature = Data([4])
        }), 3),
        (.authRegisterRequest(.with { $0.username = "ana"; $0.displayName = "Ana" }), 6),
        (.authRegisterResponse(.with {
            $0.credentialID = Data([1]); $0.authenticatorData = Data([2]); $0.clientDataJson = Data([3]); $0.attestationObject = Data([4])
        }), 8),
        (.historyRequest(.with {
            $0.afterTimestamp = 5; $0.afterMessageID = "m"; $0.limit = 100; $0.conversationID = "c"; $0.afterSequence = 9
        }), 10),
        (.messageSend(.with {
            $0.conversationID = "c"; $0.encryptedPayload = Data([9]); $0.messageType = "text"; $0.clientMessageID = "x"
        }), 20),
        (.messageAck(.with { $0.messageID = "m" }), 22),
        (.groupCreate(.with { $0.title = "t"; $0.memberIds = ["a", "b"] }), 30),
        (.groupInvite(.with { $0.conversationID = "c"; $0.userID = "u" }), 32),
        (.groupLeave(.with { $0.conversationID = "c" }), 35),
        (.mlsKeyPackageUpload(.with { $0.keyPackageData = Data([1, 2]) }), 40),
        (.mlsKeyPackageFetch(.with { $0.userID = "u" }), 41),
        (.mlsWelcome(.with { $0.conversationID = "c"; $0.recipientID = "r"; $0.welcomeData = Data([4]) }), 43),
        (.mlsCommit(.with { $0.conversationID = "c"; $0.commitData = Data([5]) }), 45),
        (.presenceUpdate(.with { $0.status = "away" }), 50),
        (.ping(.with { $0.timestamp = 42 }), 60),
    ]

    /// One frame of every server type, with every field set, and its number from PROTOCOL.md §2.
    static let serverFrames: [(ServerFrame, Int)] = [
        (.authChallenge(.with { $0.challenge = Data([1]); $0.credentialRequestOptions = Data("{}".utf8) }), 2),
        (.authSuccess(.with { $0.sessionToken = "t"; $0.userID = "u"; $0.username = "ana"; $0.displayName = "Ana" }), 4),
        (.authError(.with { $0.errorCode = 1002; $0.message = "expired" }), 5),
        (.authRegisterChallenge(.with { $0.challenge = Data([2]); $0.credentialCreationOptions = Data("{}".utf8) }), 7),
        (.authRegisterSuccess(.with { $0.userID = "u"; $0.sessionToken = "t" }), 9),
        (.historyResponse(.with { $0.messages = [message(1), message(2)]; $0.hasMore = true }), 11),
        (.messageReceive(message(3)), 21),
        (.messageDelivered(.with { $0.messageID = "m"; $0.deliveredTo = "u" }), 23),
        (.groupCreated(.with {
            $0.conversationID = "c"; $0.title = "t"
            $0.members = [.with { $0.userID = "u"; $0.username = "ana"; $0.displayName = "Ana"; $0.role = "admin" }]
        }), 31),
        (.groupMemberAdded(.with { $0.conversationID = "c"; $0.userID = "u"; $0.addedBy = "a" }), 33),
        (.groupMemberRemoved(.with { $0.conversationID = "c"; $0.userID = "u"; $0.removedBy = "a" }), 34),
        (.mlsKeyPackageResponse(.with { $0.userID = "u"; $0.keyPackageData = Data([1]) }), 42),
        (.mlsWelcomeReceive(.with { $0.conversationID = "c"; $0.senderID = "s"; $0.welcomeData = Data([1]) }), 44),
        (.mlsCommitBroadcast(.with { $0.conversationID = "c"; $0.senderID = "s"; $0.commitData = Data([1]) }), 46),
        (.presenceNotify(.with { $0.userID = "u"; $0.status = "online" }), 51),
        (.pong(.with { $0.timestamp = 42 }), 61),
        (.error(.with { $0.code = 3004; $0.message = "slow down"; $0.fatal = false }), 62),
    ]

    static func message(_ sequence: UInt64) -> MessageReceive {
        .with {
            $0.messageID = "01J\(sequence)"; $0.conversationID = "c"; $0.senderID = "s"; $0.encryptedPayload = Data([7])
            $0.serverTimestamp = 1_700_000_000_000_000; $0.messageType = "text"; $0.clientMessageID = "x"; $0.sequence = sequence
        }
    }

    // MARK: Round trips

    @Test(arguments: clientFrames)
    func clientFramesRoundTrip(frame: ClientFrame, number: Int) throws {
        #expect(frame.messageType.rawValue == number)
        for requestID in ["r1", ""] {
            let envelope = ClientEnvelope(requestID: requestID, frame: frame)
            let bytes = try WireCodec.encode(envelope)
            #expect(try WireCodec.decodeClientEnvelope(bytes) == envelope)
            #expect(try Envelope(serializedBytes: bytes).type.rawValue == number)
            // A client frame arriving at a client is refused.
            #expect(atClient(bytes) == .wrongDirection)
        }
    }

    @Test(arguments: serverFrames)
    func serverFramesRoundTrip(frame: ServerFrame, number: Int) throws {
        #expect(frame.messageType.rawValue == number)
        for requestID in ["r1", ""] {
            let envelope = ServerEnvelope(requestID: requestID, frame: frame)
            let bytes = try WireCodec.encode(envelope)
            #expect(try WireCodec.decodeServerEnvelope(bytes) == envelope)
            #expect(try Envelope(serializedBytes: bytes).type.rawValue == number)
            #expect(atServer(bytes) == .wrongDirection)
        }
    }

    @Test func everyMessageTypeButUnspecifiedHasExactlyOneDirection() {
        let client = Set(Self.clientFrames.map(\.1))
        let server = Set(Self.serverFrames.map(\.1))
        #expect(client.count == Self.clientFrames.count && server.count == Self.serverFrames.count)
        #expect(client.isDisjoint(with: server))
        #expect(client.union(server) == Set(MessageType.allCases.map(\.rawValue)).subtracting([0]))
    }

    // MARK: Errors

    /// The code of the error `body` throws; `nil` when it returns.
    func code<T>(_ body: () throws(WireError) -> T) -> WireError.Code? {
        do {
            _ = try body()
            return nil
        } catch {
            return error.code
        }
    }

    /// What a client makes of `bytes`: `nil` for a frame, else the error's code.
    func atClient(_ bytes: [UInt8]) -> WireError.Code? { code { () throws(WireError) in try WireCodec.decodeServerEnvelope(bytes) } }

    /// What a server makes of `bytes`.
    func atServer(_ bytes: [UInt8]) -> WireError.Code? { code { () throws(WireError) in try WireCodec.decodeClientEnvelope(bytes) } }

    /// An envelope built by hand, so it can carry anything.
    static func rawEnvelope(type: Int, payload: [UInt8] = [], requestID: String = "") throws -> [UInt8] {
        var envelope = Envelope()
        envelope.type = MessageType(rawValue: type) ?? .UNRECOGNIZED(type)
        envelope.requestID = requestID
        envelope.payload = Data(payload)
        return try envelope.serializedBytes()
    }

    @Test func bytesThatAreNotAnEnvelopeAreMalformed() throws {
        #expect(atClient([0xFF, 0xFF, 0xFF]) == .malformedEnvelope)
        #expect(atServer([0x08]) == .malformedEnvelope, "a tag without its value")
        #expect(atClient([0x12, 0x05, 0x41]) == .malformedEnvelope, "a truncated request_id")
        #expect(atClient([0x08, 0x15, 0x12, 0x01, 0xFF]) == .malformedEnvelope, "a request_id that is not UTF-8")
    }

    @Test func typeZeroIsRefused() throws {
        #expect(atClient([]) == .unspecifiedMessageType, "an empty message is an envelope of type 0")
        #expect(atClient(try Self.rawEnvelope(type: 0, payload: [1])) == .unspecifiedMessageType)
        #expect(atServer(try Self.rawEnvelope(type: 0, requestID: "r")) == .unspecifiedMessageType)
        #expect(WireError.unspecifiedMessageType.code == .unspecifiedMessageType)
    }

    @Test(arguments: [12, 19, 24, 47, 52, 63, 99, 1_000_000, -1])
    func unknownTypeNumbersAreRefused(number: Int) throws {
        let bytes = try Self.rawEnvelope(type: number)
        #expect(atClient(bytes) == .unknownMessageType)
        #expect(atServer(bytes) == .unknownMessageType)
        #expect(WireError.unknownMessageType(number).detail.contains("\(number)"))
    }

    @Test func payloadsThatAreNotTheirTypesMessageAreMalformed() throws {
        // MESSAGE_RECEIVE whose message_id claims 5 bytes and has 1.
        #expect(atClient(try Self.rawEnvelope(type: 21, payload: [0x0A, 0x05, 0x41])) == .malformedPayload)
        // MESSAGE_SEND whose conversation_id is not UTF-8.
        #expect(atServer(try Self.rawEnvelope(type: 20, payload: [0x0A, 0x01, 0xFF])) == .malformedPayload)
        // HISTORY_RESPONSE whose nested message is cut short.
        #expect(atClient(try Self.rawEnvelope(type: 11, payload: [0x0A, 0x02, 0x0A, 0x03])) == .malformedPayload)
        // Field number 0 is invalid.
        #expect(atClient(try Self.rawEnvelope(type: 61, payload: [0x00, 0x00])) == .malformedPayload)
        let error = WireError.malformedPayload(.pong, "why")
        #expect(error.detail.contains("61") && error.description.hasPrefix("malformed payload"))
    }

    @Test func unknownFieldsInAPayloadAreIgnored() throws {
        // A legacy peer must accept the extensions' fields, and we must accept fields newer than ours.
        let pong = try WireCodec.decodeServerEnvelope(Self.rawEnvelope(type: 61, payload: [0x08, 0x2A, 0xF8, 0x01, 0x07]))
        guard case .pong(let payload) = pong.frame else { Issue.record("\(pong)"); return }
        #expect(payload.timestamp == 42)
    }

    @Test func framesInTheWrongDirectionAreRefused() throws {
        #expect(atClient(try Self.rawEnvelope(type: 20)) == .wrongDirection)
        #expect(atClient(try Self.rawEnvelope(type: 10)) == .wrongDirection)
        #expect(atServer(try Self.rawEnvelope(type: 21)) == .wrongDirection)
        #expect(atServer(try Self.rawEnvelope(type: 11)) == .wrongDirection)
        // The direction is checked before the payload is parsed.
        #expect(atServer(try Self.rawEnvelope(type: 62, payload: [0xFF])) == .wrongDirection)
    }

    @Test func aTextFrameHasItsOwnError() {
        let error = WireError.textFrame
        #expect(error.code == .textFrame)
        #expect(error.description.hasPrefix("text frame: "))
        #expect(Set([WireError.Code.textFrame, .envelopeTooLarge, .payloadTooLarge, .malformedEnvelope, .unspecifiedMessageType,
                     .unknownMessageType, .malformedPayload, .wrongDirection]).count == 8)
    }

    // MARK: Limits

    /// The smallest payload size `build` needs for a serialized envelope of `target` bytes.
    static func payloadSize(for target: Int, _ build: (Int) throws -> [UInt8]) throws -> Int {
        var size = target - 64
        while try build(size).count < target { size += 1 }
        return size
    }

    @Test func theEnvelopeLimitIsExactly65536BytesFromTheServer() throws {
        func envelope(_ size: Int) -> ServerEnvelope {
            ServerEnvelope(requestID: "r", frame: .messageReceive(.with {
                $0.messageID = "01J"; $0.conversationID = "c"; $0.encryptedPayload = Data(count: size); $0.sequence = 7
            }))
        }
        // Built by hand so the oversized one exists too.
        func bytes(_ size: Int) throws -> [UInt8] {
            guard case .messageReceive(let message) = envelope(size).frame else { return [] }
            return try Self.rawEnvelope(type: 21, payload: try message.serializedBytes(), requestID: "r")
        }
        let size = try Self.payloadSize(for: 65_536, bytes)
        #expect(try bytes(size).count == 65_536)
        #expect(try bytes(size + 1).count == 65_537)

        let exact = try WireCodec.encode(envelope(size))
        #expect(exact == (try bytes(size)))
        #expect(try WireCodec.decodeServerEnvelope(exact) == envelope(size))

        #expect(code { () throws(WireError) in try WireCodec.encode(envelope(size + 1)) } == .envelopeTooLarge)
        // A client takes a server's envelope up to 1 KiB over the limit (a push of a maximal
        // send with the server's fields added), and nothing past that.
        let headroom = try Self.payloadSize(for: WireCodec.maxInboundEnvelopeBytes, bytes)
        #expect(try WireCodec.decodeServerEnvelope(bytes(size + 1)) == envelope(size + 1))
        #expect(try WireCodec.decodeServerEnvelope(bytes(headroom)) == envelope(headroom))
        #expect(atClient(try bytes(headroom + 1)) == .envelopeTooLarge)
    }

    @Test func theEnvelopeLimitIsExactly65536BytesFromTheClient() throws {
        func envelope(_ size: Int) -> ClientEnvelope {
            ClientEnvelope(requestID: "r", frame: .mlsKeyPackageUpload(.with { $0.keyPackageData = Data(count: size) }))
        }
        func bytes(_ size: Int) throws -> [UInt8] {
            guard case .mlsKeyPackageUpload(let upload) = envelope(size).frame else { return [] }
            return try Self.rawEnvelope(type: 40, payload: try upload.serializedBytes(), requestID: "r")
        }
        let size = try Self.payloadSize(for: 65_536, bytes)
        let exact = try WireCodec.encode(envelope(size))
        #expect(exact.count == 65_536)
        #expect(try WireCodec.decodeClientEnvelope(exact) == envelope(size))

        #expect(code { () throws(WireError) in try WireCodec.encode(envelope(size + 1)) } == .envelopeTooLarge)
        #expect(atServer(try bytes(size + 1)) == .envelopeTooLarge)
    }

    @Test func theSizeIsCheckedBeforeParsing() {
        // Garbage over the limit: too large, not malformed.
        #expect(atClient([UInt8](repeating: 0xFF, count: 66_561)) == .envelopeTooLarge)
        #expect(atClient([UInt8](repeating: 0xFF, count: 66_560)) == .malformedEnvelope)
        #expect(atServer([UInt8](repeating: 0xFF, count: 65_537)) == .envelopeTooLarge)
        #expect(atServer([UInt8](repeating: 0xFF, count: 65_536)) == .malformedEnvelope)
        #expect(WireError.envelopeTooLarge(size: 65_537).detail.contains("65537"))
    }

    @Test func anOutboundPayloadOver65000BytesIsRefusedAtEnqueue() throws {
        #expect(WireCodec.maxEnvelopeBytes == 65_536 && WireCodec.maxOutboundPayloadBytes == 65_000)
        try WireCodec.validateOutboundPayload(count: 0)
        try WireCodec.validateOutboundPayload(count: 65_000)
        #expect(code { () throws(WireError) in try WireCodec.validateOutboundPayload(count: 65_001) } == .payloadTooLarge)

        func send(_ size: Int) -> ClientEnvelope {
            ClientEnvelope(requestID: "01J8", frame: .messageSend(.with {
                $0.conversationID = "conversation"; $0.encryptedPayload = Data(count: size)
                $0.messageType = "text"; $0.clientMessageID = "01J8ZZZZZZZZZZZZZZZZZZZZZZ"
            }))
        }
        // The largest allowed send fits, with room for the server's echo.
        #expect(try WireCodec.encode(send(65_000)).count <= WireCodec.maxEnvelopeBytes - 100)
        #expect(code { () throws(WireError) in try WireCodec.encode(send(65_001)) } == .payloadTooLarge)
    }

    // MARK: Codes

    @Test func errorCodesHaveTheProtocolsNumbers() {
        let codes: [(SovereignErrorCode, Int32, String)] = [
            (.invalidCredential, 1001, "InvalidCredential"), (.expiredSession, 1002, "ExpiredSession"),
            (.registrationFailed, 1003, "RegistrationFailed"), (.challengeFailed, 1004, "ChallengeFailed"),
            (.sessionRevoked, 1005, "SessionRevoked"), (.notGroupAdmin, 2001, "NotGroupAdmin"),
            (.notGroupMember, 2002, "NotGroupMember"), (.notAdmin, 2003, "NotAdmin"), (.accountDisabled, 2004, "AccountDisabled"),
            (.malformedMessage, 3001, "MalformedMessage"), (.unknownMessageType, 3002, "UnknownMessageType"),
            (.messageTooLarge, 3003, "MessageTooLarge"), (.rateLimited, 3004, "RateLimited"), (.invalidEnvelope, 3005, "InvalidEnvelope"),
            (.groupNotFound, 4001, "GroupNotFound"), (.alreadyMember, 4002, "AlreadyMember"), (.notMember, 4003, "NotMember"),
            (.cannotRemoveSelf, 4004, "CannotRemoveSelf"), (.groupFull, 4005, "GroupFull"),
            (.internalError, 9001, "InternalError"), (.databaseError, 9002, "DatabaseError"),
            (.serviceUnavailable, 9003, "ServiceUnavailable"),
        ]
        for (code, number, name) in codes {
            #expect(code.rawValue == number && code.name == name && code == SovereignErrorCode(rawValue: number))
            #expect(code.isFatal == [1002, 1005, 2004, 9003].contains(number), "\(code)")
        }
        #expect(SovereignErrorCode(rawValue: 7777).name == nil && !SovereignErrorCode(rawValue: 7777).isFatal)
        #expect(SovereignErrorCode.expiredSession.description == "1002 ExpiredSession")
    }

    @Test func closeCodesHaveTheProtocolsNumbers() {
        let codes: [(SovereignCloseCode, UInt16)] = [
            (.normal, 1000), (.goingAway, 1001), (.unsupportedData, 1003), (.policyViolation, 1008),
            (.authTimeout, 4001), (.authFailed, 4002), (.tooManyConnections, 4003), (.sessionExpired, 4004),
            (.accountDisabled, 4005), (.serverShutdown, 4006), (.protocolError, 4007),
        ]
        for (code, number) in codes { #expect(code.rawValue == number && code == SovereignCloseCode(rawValue: number)) }
        #expect(WireCodec.subprotocol == "sovereign.v1")
    }
}
