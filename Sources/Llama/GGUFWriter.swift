import CLlamaKernels
import Foundation

/// Writes GGUF version 3 files (what llama.cpp and gguf-py read): a header, metadata key-value
/// pairs in the order given, the tensor table, then each tensor's bytes aligned to 32. Tensors
/// are F32 or F16 (rounded to nearest even, as ggml's fp32→fp16).
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        /// In GGML's order: `[columns, rows]` for a matrix stored row after row.
        public var shape: [Int]
        public var type: GGMLType
        public var values: [Float]
        public init(name: String, shape: [Int], type: GGMLType, values: [Float]) {
            self.name = name; self.shape = shape; self.type = type; self.values = values
        }
    }

    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [Tensor] = []
    public static let alignment = 32

    public init() {}

    /// The whole file's bytes.
    public func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); out += b }
        func typeCode(_ v: GGUFValue) -> UInt32 {
            switch v {
            case .uint8: return 0
            case .int8: return 1
            case .uint16: return 2
            case .int16: return 3
            case .uint32: return 4
            case .int32: return 5
            case .float32: return 6
            case .bool: return 7
            case .string: return 8
            case .array: return 9
            case .uint64: return 10
            case .int64: return 11
            case .float64: return 12
            }
        }
        func value(_ v: GGUFValue) throws {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .uint32(x): u32(x)
            case let .int32(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .float32(x): u32(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(s): string(s)
            case let .uint64(x): u64(x)
            case let .int64(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .float64(x): u64(x.bitPattern)
            case let .array(items):
                let code = items.first.map(typeCode) ?? 0
                guard items.allSatisfy({ typeCode($0) == code }) else { throw GGUFError("a GGUF array holds values of one type") }
                guard code != 9 else { throw GGUFError("nested GGUF arrays are not written") }
                u32(code); u64(UInt64(items.count))
                for item in items { try value(item) }
            }
        }
        func pad() { while out.count % Self.alignment != 0 { out.append(0) } }

        out += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, v) in metadata { string(key); u32(typeCode(v)); try value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            guard t.type == .f32 || t.type == .f16 else { throw GGUFError("tensor \(t.name): only F32 and F16 are written, not \(t.type)") }
            guard t.shape.reduce(1, *) == t.values.count else { throw GGUFError("tensor \(t.name): shape \(t.shape) holds \(t.shape.reduce(1, *)) values, not \(t.values.count)") }
            string(t.name)
            u32(UInt32(t.shape.count))
            for n in t.shape { u64(UInt64(n)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offsets.append(offset)
            offset += (t.values.count * (t.type == .f32 ? 4 : 2) + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        pad()
        let dataStart = out.count
        for (t, start) in zip(tensors, offsets) {
            while out.count < dataStart + start { out.append(0) }
            if t.type == .f32 {
                t.values.withUnsafeBytes { out += $0 }   // little-endian hosts only (x86-64, arm64)
            } else {
                var half = [UInt16](repeating: 0, count: t.values.count)
                herd_fp32_to_fp16(t.values, &half, Int64(t.values.count))
                half.withUnsafeBytes { out += $0 }
            }
        }
        pad()
        return out
    }

    /// Writes the file atomically (a temporary beside it, then a rename).
    public func write(to path: String) throws {
        let bytes = try encoded()
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw GGUFError("\(temporary): cannot write")
        }
        guard rename(temporary, path) == 0 else { throw GGUFError("\(path): cannot rename \(temporary) into place: \(String(cString: strerror(errno)))") }
    }
}
