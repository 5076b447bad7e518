import Foundation
@testable import OutpostStore

/// A fresh, empty scratch directory for one test; removed when the value is released.
final class ScratchDirectory {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "outpost-test-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(cString: created!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var dataDirectory: String { path + "/data" }
}

/// Every regular file below `root` (recursively), sorted, with its bytes.
func snapshotFiles(_ root: String) -> [String: [UInt8]] {
    var result: [String: [UInt8]] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return result }
    while let relative = enumerator.nextObject() as? String {
        let full = root + "/" + relative
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
           let data = FileManager.default.contents(atPath: full) {
            result[relative] = [UInt8](data)
        }
    }
    return result
}

func fileMode(_ path: String) -> UInt32 {
    var info = stat()
    stat(path, &info)
    return UInt32(info.st_mode) & 0o777
}

extension Array where Element == UInt8 {
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        while index <= count - needle.count {
            if self[index] == first, Array(self[index..<index + needle.count]) == needle { return true }
            index += 1
        }
        return false
    }
}

let t0 = Timestamp.seconds(1_800_000_000)

func origin(_ text: String) -> ServerOrigin { try! ServerOrigin(parsing: text) }

func message(_ id: String, conversation: String = "c1", sender: String = "peer", at seconds: Int64,
             payload: String? = nil, clientMessageID: String? = nil) -> Message {
    Message(messageID: id, conversationID: conversation, senderID: sender, serverTimestamp: .seconds(seconds),
            payload: Array((payload ?? "ciphertext-of-\(id)").utf8), clientMessageID: clientMessageID)
}

/// The raw key SQLCipher is given for one database of a partition.
func rawDatabaseKey(_ store: Store, _ id: ServerID, _ file: DatabaseFile) throws -> [UInt8] {
    let keys = try PartitionKeys.read(from: store.layout.keys(id))
    let key = try keys.unwrap(file, for: id, wrappingKey: store.wrappingKey, path: store.layout.keys(id))
    return key.withUnsafeBytes { Array($0) }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Runs a program and returns its exit status and combined output.
func run(_ executable: String, _ arguments: [String], input: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// A seeded generator (SplitMix64), for test data that is random but repeatable.
struct SplitMixGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
