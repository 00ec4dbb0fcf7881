import CCrypto
import Foundation

/// Streaming SHA-256 through OpenSSL's libcrypto (uses the CPU's SHA extensions when present).
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update<C: ContiguousBytes>(_ bytes: C) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Finishes the hash; the hasher must not be used afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return out
    }

    public func finalizeHex() -> String { hexString(finalize()) }
}

public enum SHA256 {
    /// One-shot digest of a byte buffer.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { o in
            _ = CCrypto.SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, o.baseAddress)
        }
        return out
    }

    public static func digest<C: ContiguousBytes>(_ bytes: C) -> [UInt8] {
        bytes.withUnsafeBytes { digest($0) }
    }

    public static func hex<C: ContiguousBytes>(_ bytes: C) -> String { hexString(digest(bytes)) }

    public static func hex(_ string: String) -> String { hex(Array(string.utf8)) }

    /// Streams a file through the hasher in 1 MiB reads.
    public static func hexOfFile(atPath path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ChecksumError.cannotOpen(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw ChecksumError.cannotRead(path, String(cString: strerror(errno))) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalizeHex()
    }
}

public enum ChecksumError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case cannotRead(String, String)
    public var description: String {
        switch self {
        case let .cannotOpen(path, why): return "\(path): cannot open: \(why)"
        case let .cannotRead(path, why): return "\(path): read failed: \(why)"
        }
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Lower-case hexadecimal, two digits a byte.
public func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    var out = [UInt8]()
    for b in bytes { out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
