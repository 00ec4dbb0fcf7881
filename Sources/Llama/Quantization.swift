/// GGML tensor types this engine reads (the values GGUF stores).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30

    /// GGML's own name of the type (ggml_type_name).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_XXS: return "IQ2_XXS"
        case .iq2_XS: return "IQ2_XS"
        case .iq3_XXS: return "IQ3_XXS"
        case .iq1_S: return "IQ1_S"
        case .iq4_NL: return "IQ4_NL"
        case .iq3_S: return "IQ3_S"
        case .iq2_S: return "IQ2_S"
        case .iq4_XS: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1_M: return "IQ1_M"
        case .bf16: return "BF16"
        }
    }

    /// Values per block and bytes per block (for the types with a known layout; others are
    /// given sizes that let the file be read, and refused when their values are asked for).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL: return 32
        default: return 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 18   // f16 scale, 16 bytes of nibbles
        case .q4_1: return 20   // f16 scale, f16 minimum, 16 bytes of nibbles
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34   // f16 scale, 32 int8
        case .q8_1: return 36
        case .iq4_NL: return 18
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        default: return 256 // unknown layouts: only their values are refused
        }
    }

    /// Whether `GGMLQuantization.dequantize` reads this type.
    public var isReadable: Bool { [.f32, .f16, .q4_0, .q4_1, .q8_0].contains(self) }
}

/// GGML's block formats, dequantised exactly (each value is the float GGML computes).
public enum GGMLQuantization {
    /// `count` values of `type` from `bytes` (storage order).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int) throws -> [Float] {
        guard type.isReadable else {
            throw GGUFError("tensor type \(type) is not supported; F32, F16, Q8_0, Q4_0 and Q4_1 are")
        }
        let blocks = count / type.blockSize
        precondition(bytes.count >= blocks * type.blockBytes)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in
            let src = bytes.baseAddress!
            switch type {
            case .f32:
                for i in 0..<count { o[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                for i in 0..<count { o[i] = half(src, 2 * i) }
            case .q8_0:
                // x = d · q, q int8.
                for b in 0..<blocks {
                    let block = src + b * 34
                    let d = half(block, 0)
                    for j in 0..<32 { o[b * 32 + j] = d * Float(Int8(bitPattern: block.load(fromByteOffset: 2 + j, as: UInt8.self))) }
                }
            case .q4_0:
                // x[j] = d · (low nibble of qs[j] − 8), x[j+16] = d · (high nibble − 8).
                for b in 0..<blocks {
                    let block = src + b * 18
                    let d = half(block, 0)
                    for j in 0..<16 {
                        let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                        o[b * 32 + j] = Float(Int(q & 0x0F) - 8) * d
                        o[b * 32 + j + 16] = Float(Int(q >> 4) - 8) * d
                    }
                }
            case .q4_1:
                // x[j] = d · low nibble + m, x[j+16] = d · high nibble + m.
                for b in 0..<blocks {
                    let block = src + b * 20
                    let d = half(block, 0), m = half(block, 2)
                    for j in 0..<16 {
                        let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                        o[b * 32 + j] = Float(q & 0x0F) * d + m
                        o[b * 32 + j + 16] = Float(q >> 4) * d + m
                    }
                }
            default:
                break
            }
        }
        return out
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }
}
