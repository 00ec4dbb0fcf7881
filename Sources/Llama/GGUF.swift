import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct GGUFError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A metadata value of a GGUF file.
public indirect enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [GGUFValue]? { if case let .array(a) = self { return a }; return nil }
}

/// One tensor of a GGUF file: its shape in GGML's order (ne[0] varies fastest: a matrix of
/// `ne = [columns, rows]` is stored row after row), its type, and where its bytes are.
public struct GGUFTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var type: GGMLType
    /// Offset of its bytes from the start of the file.
    public var fileOffset: Int
    public var byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A GGUF file (llama.cpp's model format, version 2 or 3), memory-mapped: the header, every
/// metadata key and value, the tensor table, and the tensor bytes at their aligned offsets.
/// Every read is bounds-checked; a truncated or malformed file is an error naming the offset.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensor]
    public let alignment: Int
    private let tensorIndex: [String: Int]
    private let base: UnsafeMutableRawPointer
    private let size: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError("\(path): cannot stat") }
        size = Int(st.st_size)
        guard size > 0, let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw GGUFError("\(path): empty or cannot be mapped into memory")
        }
        base = map
        var r = Reader(base: UnsafeRawPointer(map), size: size, path: path)
        do {
            let magic = try r.bytes(4, "the magic \"GGUF\"")
            guard magic == Array("GGUF".utf8) else {
                throw GGUFError("\(path): offset 0: not a GGUF file (the first bytes are \(magic.map { String(format: "%02x", $0) }.joined()), expected 47475546 \"GGUF\")")
            }
            version = try r.u32("the version")
            guard version == 2 || version == 3 else { throw GGUFError("\(path): offset 4: GGUF version \(version); versions 2 and 3 are read") }
            let tensorCount = try r.count("the tensor count")
            let kvCount = try r.count("the metadata count")
            var metadata: [String: GGUFValue] = [:]
            var keys: [String] = []
            for _ in 0..<kvCount {
                let at = r.offset
                let key = try r.string("a metadata key")
                let type = try r.u32("the type of \(key)")
                if metadata[key] != nil { throw GGUFError("\(path): offset \(at): metadata key \(key) appears twice") }
                metadata[key] = try r.value(type: type, what: key)
                keys.append(key)
            }
            var alignment = 32
            if let a = metadata["general.alignment"] {
                guard let v = a.int, v > 0, v & (v - 1) == 0 else { throw GGUFError("\(path): general.alignment \(a) is not a power of two") }
                alignment = v
            }
            var infos: [(String, [Int], GGMLType, Int, Int)] = []
            for _ in 0..<tensorCount {
                let at = r.offset
                let name = try r.string("a tensor name")
                let dims = Int(try r.u32("the dimension count of \(name)"))
                guard (1...4).contains(dims) else { throw GGUFError("\(path): offset \(at): tensor \(name) has \(dims) dimensions; 1 to 4 expected") }
                var shape: [Int] = []
                for _ in 0..<dims {
                    let n = try r.u64("a dimension of \(name)")
                    guard n > 0, n < 1 << 40 else { throw GGUFError("\(path): offset \(r.offset - 8): tensor \(name) has dimension \(n)") }
                    shape.append(Int(n))
                }
                let typeAt = r.offset
                let rawType = try r.u32("the type of \(name)")
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError("\(path): offset \(typeAt): tensor \(name) has GGML type \(rawType), which this reader does not know")
                }
                let offset = try r.u64("the data offset of \(name)")
                guard offset % UInt64(alignment) == 0 else {
                    throw GGUFError("\(path): offset \(r.offset - 8): tensor \(name)'s data offset \(offset) is not a multiple of the alignment \(alignment)")
                }
                infos.append((name, shape, type, Int(offset), at))
            }
            let dataStart = (r.offset + alignment - 1) / alignment * alignment
            var tensors: [GGUFTensor] = []
            var index: [String: Int] = [:]
            for (name, shape, type, offset, at) in infos {
                let count = shape.reduce(1, *)
                guard count % type.blockSize == 0, shape[0] % type.blockSize == 0 else {
                    throw GGUFError("\(path): offset \(at): tensor \(name) of shape \(shape) is not made of whole \(type) blocks of \(type.blockSize)")
                }
                let bytes = count / type.blockSize * type.blockBytes
                let begin = dataStart + offset
                guard begin + bytes <= size else {
                    throw GGUFError("\(path): tensor \(name) needs bytes \(begin)..<\(begin + bytes), but the file ends at \(size) (truncated?)")
                }
                if index[name] != nil { throw GGUFError("\(path): offset \(at): tensor \(name) appears twice") }
                index[name] = tensors.count
                tensors.append(GGUFTensor(name: name, shape: shape, type: type, fileOffset: begin, byteCount: bytes))
            }
            self.metadata = metadata
            self.metadataKeys = keys
            self.alignment = alignment
            self.tensors = tensors
            self.tensorIndex = index
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit { munmap(base, size) }

    public func tensor(_ name: String) -> GGUFTensor? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor's bytes, valid while the file is open.
    public func bytes(of tensor: GGUFTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.advanced(by: tensor.fileOffset), count: tensor.byteCount)
    }

    /// The tensor as float32 values in storage order (dequantised exactly as GGML does).
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensor(name) else { throw GGUFError("\(path): no tensor \(name)") }
        return try GGMLQuantization.dequantize(bytes(of: t), type: t.type, count: t.elementCount)
    }

    /// A metadata value that must be there.
    public func required(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw GGUFError("\(path): no metadata key \(key)") }
        return v
    }

    /// Bounds-checked little-endian reads that name the offset and what was expected.
    struct Reader {
        let base: UnsafeRawPointer
        let size: Int
        let path: String
        var offset = 0

        mutating func need(_ n: Int, _ what: String) throws {
            guard n >= 0, offset + n <= size else {
                throw GGUFError("\(path): truncated at offset \(offset): expected \(n) bytes for \(what), the file has \(size - offset) left")
            }
        }

        mutating func bytes(_ n: Int, _ what: String) throws -> [UInt8] {
            try need(n, what)
            defer { offset += n }
            return Array(UnsafeRawBufferPointer(start: base + offset, count: n))
        }

        mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
            try need(MemoryLayout<T>.size, what)
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
        mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

        /// A count that must be plausible for the bytes left (each item takes at least one byte).
        mutating func count(_ what: String) throws -> Int {
            let at = offset
            let n = try u64(what)
            guard n <= UInt64(size - offset) else {
                throw GGUFError("\(path): offset \(at): \(what) is \(n), more than the \(size - offset) bytes left could hold")
            }
            return Int(n)
        }

        mutating func string(_ what: String) throws -> String {
            let at = offset
            let n = try count("the length of \(what)")
            let b = try bytes(n, what)
            guard let s = String(validating: b, as: UTF8.self) else { throw GGUFError("\(path): offset \(at): \(what) is not valid UTF-8") }
            return s
        }

        mutating func value(type: UInt32, what: String) throws -> GGUFValue {
            switch type {
            case 0: return .uint8(try load(UInt8.self, what))
            case 1: return .int8(try load(Int8.self, what))
            case 2: return .uint16(try load(UInt16.self, what))
            case 3: return .int16(try load(Int16.self, what))
            case 4: return .uint32(try load(UInt32.self, what))
            case 5: return .int32(try load(Int32.self, what))
            case 6: return .float32(Float(bitPattern: try load(UInt32.self, what)))
            case 7:
                let at = offset
                let b = try load(UInt8.self, what)
                guard b <= 1 else { throw GGUFError("\(path): offset \(at): \(what) is a bool of value \(b); 0 or 1 expected") }
                return .bool(b == 1)
            case 8: return .string(try string(what))
            case 9:
                let at = offset
                let itemType = try u32("the item type of \(what)")
                guard itemType != 9 else { throw GGUFError("\(path): offset \(at): \(what) is an array of arrays, which GGUF does not allow") }
                let n = try count("the length of \(what)")
                var items: [GGUFValue] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(type: itemType, what: what)) }
                return .array(items)
            case 10: return .uint64(try load(UInt64.self, what))
            case 11: return .int64(try load(Int64.self, what))
            case 12: return .float64(Double(bitPattern: try load(UInt64.self, what)))
            default:
                throw GGUFError("\(path): offset \(offset - 4): \(what) has value type \(type); 0 to 12 expected")
            }
        }
    }
}

