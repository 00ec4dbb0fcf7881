import FastJSON
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct ModelFileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A `.safetensors` file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the tensor
/// bytes (offsets relative to the end of the header).
public final class SafeTensorsFile {
    public struct Tensor: Sendable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range within the data section.
        public var begin: Int
        public var end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: Tensor]
    private let base: UnsafeMutableRawPointer
    private let size: Int
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelFileError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelFileError("\(path): cannot stat") }
        size = Int(st.st_size)
        guard size >= 8 else { throw ModelFileError("\(path): \(size) bytes, too short for a safetensors header (offset 0)") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw ModelFileError("\(path): cannot map into memory")
        }
        do {
            (dataStart, tensors) = try Self.readHeader(map, size: size, path: path)
        } catch {
            munmap(map, size)
            throw error
        }
        base = map
    }

    private static func readHeader(_ map: UnsafeMutableRawPointer, size: Int, path: String) throws -> (Int, [String: Tensor]) {
        let headerLength = Int(UInt64(littleEndian: map.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= size - 8 else {
            throw ModelFileError("\(path): header length \(headerLength) at offset 0 does not fit in the file (\(size) bytes)")
        }
        let dataStart = 8 + headerLength
        let header: JSONValue
        do {
            header = try JSONParser.parse(UnsafeBufferPointer(start: map.advanced(by: 8).assumingMemoryBound(to: UInt8.self),
                                                              count: headerLength))
        } catch {
            throw ModelFileError("\(path): the JSON header at offset 8 is invalid: \(error)")
        }
        guard case let .object(members) = header else { throw ModelFileError("\(path): the header at offset 8 is not a JSON object") }
        var tensors: [String: Tensor] = [:]
        let dataSize = size - dataStart
        for (name, value) in members where name != "__metadata__" {
            guard let dtype = value["dtype"]?.stringValue, case let .array(shapeValues)? = value["shape"],
                  case let .array(offsets)? = value["data_offsets"], offsets.count == 2,
                  let begin = offsets[0].int64Value, let end = offsets[1].int64Value else {
                throw ModelFileError("\(path): tensor \(name): expected dtype, shape and data_offsets [begin, end] in the header")
            }
            let shape = try shapeValues.map { v -> Int in
                guard let n = v.int64Value, n >= 0 else { throw ModelFileError("\(path): tensor \(name): bad shape") }
                return Int(n)
            }
            let t = Tensor(dtype: dtype, shape: shape, begin: Int(begin), end: Int(end))
            guard t.begin >= 0, t.begin <= t.end, t.end <= dataSize else {
                throw ModelFileError("\(path): tensor \(name): bytes \(begin)..<\(end) (file offsets \(dataStart + Int(begin))..<\(dataStart + Int(end))) run past the end of the file (\(size) bytes)")
            }
            if let width = Self.elementSize[dtype], t.end - t.begin != t.count * width {
                throw ModelFileError("\(path): tensor \(name): \(t.end - t.begin) bytes for shape \(shape) of \(dtype)")
            }
            tensors[name] = t
        }
        return (dataStart, tensors)
    }

    deinit { munmap(base, size) }

    static let elementSize = ["F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "F64": 8]

    /// A tensor as Float32 (F32 copied, F16 and BF16 widened), checked against the expected shape.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let t = tensors[name] else { throw ModelFileError("\(path): no tensor \(name)") }
        if let expected, expected != t.shape {
            throw ModelFileError("\(path): tensor \(name) has shape \(t.shape), expected \(expected)")
        }
        let p = base.advanced(by: dataStart + t.begin)
        switch t.dtype {
        case "F32":
            return (0..<t.count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case "F16":
            return (0..<t.count).map { Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
        case "BF16":
            return (0..<t.count).map { Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) << 16) }
        default:
            throw ModelFileError("\(path): tensor \(name) is \(t.dtype); F32, F16 or BF16 expected")
        }
    }
}
