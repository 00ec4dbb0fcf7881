import Sampling
import XCTest

final class SamplingTests: XCTestCase {
    func testSplitMix64KnownOutputs() {
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    /// Box–Muller values as Python computes them from the same generator (math.log, math.cos).
    func testGaussianDraws() {
        var rng = SplitMix64(seed: 7)
        XCTAssertEqual(rng.nextGaussian(), 1.3649922974572282)
        XCTAssertEqual(rng.nextGaussian(), -0.39652397525381783)
        XCTAssertEqual(rng.nextGaussian(), 0.004498526159832091)
    }

    func testFixedPermutations() {
        XCTAssertEqual(DeterministicShuffle.permutation(count: 10, seed: 42), [0, 9, 5, 8, 6, 4, 7, 2, 1, 3])
        XCTAssertEqual(DeterministicShuffle.permutation(count: 10, seed: 0), [6, 3, 2, 9, 8, 1, 4, 7, 0, 5])
        XCTAssertEqual(DeterministicShuffle.permutation(count: 10, seed: 43), [4, 2, 5, 6, 1, 3, 9, 8, 7, 0])
        XCTAssertEqual(DeterministicShuffle.permutation(count: 0, seed: 42), [])
        XCTAssertEqual(DeterministicShuffle.permutation(count: 1, seed: 42), [0])
    }

    /// Values from the Python port in the doc comment of `DistinctDraw`.
    func testDistinctDraws() {
        var rng = SplitMix64(seed: 7)
        XCTAssertEqual(DistinctDraw.indices(3, below: 10, rng: &rng), [7, 4, 6])
        XCTAssertEqual(DistinctDraw.indices(3, below: 10, rng: &rng), [3, 4, 5])
        var all = SplitMix64(seed: 1)
        XCTAssertEqual(Set(DistinctDraw.indices(5, below: 5, rng: &all)), Set(0..<5))
        XCTAssertEqual(DistinctDraw.indices(0, below: 0, rng: &all), [])
    }
}
