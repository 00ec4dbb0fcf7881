import Foundation

/// Reports to render: every section filled (deterministically, from a seed) or none.
enum ReportFixtures {
    /// Names that would break out of the page if any reached it as markup.
    static let scriptBreakout = "</script><img src=x onerror=alert(1)>"
    static let markingPayload = "<img src=x onerror=\"document.body.dataset.injected='yes'\">"
    static let subsets = ["alpaca", scriptBreakout, "naïve \"quoted\" & 'single'", "emoji 🦙 日本語"]

    /// Every section filled, with `points` projection points spread over four clusters.
    static func full(points: Int, seed: UInt64 = 42) -> [String: Any] {
        var random = SplitMix64(seed: seed)
        let centres: [(Double, Double)] = [(-30, -20), (25, -25), (-20, 30), (30, 25)]
        var x = [Double](), y = [Double](), subsetIndex = [Int]()
        x.reserveCapacity(points); y.reserveCapacity(points); subsetIndex.reserveCapacity(points)
        for _ in 0..<points {
            let subset = Int(random.next() % 4)
            let (dx, dy) = random.gaussianPair()
            // Three decimals, as a report writer would keep: smaller JSON, same picture.
            x.append(((centres[subset].0 + dx * 9) * 1000).rounded() / 1000)
            y.append(((centres[subset].1 + dy * 9) * 1000).rounded() / 1000)
            subsetIndex.append(subset)
        }
        let edges = Array(stride(from: 0, through: 100, by: 10))
        func lengthHistogram() -> [String: Any] {
            ["edges": edges,
             "subsets": Dictionary(uniqueKeysWithValues: subsets.map { name in (name, (0..<10).map { _ in Int(random.next() % 5000) }) })]
        }
        func subsetRow(_ name: String, _ count: Int) -> [String: Any] {
            ["subset": name, "count": count, "unique": count - 3, "instruction_words": count * 17,
             "instruction_words_avg": 17.6, "response_words": count * 44, "response_words_avg": 44.3,
             "mattr_instruction": 86.2, "mattr_response": 88.1]
        }
        func grades() -> [String: Int] {
            ["A": Int(random.next() % 500), "B": Int(random.next() % 300), "C": Int(random.next() % 200), "D": Int(random.next() % 100)]
        }
        let table1: [String: Any] = [
            "subsets": subsets.enumerated().map { subsetRow($1, 52_002 * ($0 + 1)) },
            "total": subsetRow("total", 52_002 * 10),
        ]
        let ledger: [[String: Any]] = [
            ["stage": "instructions", "model": "gpt-3.5-turbo", "requests": 1000, "answered": 990, "failed": 10,
             "prompt_tokens": 123_456, "completion_tokens": 654_321, "cost_usd": 1.23],
            ["stage": "responses", "model": scriptBreakout, "requests": 2_000_000, "answered": 1_999_000, "failed": 1000,
             "prompt_tokens": 98_765_432, "completion_tokens": 123_456_789, "cost_usd": 1234.5],
        ]
        let projection: [String: Any] = [
            "model": "all-MiniLM-L6-v2", "field": "instruction", "points": points, "kl_divergence": 3.21,
            "subsets": subsets, "subset_index": subsetIndex, "x": x, "y": y,
        ]
        let dedup: [String: Any] = [
            "threshold": 0.7, "kept": 1000, "dropped": 200, "report_floor": 0.5,
            "histogram": [400, 250, 150, 90, 60, 40, 10, 80, 70, 50],
            "subsets": subsets.map { ["subset": $0, "kept": 250, "dropped": 50] },
        ]
        let topics: [String: Any] = [
            "total": 3000, "used": 2500,
            "most_used": [["topic": markingPayload, "uses": 12], ["topic": "https://example.com/topic", "uses": 9],
                          ["topic": "Café & crème", "uses": 7]],
            "least_used": [["topic": scriptBreakout, "uses": 0], ["topic": "🦙 llamas", "uses": 1]],
        ]
        let ratings: [[String: Any]] = subsets.map { name in
            ["subset": name, "human": grades(), "judge": grades(), "both": 300,
             "agreement": name == "alpaca" ? NSNull() : 0.81]
        }
        let runs: [[String: Any]] = ["LaMini-T5-61M", scriptBreakout].enumerated().map { run, name in
            let curve: [[String: Any]] = (1...40).map { step in
                let loss = 3.0 / (1 + Double(step) * 0.1) + Double(run) * 0.2
                let validation: Any = step % 5 == 0 ? 3.2 / (1 + Double(step) * 0.09) + Double(run) * 0.2 : NSNull()
                return ["step": step * 10, "loss": loss, "val_loss": validation]
            }
            return ["run": name, "points": curve]
        }
        return [
            "title": "LaMini audit & \"friends\" 🦙", "store": "/data/herd.db", "generated_by": "herd 0.9",
            "table1": table1, "ledger": ledger, "projection": projection,
            "lengths": ["instruction": lengthHistogram(), "response": lengthHistogram()],
            "dedup": dedup, "topics": topics, "ratings": ["subsets": ratings], "training": ["runs": runs],
        ]
    }

    /// Every section present but empty, as a report written before any work was done.
    static var emptySections: [String: Any] {
        ["title": "", "table1": ["subsets": []], "ledger": [], "projection": ["x": [], "y": [], "subsets": []],
         "lengths": ["instruction": ["edges": [], "subsets": [:]]], "dedup": [:], "topics": [:],
         "ratings": ["subsets": []], "training": ["runs": []]]
    }

    static func json(_ report: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}

/// Steele, Lea and Flood's SplitMix64: small, fast and the same everywhere.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Two independent standard normal values (Box–Muller).
    mutating func gaussianPair() -> (Double, Double) {
        // u in (0, 1] so its logarithm is finite; v in [0, 1).
        let u = (Double(next() >> 11) + 1) / 9_007_199_254_740_992, v = Double(next() >> 11) / 9_007_199_254_740_992
        let radius = (-2 * log(u)).squareRoot()
        return (radius * cos(2 * .pi * v), radius * sin(2 * .pi * v))
    }
}
