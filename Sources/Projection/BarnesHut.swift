import Foundation

/// A quadtree over 2-D points for the Barnes–Hut estimate of t-SNE's repulsive forces. Built by
/// recursive partition (each cell split into four equal quadrants until it holds one point, or
/// only copies of one point); nodes live in flat arrays, the four children of a node together.
struct QuadTree {
    var centerX: [Double] = [], centerY: [Double] = []   // centre of mass
    var count: [Int32] = []
    var side: [Double] = []                             // the cell's side length
    var originX: [Double] = [], originY: [Double] = []  // the cell's lower-left corner
    var firstChild: [Int32] = []                        // -1 for a leaf
    var pointStart: [Int32] = [], pointEnd: [Int32] = [] // a leaf's points in `order`
    /// Point indices, grouped by leaf (a spatial order: near points are near in it).
    var order: [Int32]

    init(_ y: UnsafeBufferPointer<Double>, n: Int) {
        order = (0..<Int32(n)).map { $0 }
        var minX = Double.infinity, minY = Double.infinity, maxX = -Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
            minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
        }
        // A square root cell, slightly larger so the maxima fall inside.
        let span = max(maxX - minX, maxY - minY)
        let rootSide = span > 0 ? span * (1 + 1e-9) + 1e-300 : 1
        reserve(2 * n + 4)
        _ = addNode(x0: minX, y0: minY, side: rootSide)
        var scratch = [Int32](repeating: 0, count: n)
        build(node: 0, lo: 0, hi: n, y: y, scratch: &scratch, depth: 0)
    }

    private mutating func reserve(_ capacity: Int) {
        for a in [\QuadTree.centerX, \.centerY, \.side, \.originX, \.originY] as [WritableKeyPath<QuadTree, [Double]>] {
            self[keyPath: a].reserveCapacity(capacity)
        }
        count.reserveCapacity(capacity); firstChild.reserveCapacity(capacity)
        pointStart.reserveCapacity(capacity); pointEnd.reserveCapacity(capacity)
    }

    private mutating func addNode(x0: Double, y0: Double, side s: Double) -> Int {
        centerX.append(0); centerY.append(0); count.append(0); side.append(s)
        originX.append(x0); originY.append(y0); firstChild.append(-1); pointStart.append(0); pointEnd.append(0)
        return count.count - 1
    }

    private mutating func build(node: Int, lo: Int, hi: Int, y: UnsafeBufferPointer<Double>, scratch: inout [Int32], depth: Int) {
        count[node] = Int32(hi - lo)
        var sx = 0.0, sy = 0.0
        for t in lo..<hi { let i = Int(order[t]); sx += y[2 * i]; sy += y[2 * i + 1] }
        if hi > lo { centerX[node] = sx / Double(hi - lo); centerY[node] = sy / Double(hi - lo) }
        var allSame = true
        if hi - lo > 1 {
            let i0 = Int(order[lo])
            for t in (lo + 1)..<hi where y[2 * Int(order[t])] != y[2 * i0] || y[2 * Int(order[t]) + 1] != y[2 * i0 + 1] { allSame = false; break }
        }
        if hi - lo <= 1 || allSame || depth >= 60 {
            pointStart[node] = Int32(lo); pointEnd[node] = Int32(hi)
            return
        }
        let half = side[node] / 2
        let midX = originX[node] + half, midY = originY[node] + half
        // Counting partition into quadrants 0 (left-bottom), 1 (right-bottom), 2 (left-top), 3 (right-top).
        var sizes = [0, 0, 0, 0]
        func quadrant(_ i: Int) -> Int { (y[2 * i] >= midX ? 1 : 0) + (y[2 * i + 1] >= midY ? 2 : 0) }
        for t in lo..<hi { sizes[quadrant(Int(order[t]))] += 1 }
        var starts = [lo, lo + sizes[0], lo + sizes[0] + sizes[1], lo + sizes[0] + sizes[1] + sizes[2]]
        let bounds = starts
        for t in lo..<hi { let q = quadrant(Int(order[t])); scratch[starts[q]] = order[t]; starts[q] += 1 }
        for t in lo..<hi { order[t] = scratch[t] }
        let first = count.count
        firstChild[node] = Int32(first)
        for q in 0..<4 {
            _ = addNode(x0: q & 1 == 1 ? midX : originX[node], y0: q & 2 == 2 ? midY : originY[node], side: half)
        }
        for q in 0..<4 where sizes[q] > 0 {
            build(node: first + q, lo: bounds[q], hi: bounds[q] + sizes[q], y: y, scratch: &scratch, depth: depth + 1)
        }
    }

    /// The repulsive force on point i, unnormalised: Σ_j q_ij² (y_i − y_j) with q_ij = 1/(1 + d²),
    /// and Σ_j q_ij, cells summarised by their centre of mass when side/distance < θ.
    func repulsion(of i: Int, y: UnsafeBufferPointer<Double>, theta: Double, stack: inout [Int32]) -> (fx: Double, fy: Double, sumQ: Double) {
        let xi = y[2 * i], yi = y[2 * i + 1]
        let theta2 = theta * theta
        var fx = 0.0, fy = 0.0, sumQ = 0.0
        stack.removeAll(keepingCapacity: true)
        stack.append(0)
        while let top = stack.popLast() {
            let node = Int(top)
            let c = count[node]
            if c == 0 { continue }
            let first = firstChild[node]
            if first < 0 {
                // A leaf: its points one by one (copies of one point, or one point), i itself left out.
                for t in Int(pointStart[node])..<Int(pointEnd[node]) {
                    let j = Int(order[t])
                    if j == i { continue }
                    let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                    let q = 1 / (1 + dx * dx + dy * dy)
                    sumQ += q
                    fx += q * q * dx; fy += q * q * dy
                }
                continue
            }
            let dx = xi - centerX[node], dy = yi - centerY[node]
            let d2 = dx * dx + dy * dy
            let s = side[node]
            let inside = xi >= originX[node] && xi < originX[node] + s && yi >= originY[node] && yi < originY[node] + s
            if !inside && s * s < theta2 * d2 {
                let q = 1 / (1 + d2)
                let m = Double(c)
                sumQ += m * q
                fx += m * q * q * dx; fy += m * q * q * dy
            } else {
                for q in 0..<4 { stack.append(first + Int32(q)) }
            }
        }
        return (fx, fy, sumQ)
    }
}
