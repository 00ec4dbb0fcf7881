import Linalg
import XCTest

final class LinalgTests: XCTestCase {
    /// OpenBLAS sgemm against the plain triple loop, on shapes that are not multiples of any block size.
    func testMatmulMatchesNaiveLoop() {
        let m = 37, n = 29, k = 53
        let a = (0..<(m * k)).map { Float(($0 * 7919) % 97) / 97 - 0.5 }
        let b = (0..<(k * n)).map { Float(($0 * 104_729) % 89) / 89 - 0.5 }
        let c = Linalg.matmul(a, b, m: m, n: n, k: k)
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), s, accuracy: 1e-4)
            }
        }
        XCTAssertEqual(Linalg.matmul([1, 2, 3, 4], [5, 6, 7, 8], m: 2, n: 2, k: 2), [19, 22, 43, 50])
    }
}
