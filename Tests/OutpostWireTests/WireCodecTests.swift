import Foundation
import OutpostWire
import Testing

@Suite("Wire codec")
struct WireCodecTests {
    static let clientFrames: [ClientFrame] = [
        .authRequest(AuthRequest.with { $0.username = "token" }),
        .authResponse(AuthResponse.with { $0.credentialID = Data([1]); $0.signature = Data([2]) }),
        .authRegisterRequest(AuthRegisterRequest.with { $0.username = "ana"; $0.displayName = "Ana" }),
        .authRegisterResponse(AuthRegisterResponse.with { $0.attestationObject = Data([3]) }),
        .historyRequest(HistoryRequest.with { $0.afterTimestamp = 5; $0.afterMessageID = "m"; $0.limit = 100; $0.afterSequence = 9 }),
        .messageSend(MessageSend.with { $0.conversationID = "c"; $0.encryptedPayload = Data([9]); $0.messageType = "text"; $0.clientMessageID = "x" }),
        .messageAck(MessageAck.with { $0.messageID = "m" }),
        .groupCreate(GroupCreate.with { $0.title = "t"; $0.memberIds = ["a", "b"] }),
        .groupInvite(GroupInvite.with { $0.conversationID = "c"; $0.userID = "u" }),
        .groupLeave(GroupLeave.with { $0.conversationID = "c" }),
        .mlsKeyPackageUpload(MlsKeyPackageUpload.with { $0.keyPackageData = Data([1, 2]) }),
        .mlsKeyPackageFetch(MlsKeyPackageFetch.with { $0.userID = "u" }),
        .mlsWelcome(MlsWelcome.with { $0.conversationID = "c"; $0.recipientID = "r"; $0.welcomeData = Data([4]) }),
        .mlsCommit(MlsCommit.with { $0.conversationID = "c"; $0.commitData = Data([5]) }),
        .presenceUpdate(PresenceUpdate.with { $0.status = "away" }),
        .ping(Ping.with { $0.timestamp = 42 }),
    ]

    static let serverFrames: [ServerFrame] = [
        .authChallenge(AuthChallenge.with { $0.challenge = Data([1]) }),
        .authSuccess(AuthSuccess.with { $0.userID = "u"; $0.username = "ana" }),
        .authError(AuthError.with { $0.errorCode = 1002; $0.message = "expired" }),
        .authRegisterChallenge(AuthRegisterChallenge.with { $0.challenge = Data([2]) }),
        .authRegisterSuccess(AuthRegisterSuccess.with { $0.userID = "u"; $0.sessionToken = "t" }),
        .historyResponse(HistoryResponse.with { $0.messages = [MessageReceive.with { $0.messageID = "m"; $0.sequence = 3 }]; $0.hasMore = true }),
        .messageReceive(MessageReceive.with { $0.messageID = "m"; $0.serverTimestamp = 7; $0.clientMessageID = "x"; $0.sequence = 8 }),
        .messageDelivered(MessageDelivered.with { $0.messageID = "m"; $0.deliveredTo = "u" }),
        .groupCreated(GroupCreated.with { $0.conversationID = "c"; $0.members = [GroupMember.with { $0.userID = "u"; $0.role = "admin" }] }),
        .groupMemberAdded(GroupMemberAdded.with { $0.conversationID = "c"; $0.userID = "u"; $0.addedBy = "a" }),
        .groupMemberRemoved(GroupMemberRemoved.with { $0.conversationID = "c"; $0.userID = "u"; $0.removedBy = "a" }),
        .mlsKeyPackageResponse(MlsKeyPackageResponse.with { $0.userID = "u"; $0.keyPackageData = Data([1]) }),
        .mlsWelcomeReceive(MlsWelcomeReceive.with { $0.conversationID = "c"; $0.senderID = "s"; $0.welcomeData = Data([1]) }),
        .mlsCommitBroadcast(MlsCommitBroadcast.with { $0.conversationID = "c"; $0.senderID = "s"; $0.commitData = Data([1]) }),
        .presenceNotify(PresenceNotify.with { $0.userID = "u"; $0.status = "online" }),
        .pong(Pong.with { $0.timestamp = 42 }),
        .error(ErrorPayload.with { $0.code = 3004; $0.message = "slow down"; $0.fatal = false }),
    ]

