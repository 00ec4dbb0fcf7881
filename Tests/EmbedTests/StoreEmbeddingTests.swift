@testable import Embed
import Foundation
import Sampling
@testable import Store
import XCTest

/// `herd embed` into the store: what is selected, the sample, resuming, and identical bytes.
final class StoreEmbeddingTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-embed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    static let encoder: SentenceEncoder? = try? SentenceEncoder(directory: try ModelCache.resolve("minilm"))

    func encoder() throws -> SentenceEncoder {
        guard let e = Self.encoder else { throw XCTSkip("all-MiniLM-L6-v2 is missing: run `make models`") }
        return e
    }

    /// Real Self-Instruct seed instructions.
    static let texts: [String] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/self-instruct/seed_tasks.jsonl").path
        return (try! String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n").map {
            (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["instruction"] as! String
        }
    }()

    /// A store with 30 alpaca and 25 original_p3 instructions (3 of them with an input, 10 with an
    /// output), a seed subset of 5, and an exact duplicate: 55 candidates.
    func makeStore(_ name: String) throws -> Store {
        let store = try Store.create(at: "\(dir!)/\(name).db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "e", count: 64), bytes: 0, format: "test")
        var k = 0
        func add(_ subset: String, _ n: Int, duplicateOf: Int64? = nil) throws {
            for _ in 0..<n {
                let text = Self.texts[k % Self.texts.count]
                k += 1
                _ = try w.add(NewInstruction(subset: subset, member: nil, line: Int64(k), record: Int64(k), byteOffset: 0, task: nil,
                                             instruction: text, input: k % 10 == 3 ? "some input \(k)" : "",
                                             output: k % 5 == 0 ? "answer \(k)" : nil, meta: nil, normHash: Int64(k)),
                              duplicateOf: duplicateOf)
            }
        }
        try add("alpaca", 30)
        try add("self_instruct_seed", 5)
        try add("original_p3", 25)
        try add("original_p3", 1, duplicateOf: 1)
        _ = try w.commit(filtered: 0, format: "test")
        return store
    }

    func testCandidatesAreTheExportedCorpus() throws {
        let store = try makeStore("a")
        let candidates = try store.embeddingCandidates(field: "instruction")
        XCTAssertEqual(candidates.count, 55)
        XCTAssertEqual(Set(candidates.map(\.subset)), ["alpaca", "original_p3"])
        XCTAssertEqual(try store.embeddingCandidates(field: "response").count, 11)   // outputs at k = 5, 10, …, 55 but 35 (seed)
        // "instruction:input", as herd export writes it.
        let withInput = try XCTUnwrap(candidates.first { $0.id == 3 })
        XCTAssertEqual(try store.embeddingTexts(ids: [withInput.id], field: "instruction"), [Self.texts[2] + ":some input 3"])
    }

    func testSampleIsReproducibleAndNested() {
        let candidates = (1...200).map { EmbeddingCandidate(id: Int64($0), subset: $0 % 3 == 0 ? "b" : "a") }
        let ten = StoreEmbedder.select(candidates, sample: 10, perSubset: true, seed: 7)
        XCTAssertEqual(ten.count, 20)
        XCTAssertEqual(ten.filter { $0.subset == "b" }.count, 10)
        XCTAssertEqual(ten.map(\.id), ten.map(\.id).sorted())
        XCTAssertEqual(StoreEmbedder.select(candidates, sample: 10, perSubset: true, seed: 7), ten)
        XCTAssertNotEqual(StoreEmbedder.select(candidates, sample: 10, perSubset: true, seed: 8), ten)
        let twenty = StoreEmbedder.select(candidates, sample: 20, perSubset: true, seed: 7)
        XCTAssertTrue(Set(ten.map(\.id)).isSubset(of: Set(twenty.map(\.id))))
        // More candidates (a grown store) leave the sample's old members in place unless new ones rank first.
        XCTAssertEqual(StoreEmbedder.select(candidates, sample: 1000, perSubset: false, seed: 7), candidates)
        XCTAssertEqual(StoreEmbedder.select(candidates, sample: 15, perSubset: false, seed: 7).count, 15)
    }

    func testEmbedResumesAndWritesIdenticalBytes() throws {
        let encoder = try encoder()
        var options = StoreEmbeddingOptions()
        options.sample = 10
        options.perSubset = true
        options.seed = 7
        options.chunkSize = 4

        let a = try makeStore("a")
        let first = try StoreEmbedder.run(store: a, encoder: encoder, options: options)
        XCTAssertEqual(first.model.name, "all-MiniLM-L6-v2")
        XCTAssertEqual(first.model.sha256, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        XCTAssertEqual([first.selected, first.embedded, first.alreadyEmbedded], [20, 20, 0])
        XCTAssertEqual(first.counts.map { "\($0.subset) \($0.dtype) \($0.count)" }, ["alpaca float32 10", "original_p3 float32 10"])
        let again = try StoreEmbedder.run(store: a, encoder: encoder, options: options)
        XCTAssertEqual([again.embedded, again.alreadyEmbedded], [0, 20])

        // A stored vector is the text's embedding, as float32 bytes (alone in its batch, a text's
        // vector moves in the last bits: BLAS blocks the products by the padded length).
        var stored: [(Int64, [Float])] = []
        try a.forEachEmbedding(modelID: first.model.id, field: "instruction") { id, _, dtype, raw in
            XCTAssertEqual(dtype, "float32")
            stored.append((id, EmbeddingElementType.float32.decode(raw)))
        }
        XCTAssertEqual(stored.count, 20)
        let text = try a.embeddingTexts(ids: [stored[3].0], field: "instruction")
        let alone = encoder.embed(text, batchSize: 32, threads: 1)
        for j in 0..<384 { XCTAssertEqual(stored[3].1[j], alone[j], accuracy: 1e-6) }

        // A run killed after its first chunks: the chunks that landed stay, the rest is embedded
        // on the next run, and the store ends byte for byte as the unbroken one.
        let b = try makeStore("b")
        _ = try StoreEmbedder.run(store: b, encoder: encoder, options: options)
        let ids = try b.embeddedIDs(modelID: 1, field: "instruction").sorted()
        try b.db.execute("DELETE FROM embeddings WHERE instruction_id >= \(ids[12])")
        let resumed = try StoreEmbedder.run(store: b, encoder: encoder, options: options)
        XCTAssertEqual([resumed.embedded, resumed.alreadyEmbedded], [8, 12])
        XCTAssertEqual(try b.contentDigest().sha256, try a.contentDigest().sha256)

        // A larger sample with the same seed adds to the stored one.
        options.sample = 12
        let grown = try StoreEmbedder.run(store: a, encoder: encoder, options: options)
        XCTAssertEqual([grown.selected, grown.embedded, grown.alreadyEmbedded], [24, 4, 20])

        // Responses in float16, beside the instructions.
        options.sample = nil
        options.field = "response"
        options.elementType = .float16
        let responses = try StoreEmbedder.run(store: a, encoder: encoder, options: options)
        XCTAssertEqual(responses.embedded, 11)
        XCTAssertEqual(responses.counts.filter { $0.field == "response" }.map { "\($0.subset) \($0.dtype) \($0.count)" },
                       ["alpaca float16 6", "original_p3 float16 5"])
        try a.forEachEmbedding(modelID: first.model.id, field: "response") { _, _, dtype, raw in
            XCTAssertEqual(dtype, "float16")
            XCTAssertEqual(raw.count, 384 * 2)
        }
    }

    func testFloat16Bytes() {
        let bytes = EmbeddingElementType.float16.encode([1, -2, 1.0 / 3, 65504, 1e-8][...])
        XCTAssertEqual(bytes, [0x00, 0x3C, 0x00, 0xC0, 0x55, 0x35, 0xFF, 0x7B, 0x00, 0x00])
        bytes.withUnsafeBytes { XCTAssertEqual(EmbeddingElementType.float16.decode($0), [1, -2, 0.33325195, 65504, 0]) }
        let f32 = EmbeddingElementType.float32.encode([1, -0.5][...])
        XCTAssertEqual(f32, [0, 0, 0x80, 0x3F, 0, 0, 0, 0xBF])
    }
}
