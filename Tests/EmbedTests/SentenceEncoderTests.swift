import CHerdShims
@testable import Embed
import Foundation
import XCTest

/// all-MiniLM-L6-v2 and all-mpnet-base-v2 against sentence-transformers' own embeddings of 240
/// real and awkward texts (Tests/EmbedTests/make_embed_reference.py made the .npy files once, on
/// PyTorch CPU).
final class SentenceEncoderTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Reference: Decodable {
        var texts: [String]
        var ids: [[Int32]]
    }

    func model(_ name: String) throws -> SentenceEncoder {
        do {
            return try SentenceEncoder(directory: try ModelCache.resolve(name))
        } catch let error as ModelFileError where error.description.contains("make models") {
            throw XCTSkip("\(error)")
        }
    }

    /// Token ids identical, every vector's cosine with sentence-transformers' ≥ 0.9999 (in fact
    /// above 0.99999999999), unit length, and batching that does not change a vector.
    func checkAgainstReference(model name: String, prefix: String, dimension d: Int) throws {
        let encoder = try model(name)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.here.appendingPathComponent("\(prefix)_reference_texts.json")))
        let expected = try NPY.readFloat32(path: Self.here.appendingPathComponent("\(prefix)_reference.npy").path)
        XCTAssertEqual(expected.shape, [reference.texts.count, d])
        XCTAssertEqual(encoder.dimension, d)
        for (i, text) in reference.texts.enumerated() {
            XCTAssertEqual(encoder.tokenizer.encode(text), reference.ids[i], "text \(i): \(text.prefix(60))")
        }
        let vectors = encoder.embed(reference.texts, batchSize: 16, threads: 2)
        var worst = 1.0
        for i in reference.texts.indices {
            var dot = 0.0, a = 0.0, b = 0.0
            for j in 0..<d {
                let x = Double(vectors[i * d + j]), y = Double(expected.values[i * d + j])
                dot += x * y; a += x * x; b += y * y
            }
            let cosine = dot / (a.squareRoot() * b.squareRoot())
            worst = min(worst, cosine)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "text \(i): \(reference.texts[i].prefix(60))")
            XCTAssertEqual(a.squareRoot(), 1, accuracy: 1e-5) // the model's Normalize module
        }
        print("\(name): worst cosine against sentence-transformers: \(worst)")
        XCTAssertGreaterThan(worst, 0.999999)
        // Batching and threads do not change a vector beyond float rounding.
        let alone = encoder.embed([reference.texts[5]], batchSize: 1, threads: 1)
        for j in 0..<d { XCTAssertEqual(alone[j], vectors[5 * d + j], accuracy: 1e-5) }
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        try checkAgainstReference(model: "minilm", prefix: "minilm", dimension: 384)
    }

    /// all-mpnet-base-v2 (`make models-mpnet`; skipped without it): `<s> … </s>` ids truncated at
    /// 384, positions from 2, relative-position attention bias.
    func testMPNetMatchesSentenceTransformers() throws {
        try checkAgainstReference(model: "mpnet", prefix: "mpnet", dimension: 768)
    }

    /// transformers' MPNetEncoder.relative_position_bucket, printed by torch for these distances
    /// (key position − query position): the float logarithm decides the bins at 16, 32 and 64.
    func testRelativePositionBucketsMatchTransformers() {
        let before: [(Int, Int)] = [(0, 0), (1, 1), (7, 7), (8, 8), (9, 8), (11, 8), (12, 9), (15, 9), (16, 10), (22, 10), (23, 11),
                                    (31, 11), (32, 12), (45, 12), (46, 13), (63, 13), (64, 14), (90, 14), (91, 15), (127, 15),
                                    (128, 15), (129, 15), (400, 15)]
        for (n, bucket) in before { XCTAssertEqual(BertEncoder.relativePositionBucket(-n), bucket, "key \(n) before the query") }
        let after: [(Int, Int)] = [(1, 17), (7, 23), (8, 24), (15, 25), (16, 26), (17, 26), (31, 27), (32, 28), (64, 30), (128, 31), (400, 31)]
        for (n, bucket) in after { XCTAssertEqual(BertEncoder.relativePositionBucket(n), bucket, "key \(n) after the query") }
    }

    /// The vectorised GELU and softmax kernels' approximations against libm in double.
    func testKernelsAgainstLibm() {
        var worstErf = 0.0
        var x = -6.0
        while x <= 6 {
            let f = Float(x)
            worstErf = max(worstErf, abs(Double(herd_erf_approx(f)) - erf(Double(f))))
            x += 1e-4
        }
        XCTAssertLessThan(worstErf, 4.3e-7)
        var worstExp = 0.0
        x = -87
        while x <= 0 {
            let f = Float(x), exact = exp(Double(f))
            worstExp = max(worstExp, abs(Double(herd_exp_nonpositive(f)) - exact) / exact)
            x += 1e-3
        }
        XCTAssertLessThan(worstExp, 1.2e-7)
        XCTAssertEqual(herd_exp_nonpositive(-100), 0)
        XCTAssertEqual(herd_exp_nonpositive(0), 1)

        var rows: [Float] = [1, 2, 3, 9, 9, 0, 0, 0, 0, 0]
        herd_softmax_prefix(&rows, 2, 5, 3)
        let e = [exp(-2.0), exp(-1.0), 1.0], sum = e.reduce(0, +)
        for k in 0..<3 { XCTAssertEqual(Double(rows[k]), e[k] / sum, accuracy: 1e-7) }
        XCTAssertEqual(Array(rows[3..<5]), [0, 0])
        for k in 5..<8 { XCTAssertEqual(rows[k], 1.0 / 3, accuracy: 1e-7) }
        XCTAssertEqual(Array(rows[8..<10]), [0, 0])

        var gelu: [Float] = [-3, -1, 0, 0.5, 2, 10]
        herd_gelu_erf(&gelu, gelu.count)
        let expected = [-3.0, -1, 0, 0.5, 2, 10].map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
        for k in gelu.indices { XCTAssertEqual(Double(gelu[k]), expected[k], accuracy: 2e-6) }
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
