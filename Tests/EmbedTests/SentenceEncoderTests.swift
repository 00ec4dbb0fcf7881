import Foundation
@testable import Embed
import XCTest

/// all-MiniLM-L6-v2 against sentence-transformers' own embeddings of 240 real and awkward texts
/// (Tests/EmbedTests/make_embed_reference.py made minilm_reference.npy once, on PyTorch CPU).
final class SentenceEncoderTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Reference: Decodable {
        var texts: [String]
        var ids: [[Int32]]
    }

    func model() throws -> SentenceEncoder {
        do {
            return try SentenceEncoder(directory: try ModelCache.resolve("minilm"))
        } catch let error as ModelFileError where error.description.contains("make models") {
            throw XCTSkip("\(error)")
        }
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let encoder = try model()
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.here.appendingPathComponent("minilm_reference_texts.json")))
        let expected = try NPY.readFloat32(path: Self.here.appendingPathComponent("minilm_reference.npy").path)
        XCTAssertEqual(expected.shape, [reference.texts.count, 384])
        XCTAssertEqual(reference.texts.map { encoder.tokenizer.encode($0) }, reference.ids)
        let vectors = encoder.embed(reference.texts, batchSize: 16, threads: 2)
        var worst = 1.0
        for i in reference.texts.indices {
            var dot = 0.0, a = 0.0, b = 0.0
            for j in 0..<384 {
                let x = Double(vectors[i * 384 + j]), y = Double(expected.values[i * 384 + j])
                dot += x * y; a += x * x; b += y * y
            }
            let cosine = dot / (a.squareRoot() * b.squareRoot())
            worst = min(worst, cosine)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "text \(i): \(reference.texts[i].prefix(60))")
            XCTAssertEqual(a.squareRoot(), 1, accuracy: 1e-5) // the model's Normalize module
        }
        print("worst cosine against sentence-transformers: \(worst)")
        // Batching and threads do not change a vector beyond float rounding.
        let alone = encoder.embed([reference.texts[5]], batchSize: 1, threads: 1)
        for j in 0..<384 { XCTAssertEqual(alone[j], vectors[5 * 384 + j], accuracy: 1e-5) }
    }

    func testNPYRoundTrip() throws {
        let path = NSTemporaryDirectory() + "herd-npy-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NPY.writeFloat32([1, -2.5, 3, 0.125, .infinity, 6], shape: [3, 2], to: path)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(bytes.count, 128 + 24)   // the header is padded to 64-byte alignment
        XCTAssertEqual(String(decoding: bytes[10..<128], as: UTF8.self),
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }" + String(repeating: " ", count: 58) + "\n")
        let back = try NPY.readFloat32(path: path)
        XCTAssertEqual(back.shape, [3, 2])
        XCTAssertEqual(back.values, [1, -2.5, 3, 0.125, .infinity, 6])
    }

    func testMissingModelNamesTheMakeTarget() {
        setenv("HERD_MODELS", "/nonexistent-herd-models", 1)
        defer { unsetenv("HERD_MODELS") }
        XCTAssertThrowsError(try ModelCache.resolve("minilm")) {
            XCTAssertEqual("\($0)", "model all-MiniLM-L6-v2 is not in /nonexistent-herd-models: run `make models` to fetch it (nothing is fetched at run time)")
        }
    }

    func testTruncatedSafetensorsNamesTheOffset() throws {
        let path = NSTemporaryDirectory() + "herd-st-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes: [UInt8] = [200, 0, 0, 0, 0, 0, 0, 0]
        bytes += Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) {
            XCTAssertEqual("\($0)", "\(path): header length 200 at offset 0 does not fit in the file (62 bytes)")
        }
        bytes[0] = UInt8(bytes.count - 8)
        try Data(bytes + [0, 0, 128, 63]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) {
            XCTAssertEqual("\($0)", "\(path): tensor a: bytes 0..<8 (file offsets 62..<70) run past the end of the file (66 bytes)")
        }
        try Data(bytes + [0, 0, 128, 63, 0, 0, 0, 64]).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SafeTensorsFile(path: path).floats("a"), [1, 2])
    }
}
