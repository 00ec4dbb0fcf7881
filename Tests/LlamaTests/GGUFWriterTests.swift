import Foundation
@testable import Llama
import XCTest

/// GGUF files Herd writes (trained students) read back through Herd's reader, value for value.
final class GGUFWriterTests: XCTestCase {
    func testRoundTripOfEveryValueTypeAndBothTensorTypes() throws {
        var w = GGUFWriter()
        w.metadata = [
            ("general.architecture", .string("llama")), ("u8", .uint8(200)), ("i8", .int8(-3)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))),
            ("f32", .float32(0.25)), ("f64", .float64(-1.5e-300)), ("yes", .bool(true)), ("text", .string("héllo")),
            ("tokens", .array([.string("a"), .string("<|endoftext|>")])), ("ids", .array([.int32(1), .int32(-2)])), ("none", .array([])),
        ]
        let matrix: [Float] = (0..<(3 * 5)).map { Float($0) * 0.1 - 0.7 }
        w.tensors = [GGUFWriter.Tensor(name: "m32", shape: [5, 3], type: .f32, values: matrix),
                     GGUFWriter.Tensor(name: "m16", shape: [5, 3], type: .f16, values: matrix),
                     GGUFWriter.Tensor(name: "v", shape: [7], type: .f32, values: [1, 2, 3, 4, 5, 6, 65504])]
        let path = NSTemporaryDirectory() + "herd-writer-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try w.write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(bytes.count % 32, 0)
        XCTAssertEqual(Array(bytes.prefix(8)), Array("GGUF".utf8) + [3, 0, 0, 0])
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.metadataKeys, w.metadata.map(\.key))
        for (key, value) in w.metadata where key != "none" { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(file.metadata["none"], .array([]))
        XCTAssertEqual(file.tensors.map(\.name), ["m32", "m16", "v"])
        XCTAssertEqual(file.tensors.map(\.shape), [[5, 3], [5, 3], [7]])
        XCTAssertEqual(file.tensors.map(\.type), [.f32, .f16, .f32])
        XCTAssertEqual(try file.floats("m32"), matrix)
        XCTAssertEqual(try file.floats("v"), [1, 2, 3, 4, 5, 6, 65504])
        // fp16 rounds to nearest: within half a unit in the last place (2^-11 relative).
        for (a, b) in zip(try file.floats("m16"), matrix) { XCTAssertEqual(a, b, accuracy: abs(b) / 2048 + 1e-7) }
        XCTAssertEqual(try file.floats("m16")[7], Float(Float16(matrix[7])))
        // The same writer gives the same bytes.
        XCTAssertEqual([UInt8](bytes), try w.encoded())
    }

    func testRefusesQuantisedTensorsAndMixedArrays() {
        var w = GGUFWriter()
        w.tensors = [GGUFWriter.Tensor(name: "q", shape: [32], type: .q8_0, values: .init(repeating: 0, count: 32))]
        XCTAssertThrowsError(try w.encoded()) { XCTAssertEqual("\($0)", "tensor q: only F32 and F16 are written, not Q8_0") }
        w.tensors = []
        w.metadata = [("mixed", .array([.int32(1), .string("a")]))]
        XCTAssertThrowsError(try w.encoded())
    }
}
