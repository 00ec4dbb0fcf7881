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
                    // Per worker: the product block and one bounded max-heap per row, keyed by
                    // (distance, index). Raw pointers: this loop sees every pair of points.
                    let products = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * columnBlock)
                    let heapD = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * k)
                    let heapI = UnsafeMutablePointer<Int32>.allocate(capacity: rowBlock * k)
                    var heapCount = [Int](repeating: 0, count: rowBlock)
                    defer { products.deallocate(); heapD.deallocate(); heapI.deallocate() }
                    norms.withUnsafeBufferPointer { normsBuffer in
                    let norm = normsBuffer.baseAddress!
                    while true {
                        lock.lock(); let b = next; next += 1; lock.unlock()
                        guard b < blocks else { return }
                        let r0 = b * rowBlock, rows = min(rowBlock, n - r0)
                        for r in 0..<rows { heapCount[r] = 0 }
                        var c0 = 0
                        while c0 < n {
                            let cols = min(columnBlock, n - c0)
                            // products [rows × cols] = X[r0..] · X[c0..]ᵀ
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(d), 1,
                                        points.baseAddress! + r0 * d, Int32(d), points.baseAddress! + c0 * d, Int32(d),
                                        0, products, Int32(cols))
                            for r in 0..<rows {
                                let i = r0 + r
                                let ni = norm[i]
                                var count = heapCount[r]
                                let hd = heapD + r * k, hi = heapI + r * k
                                var worst = count == k ? hd[0] : Float.infinity
                                let row = products + r * cols
                                for c in 0..<cols {
                                    let j = c0 + c
                                    let dist = max(0, ni + norm[j] - 2 * row[c])
                                    // Columns come in increasing j, so a tie never displaces the earlier (smaller) index.
                                    guard dist < worst, j != i else { continue }
                                    if count < k {
                                        var at = count
                                        count += 1
                                        while at > 0 {
                                            let parent = (at - 1) / 2
                                            if hd[parent] > dist || (hd[parent] == dist && hi[parent] > Int32(j)) { break }
                                            hd[at] = hd[parent]; hi[at] = hi[parent]
                                            at = parent
                                        }
                                        hd[at] = dist; hi[at] = Int32(j)
                                    } else {
                                        // Replace the root and sift down.
                                        var at = 0
                                        while true {
                                            let left = 2 * at + 1
                                            if left >= k { break }
                                            var child = left
                                            let right = left + 1
                                            if right < k && (hd[right] > hd[left] || (hd[right] == hd[left] && hi[right] > hi[left])) { child = right }
                                            if hd[child] < dist || (hd[child] == dist && hi[child] < Int32(j)) { break }
                                            hd[at] = hd[child]; hi[at] = hi[child]
                                            at = child
                                        }
                                        hd[at] = dist; hi[at] = Int32(j)
                                    }
                                    if count == k { worst = hd[0] }
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
        }
        return NearestNeighbors(indices: indices, distances: distances, k: k)
    }
}