    @Test(arguments: clientFrames)
    func clientFramesRoundTrip(frame: ClientFrame) throws {
        let envelope = ClientEnvelope(requestID: "r1", frame: frame)
        #expect(try WireCodec.decodeClientEnvelope(WireCodec.encode(envelope)) == envelope)
        // A client frame arriving at a client is refused.
        #expect { try WireCodec.decodeServerEnvelope(WireCodec.encode(envelope)) } throws: {
            ($0 as? WireError)?.code == .wrongDirection
        }
    }

    @Test(arguments: serverFrames)
    func serverFramesRoundTrip(frame: ServerFrame) throws {
        let envelope = ServerEnvelope(requestID: "", frame: frame)
        #expect(try WireCodec.decodeServerEnvelope(WireCodec.encode(envelope)) == envelope)
        #expect { try WireCodec.decodeClientEnvelope(WireCodec.encode(envelope)) } throws: {
            ($0 as? WireError)?.code == .wrongDirection
        }
    }

    @Test func everyMessageTypeHasExactlyOneDirection() {
        let client = Set(Self.clientFrames.map(\.messageType.rawValue))
        let server = Set(Self.serverFrames.map(\.messageType.rawValue))
        #expect(client.isDisjoint(with: server))
        #expect(client.union(server).count == MessageType.allCases.count - 1, "every type but UNSPECIFIED")
    }

    static func envelope(type: Int, payload: [UInt8] = [], requestID: String = "") throws -> [UInt8] {
        var envelope = Envelope()
        envelope.type = MessageType(rawValue: type) ?? .UNRECOGNIZED(type)
        envelope.requestID = requestID
        envelope.payload = Data(payload)
        return try envelope.serializedBytes()
    }

    @Test func typedErrorsForEachKindOfBadInput() throws {
        func code(_ bytes: [UInt8]) -> WireError.Code? {
            do {
                _ = try WireCodec.decodeServerEnvelope(bytes)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code([0xFF, 0xFF, 0xFF]) == .malformedEnvelope)
        #expect(code(try Self.envelope(type: 0)) == .unspecifiedMessageType)
        #expect(code(try Self.envelope(type: 99)) == .unknownMessageType)
        #expect(code(try Self.envelope(type: 21, payload: [0x0A, 0x05, 0x41])) == .malformedPayload, "a truncated string field")
        #expect(code(try Self.envelope(type: 20)) == .wrongDirection)
        #expect(code(Array(repeating: 0, count: 65_537)) == .envelopeTooLarge)
    }

    @Test func theEnvelopeLimitIs65536BytesInBothDirections() throws {
        // An envelope of exactly 65,536 bytes: type (2) + payload tag and length (4) + payload.
        let payloadSize = 65_536 - 2 - 4
        let exact = try Self.envelope(type: 61, payload: Array(repeating: 0, count: payloadSize))
        #expect(exact.count == 65_536)
        // Its payload is not a valid Pong (zeros are field 0), but the size check passes first.
        #expect { try WireCodec.decodeServerEnvelope(exact) } throws: { ($0 as? WireError)?.code != .envelopeTooLarge }
        let over = try Self.envelope(type: 61, payload: Array(repeating: 0, count: payloadSize + 1))
        #expect { try WireCodec.decodeServerEnvelope(over) } throws: { ($0 as? WireError)?.code == .envelopeTooLarge }

        let fits = ServerEnvelope(requestID: "", frame: .historyResponse(HistoryResponse.with {
            $0.messages = [MessageReceive.with { $0.encryptedPayload = Data(count: 65_000) }]
        }))
        #expect(try WireCodec.encode(fits).count <= 65_536)
        let tooBig = ServerEnvelope(requestID: "", frame: .historyResponse(HistoryResponse.with {
            $0.messages = [MessageReceive.with { $0.encryptedPayload = Data(count: 65_600) }]
        }))
        #expect { try WireCodec.encode(tooBig) } throws: { ($0 as? WireError)?.code == .envelopeTooLarge }
    }

    @Test func anOutboundPayloadOver65000BytesIsRefused() throws {
        let send = { (size: Int) in
            ClientEnvelope(requestID: "r", frame: .messageSend(MessageSend.with { $0.encryptedPayload = Data(count: size) }))
        }
        #expect(try WireCodec.encode(send(65_000)).count <= WireCodec.maxEnvelopeBytes)
        #expect { try WireCodec.encode(send(65_001)) } throws: { ($0 as? WireError)?.code == .payloadTooLarge }
        #expect(throws: WireError.self) { try WireCodec.validateOutboundPayload(count: 65_001) }
    }

    @Test func fatalErrorCodesAreThoseOfTheProtocol() {
        let fatal: [SovereignErrorCode] = [.expiredSession, .sessionRevoked, .accountDisabled, .serviceUnavailable]
        #expect(fatal.allSatisfy { $0.isFatal })
        #expect(![SovereignErrorCode.rateLimited, .messageTooLarge, .notGroupMember, .internalError].contains { $0.isFatal })
        #expect(SovereignCloseCode.sessionExpired.rawValue == 4004)
    }
}
