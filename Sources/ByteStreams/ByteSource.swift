import Foundation

/// Anything bytes can be pulled from: a file, a decompressed stream, an archive member.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// An input problem, located as precisely as the format allows.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var member: String?
    public var line: Int?
    public var byteOffset: Int64?
    public var message: String

    public init(path: String, member: String? = nil, line: Int? = nil, byteOffset: Int64? = nil, message: String) {
        self.path = path; self.member = member; self.line = line; self.byteOffset = byteOffset; self.message = message
    }

    /// `FILE[:MEMBER]:LINE: message`, or `FILE[:MEMBER]: byte offset N: message` for binary formats.
    public var description: String {
        var where_ = path
        if let member { where_ += ":\(member)" }
        if let line { return "\(where_):\(line): \(message)" }
        if let byteOffset { return "\(where_): byte offset \(byteOffset): \(message)" }
        return "\(where_): \(message)"
    }
}

/// Reads a plain file with read(2).
public final class FileByteSource: ByteSource {
    private let fd: Int32
    public let path: String

    public init(path: String) throws {
        fd = Foundation.open(path, O_RDONLY)
        self.path = path
        if fd < 0 { throw InputError(path: path, message: Self.openFailure(errno)) }
    }

    static func openFailure(_ code: Int32) -> String {
        code == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(code)))"
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw InputError(path: path, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Bytes already in memory (tests, small inputs).
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
            position += n
        }
        return n
    }
}
