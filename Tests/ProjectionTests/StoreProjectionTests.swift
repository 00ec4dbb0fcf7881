import Foundation
@testable import Projection
import Sampling
import Store
import XCTest

/// `herd project` on the store: which vectors, the sample, one transaction, no recomputation.
final class StoreProjectionTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-project-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// 90 instructions in three subsets, each with a 12-d vector near its subset's centre
    /// (float16 for one subset, as `herd embed --dtype float16` stores them).
    func makeStore(_ name: String) throws -> Store {
        let store = try Store.create(at: "\(dir!)/\(name).db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "f", count: 64), bytes: 0, format: "test")
        let subsets = ["alpaca", "generated_p3", "original_flan"]
        for k in 0..<90 {
            _ = try w.add(NewInstruction(subset: subsets[k % 3], member: nil, line: Int64(k + 1), record: Int64(k + 1), byteOffset: 0,
                                         task: nil, instruction: "instruction \(k)", input: "", output: nil, meta: nil, normHash: Int64(k)),
                          duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        let model = try store.embeddingModel(name: "tiny-model", sha256: String(repeating: "1", count: 64), dimension: 12)
        var rng = SplitMix64(seed: 11)
        for (s, type) in zip(0..<3, [EmbeddingElementType.float32, .float16, .float32]) {
            let rows = (0..<90).filter { $0 % 3 == s }.map { k in
                NewEmbedding(instructionID: Int64(k + 1),
                             vector: type.encode((0..<12).map { j in Float(j % 3 == s ? 3 : 0) + Float(rng.nextGaussian()) * 0.5 }[...]))
            }
            try store.addEmbeddings(modelID: model.id, field: "instruction", dtype: type.rawValue, rows)
        }
        return store
    }

    func testProjectsASamplePerSubsetOnce() throws {
        let a = try makeStore("a")
        var options = StoreProjectionOptions()
        options.model = "tiny-model"
        options.sample = 20
        options.tsne.perplexity = 5
        options.tsne.earlyIterations = 50
        options.tsne.iterations = 100
        let first = try StoreProjector.run(store: a, options: options)
        XCTAssertFalse(first.reused)
        XCTAssertEqual(first.projection.points, 60)
        XCTAssertEqual(first.subsets.map { "\($0.subset) \($0.points)" }, ["alpaca 20", "generated_p3 20", "original_flan 20"])
        let points = try a.projectionPoints(projectionID: first.projection.id)
        XCTAssertEqual(points.count, 60)
        // The sample is embed's: the keyed draw over the same ids, per subset.
        let ids = (1...90).map(Int64.init)
        let groups = ids.map { ["alpaca", "generated_p3", "original_flan"][Int($0 - 1) % 3] }
        XCTAssertEqual(points.map(\.instructionID), KeyedSample.select(ids: ids, groups: groups, n: 20, seed: 1).map { ids[$0] })
        // Clusters stay apart: every point's nearest projected neighbour is of its own subset.
        var sameSubset = 0
        for p in points {
            let nearest = points.filter { $0.instructionID != p.instructionID }
                .min { hypot($0.x - p.x, $0.y - p.y) < hypot($1.x - p.x, $1.y - p.y) }!
            if nearest.subset == p.subset { sameSubset += 1 }
        }
        XCTAssertEqual(sameSubset, 60)

        let again = try StoreProjector.run(store: a, options: options)
        XCTAssertTrue(again.reused)
        XCTAssertEqual(again.projection, first.projection)
        XCTAssertEqual(try a.projections().count, 1)

        // Another store with the same vectors gets the same bytes.
        let b = try makeStore("b")
        _ = try StoreProjector.run(store: b, options: options)
        XCTAssertEqual(try b.contentDigest().sha256, try a.contentDigest().sha256)

        options.tsne.perplexity = 8
        XCTAssertFalse(try StoreProjector.run(store: a, options: options).reused)
        XCTAssertEqual(try a.projections().count, 2)
    }

    func testMissingVectorsSayWhatToRun() throws {
        let store = try Store.create(at: "\(dir!)/empty.db")
        XCTAssertThrowsError(try StoreProjector.run(store: store, options: StoreProjectionOptions())) {
            XCTAssertEqual("\($0)", "no vectors of all-MiniLM-L6-v2 in the store: run `herd embed` first")
        }
    }
}