extension TokenizerVocabulary {
    /// The tokenizer a GGUF file declares (`tokenizer.ggml.*`); only the byte-level BPE ("gpt2") model.
    public init(gguf: GGUFFile) throws {
        let model = try gguf.required("tokenizer.ggml.model").string
        guard model == "gpt2" else { throw GGUFError("\(gguf.path): tokenizer.ggml.model is \(model ?? "not a string"); only gpt2 (byte-level BPE) is read") }
        func strings(_ key: String) throws -> [String] {
            guard let items = try gguf.required(key).array else { throw GGUFError("\(gguf.path): \(key) is not an array") }
            return try items.map {
                guard let s = $0.string else { throw GGUFError("\(gguf.path): \(key) holds a value that is not a string") }
                return s
            }
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        var types = [Int32](repeating: 1, count: tokens.count)
        if let raw = gguf.metadata["tokenizer.ggml.token_type"]?.array {
            guard raw.count == tokens.count else { throw GGUFError("\(gguf.path): \(raw.count) token types for \(tokens.count) tokens") }
            types = raw.map { Int32($0.int ?? 1) }
        }
        func id(_ key: String) -> Int32? { gguf.metadata[key]?.int.map { Int32($0) } }
        self.init(tokens: tokens, tokenTypes: types, merges: try strings("tokenizer.ggml.merges"),
                  bosID: id("tokenizer.ggml.bos_token_id"), eosID: id("tokenizer.ggml.eos_token_id"),
                  unknownID: id("tokenizer.ggml.unknown_token_id"), paddingID: id("tokenizer.ggml.padding_token_id"),
                  preTokenizer: gguf.metadata["tokenizer.ggml.pre"]?.string ?? "default",
                  addBOS: gguf.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false)
    }
}
