import COpenBLAS
import Foundation

/// Exact k nearest neighbours under the Euclidean distance, by BLAS blocks: for a block of rows
/// and a block of columns, ‖x − y‖² = ‖x‖² + ‖y‖² − 2·x·y with the products from one `sgemm`,
/// and a bounded max-heap per row that rejects most candidates with one comparison. The k
/// distances kept are then recomputed directly in double, so cancellation in the expansion
/// cannot move them (it can only swap near-ties at the k-th place).
public struct NearestNeighbors: Sendable {
    /// [N × k] neighbour indices, nearest first (ties by index), the point itself excluded.
    public var indices: [Int32]
    /// [N × k] Euclidean distances (not squared), in double.
    public var distances: [Double]
    public var k: Int

    /// `points` is [n × d] row-major float32.
    public static func exact(points: UnsafeBufferPointer<Float>, n: Int, d: Int, k: Int, threads: Int = 2) -> NearestNeighbors {
        precondition(k >= 1 && k < n, "k must be in 1..<n")
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for j in 0..<d { s += points[i * d + j] * points[i * d + j] }
            norms[i] = s
        }
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Double](repeating: 0, count: n * k)
        let rowBlock = 256, columnBlock = 4096
        let blocks = (n + rowBlock - 1) / rowBlock
        let lock = NSLock()
        var next = 0
        openblas_set_num_threads(1)
        indices.withUnsafeMutableBufferPointer { outIndex in
            distances.withUnsafeMutableBufferPointer { outDistance in
                let outI = outIndex, outD = outDistance
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, blocks))) { _ in
                    var products = [Float](repeating: 0, count: rowBlock * columnBlock)
                    var heapD = [Float](repeating: 0, count: rowBlock * k)
                    var heapI = [Int32](repeating: 0, count: rowBlock * k)
                    var heapCount = [Int](repeating: 0, count: rowBlock)
                    while true {
                        lock.lock(); let b = next; next += 1; lock.unlock()
                        guard b < blocks else { return }
                        let r0 = b * rowBlock, rows = min(rowBlock, n - r0)
                        for r in 0..<rows { heapCount[r] = 0 }
                        var c0 = 0
                        while c0 < n {
                            let cols = min(columnBlock, n - c0)
                            // products [rows × cols] = X[r0..] · X[c0..]ᵀ
                            products.withUnsafeMutableBufferPointer { p in
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(d), 1,
                                            points.baseAddress! + r0 * d, Int32(d), points.baseAddress! + c0 * d, Int32(d),
                                            0, p.baseAddress, Int32(cols))
                            }
                            for r in 0..<rows {
                                let i = r0 + r
                                let ni = norms[i]
                                var count = heapCount[r]
                                let base = r * k
                                var worst = count == k ? heapD[base] : Float.infinity
                                let row = r * cols
                                for c in 0..<cols {
                                    let j = c0 + c
                                    let dist = max(0, ni + norms[j] - 2 * products[row + c])
                                    // Columns come in increasing j, so a tie never displaces the earlier (smaller) index.
                                    guard dist < worst, j != i else { continue }
                                    if count < k {
                                        // Sift up in a max-heap keyed by (distance, index).
                                        var at = count
                                        count += 1
                                        while at > 0 {
                                            let parent = (at - 1) / 2
                                            if heapD[base + parent] > dist || (heapD[base + parent] == dist && heapI[base + parent] > Int32(j)) { break }
                                            heapD[base + at] = heapD[base + parent]; heapI[base + at] = heapI[base + parent]
                                            at = parent
                                        }
                                        heapD[base + at] = dist; heapI[base + at] = Int32(j)
                                    } else {
                                        // Replace the root and sift down.
                                        var at = 0
                                        while true {
                                            let left = 2 * at + 1
                                            if left >= k { break }
                                            var child = left
                                            let right = left + 1
                                            if right < k && (heapD[base + right] > heapD[base + left]
                                                || (heapD[base + right] == heapD[base + left] && heapI[base + right] > heapI[base + left])) { child = right }
                                            if heapD[base + child] < dist || (heapD[base + child] == dist && heapI[base + child] < Int32(j)) { break }
                                            heapD[base + at] = heapD[base + child]; heapI[base + at] = heapI[base + child]
                                            at = child
                                        }
                                        heapD[base + at] = dist; heapI[base + at] = Int32(j)
                                    }
                                    if count == k { worst = heapD[base] }
                                }
                                heapCount[r] = count
                            }
                            c0 += cols
                        }
                        // Exact distances in double, sorted nearest first.
                        for r in 0..<rows {
                            let i = r0 + r
                            var found: [(Double, Int32)] = (0..<k).map { t in
                                let j = Int(heapI[r * k + t])
                                var s = 0.0
                                for e in 0..<d { let diff = Double(points[i * d + e]) - Double(points[j * d + e]); s += diff * diff }
                                return (s.squareRoot(), Int32(j))
                            }
                            found.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
                            for t in 0..<k { outI[i * k + t] = found[t].1; outD[i * k + t] = found[t].0 }
                        }
                    }
                }
            }
        }
        return NearestNeighbors(indices: indices, distances: distances, k: k)
    }
}
