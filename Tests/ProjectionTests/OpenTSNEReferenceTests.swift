import Embed
import FastJSON
import Foundation
@testable import Projection
import XCTest

/// Against openTSNE 1.0.4 on 1,000 real instructions embedded with all-MiniLM-L6-v2
/// (Tests/ProjectionTests/make_tsne_reference.py made the fixture once): the same neighbours,
/// bandwidths and affinities, the same principal axes, and a final embedding as good as openTSNE's
/// (KL within 5%, trustworthiness within 0.01) with each of its two gradient methods.
final class OpenTSNEReferenceTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let input = try! NPY.readFloat32(path: here.appendingPathComponent("tsne_reference_input.npy").path)
    static let reference = try! JSONParser.parse(Array(try! Data(contentsOf: here.appendingPathComponent("tsne_reference.json"))))

    func doubles(_ v: JSONValue?) -> [Double] {
        guard case let .array(items)? = v else { return [] }
        return items.compactMap { if case let .number(t) = $0 { return Double(t) } else { return nil } }
    }

    func rows(_ v: JSONValue?) -> [[Double]] {
        guard case let .array(items)? = v else { return [] }
        return items.map { doubles($0) }
    }

    func testNeighborsAffinitiesAndInitialisationMatch() throws {
        let n = 1000, d = 384, ref = Self.reference
        XCTAssertEqual(Self.input.shape, [n, d])
        let neighbors = Self.input.values.withUnsafeBufferPointer { NearestNeighbors.exact(points: $0, n: n, d: d, k: 90) }
        for (i, expected) in rows(ref["neighbors"]?["first5_indices"]).enumerated() {
            XCTAssertEqual(neighbors.indices[(i * 90)..<((i + 1) * 90)].map { Double($0) }, expected, "point \(i)")
        }
        for (i, expected) in rows(ref["neighbors"]?["first5_distances"]).enumerated() {
            for t in 0..<90 { XCTAssertEqual(neighbors.distances[i * 90 + t], expected[t], accuracy: 1e-12) }
        }

        // The bisection is openTSNE's, operation for operation: the same precisions everywhere,
        // even for points whose neighbours are nearly equidistant (where the entropy is almost flat).
        let conditional = Affinities.conditional(neighbors, perplexity: 30)
        let tau = doubles(ref["bandwidth"]?["tau"])
        XCTAssertEqual(tau.count, n)
        var worst = 0.0
        for i in 0..<n { worst = max(worst, abs(conditional.precisions[i] - tau[i]) / tau[i]) }
        XCTAssertLessThan(worst, 1e-12)
        // openTSNE's rows list the same values in its own order.
        for (i, expected) in rows(ref["bandwidth"]?["conditional_P_first5"]).enumerated() {
            let mine = conditional.p[(i * 90)..<((i + 1) * 90)].sorted(), theirs = expected.sorted()
            for t in 0..<90 { XCTAssertEqual(mine[t], theirs[t], accuracy: 1e-12, "point \(i)") }
        }

        let p = Affinities.joint(neighbors, conditional: conditional.p)
        XCTAssertEqual(p.values.count, 124_862)
        guard case let .array(firstRows)? = ref["P"]?["first5_rows"] else { return XCTFail("no P rows") }
        for (i, row) in firstRows.enumerated() {
            XCTAssertEqual(p.columns[p.rowStart[i]..<p.rowStart[i + 1]].map { Double($0) }, doubles(row["indices"]), "row \(i)")
            // Equal to rounding: numpy sums the normalising total pairwise, Herd in order.
            for (t, v) in doubles(row["values"]).enumerated() { XCTAssertEqual(p.values[p.rowStart[i] + t], v, accuracy: v * 1e-12) }
        }

        // The principal axes: the same up to one positive scale (the signs agree), against the
        // exact eigendecomposition's projection.
        let pca = try Self.input.values.withUnsafeBufferPointer { try PCAInitialization.compute(points: $0, n: n, d: d, seed: 1, jitter: false) }
        let exact = rows(ref["pca_init"]?["raw_exact_eigh_first10"])
        let scale = pca[0] / exact[0][0]
        XCTAssertGreaterThan(scale, 0)
        for (i, row) in exact.enumerated() {
            XCTAssertEqual(pca[2 * i] / scale, row[0], accuracy: 1e-9)
            XCTAssertEqual(pca[2 * i + 1] / scale, row[1], accuracy: 1e-9)
        }
        XCTAssertEqual(PCAInitialization.standardDeviation(pca, column: 0), 1e-4, accuracy: 1e-15)
    }

    /// scikit-learn's trustworthiness of openTSNE's own embedding, recomputed here exactly.
    func testTrustworthinessMatchesScikitLearn() throws {
        let out = try NPY.readFloat32(path: Self.here.appendingPathComponent("tsne_reference_output.npy").path)
        let low = out.values.map(Double.init)
        let t = Self.input.values.withUnsafeBufferPointer { high in low.withUnsafeBufferPointer {
            ProjectionQuality.trustworthiness(high: high, d: 384, low: $0, n: 1000, k: 10)
        } }
        guard case let .number(expected)? = Self.reference["bh"]?["trustworthiness_10"] else { return XCTFail("no trustworthiness") }
        XCTAssertEqual(t, Double(expected)!, accuracy: 1e-12)
    }

    func checkFinalEmbedding(method: RepulsionMethod) throws {
        var options = TSNEOptions()
        options.method = method
        options.earlyMomentum = 0.8     // openTSNE's schedule, as the fixture ran it
        let result = try Self.input.values.withUnsafeBufferPointer { try TSNE.run(points: $0, n: 1000, d: 384, options: options) }
        func number(_ key: String) -> Double {
            if case let .number(s)? = Self.reference[method.rawValue]?[key] { return Double(s)! }
            return .nan
        }
        let trust = Self.input.values.withUnsafeBufferPointer { high in result.embedding.withUnsafeBufferPointer {
            ProjectionQuality.trustworthiness(high: high, d: 384, low: $0, n: 1000, k: 10)
        } }
        print("\(method.rawValue): KL \(result.klDivergence) (openTSNE \(number("kl_750"))), trustworthiness \(trust) (openTSNE \(number("trustworthiness_10")))")
        XCTAssertEqual(result.klDivergence, number("kl_750"), accuracy: 0.05 * number("kl_750"))
        XCTAssertEqual(trust, number("trustworthiness_10"), accuracy: 0.01)
    }

    func testBarnesHutEmbeddingAsGoodAsOpenTSNE() throws { try checkFinalEmbedding(method: .bh) }

    func testInterpolatedEmbeddingAsGoodAsOpenTSNE() throws { try checkFinalEmbedding(method: .fft) }
}
