import CArchive
import Foundation

/// How a file's bytes are packed.
public enum Container: Equatable, Sendable {
    case plain
    /// One compressed stream (gzip, bzip2, xz, zstd).
    case compressed(String)
    /// An archive of members (tar, possibly compressed, or zip).
    case archive(String)
}

/// One stream to parse: a plain file, the decompressed content of a compressed file, or one
/// regular-file member of an archive.
public struct InputMember {
    /// Path inside the archive; nil for a plain or single compressed file.
    public var member: String?
    /// The name to detect the format from: the member path, or the file name without its compression suffix.
    public var name: String
    public var source: ByteSource
}

/// Opens a file and yields its members, decompressing and unpacking through libarchive
/// in a single streaming pass. Plain files bypass libarchive.
public final class InputFile {
    public let path: String
    public let container: Container
    private var archive: OpaquePointer?
    private var plainDone = false
    private var currentMember: ArchiveMemberSource?

    public static let compressionSuffixes = [".gz", ".gzip", ".bz2", ".xz", ".zst", ".zstd"]

    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InputError(path: path, message: "no such file")
        }
        if isDir.boolValue { throw InputError(path: path, message: "is a folder, expected a file") }
        container = try Self.sniff(path: path)
        if container != .plain {
            guard let a = archive_read_new() else { throw InputError(path: path, message: "libarchive: out of memory") }
            archive_read_support_filter_all(a)
            archive_read_support_format_tar(a)
            archive_read_support_format_zip(a)
            archive_read_support_format_raw(a)
            if archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK {
                let message = Self.describe(archiveError: a, action: "opening the archive")
                archive_read_free(a)
                throw InputError(path: path, message: message)
            }
            archive = a
        }
    }

    deinit { if let archive { archive_read_free(archive) } }

    /// Decides plain, compressed or archive from the magic bytes (not the name).
    static func sniff(path: String) throws -> Container {
        let fd = Foundation.open(path, O_RDONLY)
        if fd < 0 { throw InputError(path: path, message: FileByteSource.openFailure(errno)) }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 512)
        let n = head.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, 512) }
        if n < 0 { throw InputError(path: path, message: "read failed: \(String(cString: strerror(errno)))") }
        func starts(_ magic: [UInt8]) -> Bool { n >= magic.count && Array(head[0..<magic.count]) == magic }
        if starts([0x1F, 0x8B]) { return .compressed("gzip") }
        if starts([0x42, 0x5A, 0x68]) { return .compressed("bzip2") }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .compressed("xz") }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return .compressed("zstd") }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return .archive("zip") }
        if n >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .archive("tar") }
        return .plain
    }

    /// The file name with any compression suffix removed (`a.jsonl.gz` → `a.jsonl`).
    public static func strippingCompressionSuffix(_ name: String) -> String {
        for s in compressionSuffixes where name.lowercased().hasSuffix(s) { return String(name.dropLast(s.count)) }
        return name
    }

    /// The next stream to parse, or nil when there are no more. Non-regular archive entries are skipped.
    public func nextMember() throws -> InputMember? {
        let fileName = (path as NSString).lastPathComponent
        guard let a = archive else {
            if plainDone { return nil }
            plainDone = true
            return InputMember(member: nil, name: fileName, source: try FileByteSource(path: path))
        }
        while true {
            var entry: OpaquePointer?
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { return nil }
            if rc < ARCHIVE_WARN {
                throw InputError(path: path, message: Self.describe(archiveError: a, action: "reading the next archive entry"))
            }
            guard let entry else { return nil }
            if archive_format(a) == ARCHIVE_FORMAT_RAW {
                // A single compressed file: libarchive names its only entry "data".
                currentMember = ArchiveMemberSource(archive: a, path: path, member: nil)
                return InputMember(member: nil, name: Self.strippingCompressionSuffix(fileName), source: currentMember!)
            }
            let type = archive_entry_filetype(entry)
            guard type == 0o100000 else { continue } // AE_IFREG
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? "?"
            currentMember = ArchiveMemberSource(archive: a, path: path, member: name)
            return InputMember(member: name, name: name, source: currentMember!)
        }
    }

    /// libarchive's message, reworded for the usual failure: the input ends early.
    static func describe(archiveError a: OpaquePointer, action: String) -> String {
        let raw = archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
        let lower = raw.lowercased()
        if lower.contains("truncated") || lower.contains("unexpected end") || lower.contains("premature end") {
            return "truncated or damaged compressed data while \(action) (libarchive: \(raw))"
        }
        return "\(action) failed: \(raw)"
    }
}

/// The decompressed bytes of the current archive entry.
final class ArchiveMemberSource: ByteSource {
    private let archive: OpaquePointer
    private let path: String
    private let member: String?
    private var offset: Int64 = 0

    init(archive: OpaquePointer, path: String, member: String?) {
        self.archive = archive; self.path = path; self.member = member
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
        if n < 0 {
            throw InputError(path: path, member: member, byteOffset: offset,
                             message: InputFile.describe(archiveError: archive, action: "decompressing"))
        }
        offset += Int64(n)
        return n
    }
}
