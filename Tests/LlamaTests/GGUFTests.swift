import FastJSON
import Foundation
@testable import Llama
import XCTest

/// The GGUF reader against gguf-py (llama.cpp's Python package): make_gguf_reference.py wrote
/// gguf_small.gguf and the values gguf-py reads from it and from the real SmolLM2 file.
final class GGUFTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let reference: JSONValue = try! JSONParser.parse(Array(try! Data(contentsOf: here.appendingPathComponent("gguf_reference.json"))))
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-gguf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    var smallPath: String { Self.here.appendingPathComponent("gguf_small.gguf").path }

    func testEveryMetadataTypeOfASmallFile() throws {
        let f = try GGUFFile(path: smallPath)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadata["general.architecture"], .string("llama"))
        XCTAssertEqual(f.metadata["t.u8"], .uint8(200))
        XCTAssertEqual(f.metadata["t.i8"], .int8(-100))
        XCTAssertEqual(f.metadata["t.u16"], .uint16(65000))
        XCTAssertEqual(f.metadata["t.i16"], .int16(-32000))
        XCTAssertEqual(f.metadata["t.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(f.metadata["t.i32"], .int32(-2_000_000_000))
        XCTAssertEqual(f.metadata["t.f32"], .float32(0.1))
        XCTAssertEqual(f.metadata["t.u64"], .uint64(1 << 63 + 5))
        XCTAssertEqual(f.metadata["t.i64"], .int64(-(1 << 62)))
        XCTAssertEqual(f.metadata["t.f64"], .float64(1.0 / 3.0))
        XCTAssertEqual(f.metadata["t.bool"], .bool(true))
        XCTAssertEqual(f.metadata["t.string"], .string("café 🦙 \"quoted\"\n"))
        XCTAssertEqual(f.metadata["t.array_i32"], .array([.int32(1), .int32(-2), .int32(3)]))
        XCTAssertEqual(f.metadata["t.array_str"], .array([.string("a"), .string(""), .string("ünï")]))
        XCTAssertEqual(f.metadata["t.array_f32"], .array([.float32(0.5), .float32(-1.25)]))
        XCTAssertEqual(f.metadataKeys.first, "general.architecture")
    }

    func testDequantisationEqualsGGUFPy() throws {
        let f = try GGUFFile(path: smallPath)
        guard case let .object(tensors)? = Self.reference["small"]?["tensors"] else { return XCTFail("no reference") }
        XCTAssertEqual(tensors.map(\.key).sorted(), ["f16", "f32", "q4_0", "q4_1", "q8_0"])
        for (name, expected) in tensors {
            let t = try XCTUnwrap(f.tensor(name))
            XCTAssertEqual(t.type.description, expected["type"]?.stringValue)
            XCTAssertEqual(t.shape.map { Int64($0) }, expected["shape"].flatMap { v -> [Int64]? in
                if case let .array(a) = v { return a.compactMap(\.int64Value) }; return nil })
            let values = try f.floats(name)
            guard case let .array(want)? = expected["values"] else { return XCTFail("no values for \(name)") }
            XCTAssertEqual(values.count, want.count, name)
            // Bit for bit: the same float GGML computes.
            XCTAssertEqual(values, want.map { Float($0.doubleValue!) }, name)
        }
    }

    func testMalformedFilesNameTheOffset() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: smallPath))
        func error(_ data: Data) -> String {
            let path = "\(dir!)/bad.gguf"
            try! data.write(to: URL(fileURLWithPath: path))
            do { _ = try GGUFFile(path: path); return "no error" } catch { return "\(error)".replacingOccurrences(of: path, with: "FILE") }
        }
        XCTAssertEqual(error(Data("GGML".utf8) + bytes.dropFirst(4)),
                       "FILE: offset 0: not a GGUF file (the first bytes are 47474d4c, expected 47475546 \"GGUF\")")
        XCTAssertEqual(error(bytes.prefix(6)), "FILE: truncated at offset 4: expected 4 bytes for the version, the file has 2 left")
        XCTAssertEqual(error(bytes.prefix(30)), "FILE: offset 16: the metadata count is 16, more than the 6 bytes left could hold")
        XCTAssertEqual(error(bytes.prefix(40)), "FILE: offset 24: the length of a metadata key is 20, more than the 8 bytes left could hold")
        var version = bytes; version[4] = 9
        XCTAssertEqual(error(version), "FILE: offset 4: GGUF version 9; versions 2 and 3 are read")
        var count = bytes; count[16] = 0xFF; count[17] = 0xFF; count[18] = 0xFF
        XCTAssertTrue(error(count).hasPrefix("FILE: offset 16: the metadata count is 16777215, more than the"), error(count))
        // Cut inside the tensor data: the tensor that no longer fits is named.
        XCTAssertTrue(error(bytes.prefix(bytes.count - 10)).contains("tensor q4_1 needs bytes"), error(bytes.prefix(bytes.count - 10)))
        // A metadata value type that does not exist: the first key's type field is at 24 + 8 + its length.
        let keyLength = Int(bytes[24])
        var type = bytes; type[24 + 8 + keyLength] = 13
        XCTAssertEqual(error(type), "FILE: offset \(24 + 8 + keyLength): general.architecture has value type 13; 0 to 12 expected")
        // A tensor type the dequantiser does not read is refused by name when its values are asked for.
        XCTAssertThrowsError(try GGMLQuantization.dequantize(UnsafeRawBufferPointer(start: nil, count: 0), type: .q4_K, count: 0)) {
            XCTAssertEqual("\($0)", "tensor type Q4_K is not supported; F32, F16, Q8_0, Q4_0 and Q4_1 are")
        }
    }

    func testSmolLM2FileAgreesWithGGUFPy() throws {
        let path = BuiltInTeacher.path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) missing: run make models") }
        let f = try GGUFFile(path: path)
        let model = try XCTUnwrap(Self.reference["model"])
        guard case let .array(table)? = model["tensors"] else { return XCTFail("no table") }
        XCTAssertEqual(f.tensors.count, table.count)
        for (t, want) in zip(f.tensors, table) {
            XCTAssertEqual(t.name, want["name"]?.stringValue)
            XCTAssertEqual(t.type.description, want["type"]?.stringValue)
            XCTAssertEqual(Int64(t.fileOffset), want["offset"]?.int64Value, t.name)
            XCTAssertEqual(Int64(t.byteCount), want["bytes"]?.int64Value, t.name)
        }
        guard case let .object(meta)? = model["metadata"] else { return XCTFail("no metadata") }
        for (key, want) in meta {
            let have = try XCTUnwrap(f.metadata[key], key)
            switch (have, want) {
            case let (.string(s), _): XCTAssertEqual(s, want.stringValue, key)
            case let (.array(items), .object):
                XCTAssertEqual(Int64(items.count), want["length"]?.int64Value, key)
            case let (.float32(v), _): XCTAssertEqual(Double(v), want.doubleValue, key)
            case (.bool(let b), .bool(let w)): XCTAssertEqual(b, w, key)
            default: XCTAssertEqual(have.int.map(Int64.init), want.int64Value, key)
            }
        }
        guard case let .object(stats)? = model["stats"] else { return XCTFail("no stats") }
        for (name, want) in stats {
            let values = try f.floats(name)
            guard case let .array(first)? = want["first"] else { return XCTFail() }
            XCTAssertEqual(Array(values.prefix(64)), first.map { Float($0.doubleValue!) }, name)
            let sum = values.reduce(0.0) { $0 + Double($1) }
            let squares = values.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertEqual(sum, want["sum"]!.doubleValue!, accuracy: 1e-9 * max(1, squares), name)
            XCTAssertEqual(squares, want["sum_squares"]!.doubleValue!, accuracy: 1e-9 * squares, name)
        }
    }
}

extension JSONValue {
    /// A JSON number as a Double (Python wrote float32 values as their exact float64 repr).
    var doubleValue: Double? { if case let .number(text) = self { return Double(text) }; return nil }
}
