import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX file operations with the store's permissions (directories 0700, files 0600) and
/// crash-safe replacement (write a temporary file, fsync, rename, fsync the directory).
enum FileSystem {
    static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The size of the file at `path` in bytes; 0 when there is none.
    static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` (and its parents) with mode 0700.
    static func createDirectory(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, !isDirectory(parent) {
            try createDirectory(parent)
        }
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw .io("mkdir", path: path, errno: errno)
        }
        _ = chmod(path, 0o700)
    }

    /// Creates an empty file with mode 0600 if none exists, so that SQLite (which gives its
    /// `-wal` and `-shm` files the database file's mode) never creates a world-readable file.
    static func createPrivateFile(_ path: String) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("create", path: path, errno: errno) }
        close(fd)
    }

    static func read(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open", path: path, errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io("read", path: path, errno: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// Replaces `path` with `bytes` atomically: readers see the old or the new content, never
    /// a mix, even if the process dies half way.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("create", path: temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                posixWrite(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw code == ENOSPC ? .diskFull("writing \(temporary)") : .io("write", path: temporary, errno: code)
            }
            written += count
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temporary)
            throw .io("fsync", path: temporary, errno: code)
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw .io("rename", path: path, errno: code)
        }
        syncDirectory(containing: path)
    }

    /// Removes a file; a missing file is not an error (removal steps are re-run after a crash).
    static func removeFile(_ path: String) throws(StoreError) {
        if unlink(path) != 0, errno != ENOENT {
            throw .io("unlink", path: path, errno: errno)
        }
    }

    /// Removes an empty directory; a missing one is not an error.
    static func removeDirectory(_ path: String) throws(StoreError) {
        if rmdir(path) != 0, errno != ENOENT {
            throw .io("rmdir", path: path, errno: errno)
        }
    }

    /// The names in a directory, sorted (never in the file system's order).
    static func contents(of path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func syncDirectory(containing path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

// `read` and `write` clash with methods of the same name in some scopes; name them plainly.
@inline(__always) private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
@inline(__always) private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
