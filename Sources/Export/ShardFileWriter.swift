import Checksums
import CZlib
import CZstd
import Foundation

/// Writes one file: takes uncompressed bytes, compresses them (gzip, zstd or not at all), writes the
/// result and hashes it as written. Not thread-safe; one per shard.
final class ShardFileWriter {
    let path: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    private(set) var bytesWritten: Int64 = 0
    private(set) var uncompressedBytes: Int64 = 0
    private var codec: Codec
    private let out: UnsafeMutableRawBufferPointer
    private var finished = false

    private enum Codec {
        case none
        case gzip(UnsafeMutablePointer<z_stream>, UnsafeMutablePointer<gz_header>)
        case zstd(OpaquePointer)
    }

    static let outputBufferSize = 1 << 20
    /// Written bytes after which the kernel is asked to start writing them to disk, so that the
    /// `fsync` at the end finds little left to do.
    static let writebackBytes: Int64 = 8 << 20
    private var writebackStart: Int64 = 0

    /// Creates (truncating) `path`.
    init(path: String, compression: Compression) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ExportError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        out = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.outputBufferSize, alignment: 64)
        switch compression {
        case .none:
            codec = .none
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip wrapper. memLevel 8 and the default strategy, as gzip(1) uses.
            let rc = deflateInit2_(stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                   Int32(MemoryLayout<z_stream>.size))
            // An explicit header: mtime 0, no name, OS 3 (Unix) everywhere, so the bytes do not depend
            // on the clock or the platform zlib was built for.
            let header = UnsafeMutablePointer<gz_header>.allocate(capacity: 1)
            header.initialize(to: gz_header())
            header.pointee.time = 0
            header.pointee.os = 3
            codec = .gzip(stream, header)
            guard rc == Z_OK, deflateSetHeader(stream, header) == Z_OK else {
                close(fd); fd = -1
                throw ExportError.compression("deflateInit2 failed (zlib code \(rc))")
            }
        case .zstd:
            guard let cctx = ZSTD_createCCtx() else {
                close(fd); fd = -1
                out.deallocate()
                throw ExportError.compression("ZSTD_createCCtx failed")
            }
            codec = .zstd(cctx)
            try Self.zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3))
            try Self.zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        switch codec {
        case .none: break
        case let .gzip(stream, header):
            deflateEnd(stream)
            stream.deallocate()
            header.deallocate()
        case let .zstd(cctx):
            ZSTD_freeCCtx(cctx)
        }
        out.deallocate()
    }

    private static func zstdCheck(_ code: Int) throws {
        if ZSTD_isError(code) != 0 { throw ExportError.compression(String(cString: ZSTD_getErrorName(code))) }
    }

    /// Writes `bytes` to the file and the hash.
    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        hasher.update(bytes)
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ExportError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        bytesWritten += Int64(bytes.count)
        if bytesWritten - writebackStart >= Self.writebackBytes {
            startWriteback(fd, offset: writebackStart, count: bytesWritten - writebackStart)
            writebackStart = bytesWritten
        }
    }

    /// Adds uncompressed bytes.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished)
        guard bytes.count > 0 else { return }
        uncompressedBytes += Int64(bytes.count)
        switch codec {
        case .none:
            try emit(bytes)
        case let .gzip(stream, _):
            try deflate(stream, input: bytes, flush: Z_NO_FLUSH)
        case let .zstd(cctx):
            try zstd(cctx, input: bytes, directive: ZSTD_e_continue)
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func deflate(_ stream: UnsafeMutablePointer<z_stream>, input: UnsafeRawBufferPointer, flush: Int32) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        while true {
            stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(out.count)
            let rc = CZlib.deflate(stream, flush)
            if rc == Z_STREAM_ERROR { throw ExportError.compression("deflate failed (zlib code \(rc))") }
            let produced = out.count - Int(stream.pointee.avail_out)
            try emit(UnsafeRawBufferPointer(rebasing: out[0..<produced]))
            if flush == Z_FINISH {
                if rc == Z_STREAM_END { break }
                if rc != Z_OK && rc != Z_BUF_ERROR { throw ExportError.compression("deflate failed (zlib code \(rc))") }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                break
            }
        }
        stream.pointee.next_in = nil
    }

    private func zstd(_ cctx: OpaquePointer, input: UnsafeRawBufferPointer, directive: ZSTD_EndDirective) throws {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
            let remaining = ZSTD_compressStream2(cctx, &outBuffer, &inBuffer, directive)
            try Self.zstdCheck(remaining)
            try emit(UnsafeRawBufferPointer(rebasing: out[0..<outBuffer.pos]))
            if directive == ZSTD_e_end ? remaining == 0 : inBuffer.pos == inBuffer.size { break }
        }
    }

    /// Flushes the compressor, syncs and closes the file; returns its sha256 (hex).
    func finish() throws -> String {
        precondition(!finished)
        finished = true
        switch codec {
        case .none: break
        case let .gzip(stream, _):
            try deflate(stream, input: UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        case let .zstd(cctx):
            try zstd(cctx, input: UnsafeRawBufferPointer(start: nil, count: 0), directive: ZSTD_e_end)
        }
        if fsync(fd) != 0 {
            throw ExportError.io(path: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        let rc = close(fd)
        fd = -1
        if rc != 0 { throw ExportError.io(path: path, message: "close failed: \(String(cString: strerror(errno)))") }
        return hasher.finalizeHex()
    }
}

#if os(Linux)
/// `sync_file_range(2)` with SYNC_FILE_RANGE_WRITE: starts writing the range to disk without waiting.
/// Glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not see; look it up.
private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
private let syncFileRange: SyncFileRange? = {
    guard let symbol = dlsym(nil, "sync_file_range") else { return nil } // nil: RTLD_DEFAULT
    return unsafeBitCast(symbol, to: SyncFileRange.self)
}()

private func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {
    _ = syncFileRange?(fd, offset, count, 2 /* SYNC_FILE_RANGE_WRITE */)
}
#else
private func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {}
#endif
