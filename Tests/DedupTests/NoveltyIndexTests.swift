import Dedup
import Foundation
import Sampling
import XCTest

/// The greedy novelty filter (`NoveltyIndex`) against the naive quadratic loop: in Swift over the
/// exact scorer on generated near-duplicates, on hand cases, and against the `rouge_score`
/// package itself through naive_rouge_filter.py when python3 can import it.
final class NoveltyIndexTests: XCTestCase {
    private static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    // MARK: Corpus

    /// Real instructions from the repository's fixtures.
    private static let baseTexts: [String] = {
        let fixtures = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures")
        var texts: [String] = []
        if let data = try? Data(contentsOf: fixtures.appendingPathComponent("alpaca/alpaca_data_first200.json")),
           let records = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] {
            for r in records {
                if let s = r["instruction"] as? String { texts.append(s) }
                if let s = r["input"] as? String, !s.isEmpty { texts.append(s) }
            }
        }
        for name in ["self-instruct/seed_tasks.jsonl", "self-instruct/user_oriented_instructions.jsonl"] {
            guard let text = try? String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let s = o["instruction"] as? String { texts.append(s) }
            }
        }
        precondition(texts.count > 500, "fixtures missing: \(fixtures.path)")
        return texts.map { $0.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ") }
    }()

    /// Deterministic texts with many near-duplicates: real instructions, copies with word drops,
    /// swaps, insertions, substitutions and inflections (which stemming undoes), recombined
    /// halves, concatenations of 2 to `longest` texts (often > 64 tokens), texts without tokens,
    /// and bags of few words.
    static func nearDuplicates(count: Int, seed: UInt64, longest: Int = 7) -> [String] {
        var rng = SplitMix64(seed: seed)
        let base = baseTexts
        let vocabulary = base.flatMap { $0.split(separator: " ").map(String.init) }
        let few = ["the", "a", "of", "cat", "dog", "write", "list"]
        var out: [String] = []
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        func perturb(_ text: String, edits: Int) -> String {
            var w = text.split(separator: " ").map(String.init)
            for _ in 0..<edits {
                let k = w.isEmpty ? 0 : Int(rng.next() % UInt64(w.count))
                switch rng.next() % 6 {
                case 0: if !w.isEmpty { w.remove(at: k) }
                case 1: if w.count > 1 { w.swapAt(k, (k + 1) % w.count) }
                case 2: w.insert(pick(vocabulary), at: w.isEmpty ? 0 : k)
                case 3: if !w.isEmpty { w[k] = pick(vocabulary) }
                case 4: if !w.isEmpty { w[k] += pick(["s", "ing", "ed", "ly", "es"]) }
                default: if !w.isEmpty { w[k] = w[k].uppercased() + pick(["", ",", "!", "?"]) }
                }
            }
            return w.joined(separator: " ")
        }
        while out.count < count {
            let r = rng.next() % 100
            let text: String
            switch r {
            case 0..<28: text = pick(base)
            case 28..<70:
                let source = out.isEmpty || rng.next() % 3 == 0 ? pick(base)
                    : out[max(0, out.count - 1 - Int(rng.next() % UInt64(min(out.count, 300))))]
                text = perturb(source, edits: 1 + Int(rng.next() % 4))
            case 70..<82:
                let a = pick(base).split(separator: " "), b = pick(base).split(separator: " ")
                text = (a.prefix(a.count / 2) + b.suffix(b.count - b.count / 2)).joined(separator: " ")
            case 82..<88:
                let parts = (0..<(2 + Int(rng.next() % UInt64(longest - 1)))).map { _ in pick(base) }
                text = perturb(parts.joined(separator: " "), edits: Int(rng.next() % 6))
            case 88..<91: text = pick(["", "?!", "東京 😀", "...", " - "])
            default:
                text = (0..<(3 + Int(rng.next() % 12))).map { _ in pick(few) }.joined(separator: " ")
            }
            out.append(text)
        }
        return out
    }

    // MARK: The naive loop

    /// F1 of every pair (j < i), as `rouge_score` computes `score(target: item j, prediction: item i)`.
    private struct PairScores {
        let count: Int
        var f1: [Double]
        init(_ items: [[Int32]]) {
            count = items.count
            f1 = [Double](repeating: 0, count: count * (count - 1) / 2)
            let lcs = BitParallelLCS()
            for i in 0..<count {
                let x = items[i]
                if x.isEmpty { continue }
                lcs.setPattern(x)
                for j in 0..<i where !items[j].isEmpty {
                    let l = lcs.lengthAgainstPattern(items[j])
                    f1[i * (i - 1) / 2 + j] = RougeL.fmeasure(lcsLength: l, targetCount: items[j].count, predictionCount: x.count)
                }
            }
        }
        subscript(i: Int, j: Int) -> Double { f1[i * (i - 1) / 2 + j] }
    }

    private struct Naive {
        var kept: [Bool] = []
        /// Best kept item before each (highest F1, earliest on ties), nil when none was kept.
        var best: [Int?] = []
        var score: [Double] = []
    }

    private static func naive(_ scores: PairScores, threshold: Double, strictBelow: Bool) -> Naive {
        var result = Naive()
        var keptItems: [Int] = []
        for i in 0..<scores.count {
            var best: Int? = nil, bestScore = 0.0
            for j in keptItems {
                let s = scores[i, j]
                if best == nil || s > bestScore { best = j; bestScore = s }
            }
            let dropped = best != nil && (strictBelow ? bestScore >= threshold : bestScore > threshold)
            if !dropped { keptItems.append(i) }
            result.kept.append(!dropped)
            result.best.append(best)
            result.score.append(bestScore)
        }
        return result
    }

    /// Checks verdicts for items `offset...` against the naive result; `ordinalOf` maps an item
    /// index to the ordinal the index gave it.
    private func check(_ got: [NoveltyVerdict], against want: Naive, offset: Int = 0, floor: Double,
                       ordinalOf: (Int) -> Int = { $0 }, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.kept.count - offset, context, file: file, line: line)
        var failures: [String] = []
        for (k, v) in got.enumerated() {
            let i = offset + k
            var problem: String? = nil
            if v.ordinal != ordinalOf(i) { problem = "ordinal \(v.ordinal)" }
            if v.kept != want.kept[i] { problem = "kept \(v.kept), naive \(want.kept[i])" }
            let exact = !want.kept[i] || want.score[i] >= floor
            if exact {
                if v.bestMatch != want.best[i].map(ordinalOf) || v.score.bitPattern != want.score[i].bitPattern {
                    problem = "best \(String(describing: v.bestMatch)) \(v.score), naive \(String(describing: want.best[i])) \(want.score[i])"
                }
            } else if v.bestMatch != nil || v.score != 0 || v.bestKept != nil {
                problem = "below the floor, yet best \(String(describing: v.bestMatch)) \(v.score) (naive \(want.score[i]))"
            }
            if (v.bestMatch == nil) != (v.bestKept == nil) { problem = "bestMatch and bestKept disagree" }
            if let problem { failures.append("item \(i): \(problem)") }
        }
        if !failures.isEmpty {
            XCTFail("\(context): \(failures.count) differences, first: \(failures.prefix(5).joined(separator: "; "))", file: file, line: line)
        }
    }

    // MARK: Against the naive loop

    func testMatchesNaiveLoopOnNearDuplicates() {
        let texts = Self.nearDuplicates(count: 3000, seed: 42)
        for stem in [false, true] {
            let interner = TokenInterner(stem: stem)
            var corpus = TokenSequences()
            for t in texts { interner.append(t, to: &corpus) }
            let items = corpus.map { Array($0) }
            let scores = PairScores(items)
            let settings: [(Double, Bool, Double)] = [
                (0.7, false, 0.5), (0.7, true, 0.5), (0.5, false, 0.5), (0.9, false, 0.5), (0.9, true, 0.3), (0.7, false, 0.8),
            ]
            for (threshold, strict, floor) in settings {
                let want = Self.naive(scores, threshold: threshold, strictBelow: strict)
                let keptCount = want.kept.filter { $0 }.count
                let level = min(threshold, floor)
                let context = "stem=\(stem) t=\(threshold) strict=\(strict) floor=\(floor)"
                XCTAssertGreaterThan(keptCount, 300, context)
                XCTAssertGreaterThan(want.kept.count - keptCount, 300, context)

                // Batch size 1, one thread, adaptive token order.
                let one = NoveltyIndex(configuration: NoveltyConfiguration(
                    threshold: threshold, strictBelow: strict, reportFloor: floor, workers: 1, batchSize: 1))
                check(items.map { one.offer($0) }, against: want, floor: level, context + " one by one")
                XCTAssertEqual(one.keptCount, keptCount)

                // One large parallel batch, order fixed from the whole corpus.
                let config = NoveltyConfiguration(threshold: threshold, strictBelow: strict, reportFloor: floor,
                                                  workers: 2, batchSize: 4096)
                check(NoveltyIndex.filter(corpus, configuration: config), against: want, floor: level, context + " batch")

                // Incremental: uneven batches, adaptive order (several rebuilds), small parallel batches.
                let incremental = NoveltyIndex(configuration: NoveltyConfiguration(
                    threshold: threshold, strictBelow: strict, reportFloor: floor, workers: 3, batchSize: 97))
                var got: [NoveltyVerdict] = []
                var start = 0, size = 1
                while start < items.count {
                    let end = min(items.count, start + size)
                    got += incremental.offer(corpus, range: start..<end)
                    start = end
                    size = size * 3 % 701 + 1
                }
                check(got, against: want, floor: level, context + " incremental")
                XCTAssertGreaterThan(incremental.statistics.reorders, 2)
            }

            // Resuming: the items kept among the first 1000 are added back, the rest offered.
            let want = Self.naive(scores, threshold: 0.7, strictBelow: false)
            let resumed = NoveltyIndex(threshold: 0.7, threads: 2)
            var ordinal = [Int](repeating: -1, count: items.count)
            for i in 0..<1000 where want.kept[i] { ordinal[i] = resumed.addKept(items[i]) }
            for i in 1000..<items.count { ordinal[i] = resumed.itemCount + (i - 1000) }
            check(resumed.offer(batch: Array(items[1000...])), against: want, offset: 1000, floor: 0.5,
                  ordinalOf: { ordinal[$0] }, "stem=\(stem) resumed")
        }
    }

    /// Bags: few distinct tokens, many repeats, so multiset overlap ≠ set overlap everywhere.
    func testRepeatedTokensMatchNaiveLoop() {
        var rng = SplitMix64(seed: 9)
        var items: [[Int32]] = []
        for _ in 0..<1500 {
            let alphabet = UInt64(2 + rng.next() % 5)
            if !items.isEmpty && rng.next() % 2 == 0 {
                var x = items[Int(rng.next() % UInt64(items.count))]
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let k = x.isEmpty ? 0 : Int(rng.next() % UInt64(x.count))
                    if rng.next() % 2 == 0, !x.isEmpty { x.remove(at: k) } else { x.insert(Int32(rng.next() % alphabet), at: k) }
                }
                items.append(x)
            } else {
                items.append((0..<Int(rng.next() % 26)).map { _ in Int32(rng.next() % alphabet) })
            }
        }
        let scores = PairScores(items)
        for (threshold, strict) in [(0.7, false), (0.7, true), (0.9, false), (0.5, false)] {
            let want = Self.naive(scores, threshold: threshold, strictBelow: strict)
            for (workers, batch) in [(1, 1), (2, 128)] {
                let index = NoveltyIndex(configuration: NoveltyConfiguration(threshold: threshold, strictBelow: strict,
                                                                             workers: workers, batchSize: batch))
                check(index.offer(batch: items), against: want, floor: min(threshold, 0.5),
                      "bags t=\(threshold) strict=\(strict) workers=\(workers)")
            }
        }
    }

    /// Texts longer than one 64-bit word of the bit-parallel LCS, with near-copies.
    func testLongTextsMatchNaiveLoop() {
        var rng = SplitMix64(seed: 1234)
        var items: [[Int32]] = []
        for _ in 0..<300 {
            if !items.isEmpty && rng.next() % 3 != 0 {
                var x = items[Int(rng.next() % UInt64(items.count))]
                for _ in 0..<Int(rng.next() % 40) {
                    let k = Int(rng.next() % UInt64(x.count))
                    switch rng.next() % 3 {
                    case 0: if x.count > 1 { x.remove(at: k) }
                    case 1: x.insert(Int32(rng.next() % 500), at: k)
                    default: x[k] = Int32(rng.next() % 500)
                    }
                }
                items.append(x)
            } else {
                items.append((0..<(60 + Int(rng.next() % 340))).map { _ in Int32(rng.next() % 500) })
            }
        }
        XCTAssertGreaterThan(items.filter { $0.count > 64 }.count, 250)
        let scores = PairScores(items)
        for (threshold, strict) in [(0.7, false), (0.7, true), (0.9, false)] {
            let want = Self.naive(scores, threshold: threshold, strictBelow: strict)
            XCTAssertGreaterThan(want.kept.filter { !$0 }.count, 50)
            for (workers, batch) in [(1, 1), (2, 64)] {
                let index = NoveltyIndex(configuration: NoveltyConfiguration(threshold: threshold, strictBelow: strict,
                                                                             workers: workers, batchSize: batch))
                check(index.offer(batch: items), against: want, floor: min(threshold, 0.5), "long t=\(threshold) workers=\(workers)")
            }
        }
    }

    /// Items longer than 0xFFFF tokens (the postings saturate their length and position fields).
    func testVeryLongItems() {
        let n = 70_000
        let a = (0..<n).map { Int32($0 % 5000) }
        var b = a
        b.removeSubrange(100..<1100)  // LCS = n - 1000
        let index = NoveltyIndex(threshold: 0.7, threads: 1)
        XCTAssertTrue(index.offer(a).kept)
        XCTAssertTrue(index.offer([1, 2, 3]).kept)
        let v = index.offer(b)
        XCTAssertFalse(v.kept)
        XCTAssertEqual(v.bestMatch, 0)
        XCTAssertEqual(v.score, RougeL.fmeasure(lcsLength: n - 1000, targetCount: n, predictionCount: n - 1000))
    }

    // MARK: Hand cases

    /// Pairs whose F1 is exactly 0.7 in real numbers (2·lcs = 0.7·(a + b)): rouge_score's double
    /// comes out above, at or below 0.7 depending on the lengths, and the verdict must follow it.
    /// The counts 48 / 31 / 4 are Python's, for all a, b < 60.
    func testBorderlineScoresDecidedLikeRougeScore() {
        var above = 0, equal = 0, below = 0
        for a in 1..<60 {
            for b in 1..<60 {
                for l in 1...min(a, b) where 20 * l == 7 * (a + b) {
                    let kept = (0..<a).map { Int32($0) }
                    let new = Array(kept.prefix(l)) + (0..<(b - l)).map { Int32(1000 + $0) }
                    let f = RougeL.fmeasure(lcsLength: l, targetCount: a, predictionCount: b)
                    if f > 0.7 { above += 1 } else if f == 0.7 { equal += 1 } else { below += 1 }
                    for strict in [false, true] {
                        for floor in [0.5, 0.7, 1.0] {
                            let index = NoveltyIndex(threshold: 0.7, strictBelow: strict, reportFloor: floor, threads: 1)
                            index.addKept(kept)
                            let v = index.offer(new)
                            XCTAssertEqual(v.kept, strict ? !(f >= 0.7) : !(f > 0.7), "a=\(a) b=\(b) l=\(l) f=\(f)")
                            if f >= min(0.7, floor) {
                                XCTAssertEqual(v.bestMatch, 0)
                                XCTAssertEqual(v.score.bitPattern, f.bitPattern)
                            } else {
                                XCTAssertNil(v.bestMatch)
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual([above, equal, below], [48, 31, 4])
        // lcs 7 of 10 and 10: exactly 0.7, kept by "> 0.7", dropped by Lion's "< 0.7".
        let interner = TokenInterner()
        let kept = interner.ids("a b c d e f g h i j"), new = interner.ids("a b c d e f g x y z")
        XCTAssertEqual(RougeL.fmeasure(lcsLength: 7, targetCount: 10, predictionCount: 10), 0.7)
        for (strict, keeps) in [(false, true), (true, false)] {
            let index = NoveltyIndex(threshold: 0.7, strictBelow: strict)
            let verdicts = index.offer(batch: [kept, new])
            XCTAssertEqual(verdicts.map(\.kept), [true, keeps])
            XCTAssertEqual(verdicts[1].bestMatch, 0)
            XCTAssertEqual(verdicts[1].score, 0.7)
        }
        // 7 of 9 and 11: 0.7000000000000001 in rouge_score, so dropped by "> 0.7" too.
        let nine = interner.ids("a b c d e f g h i"), eleven = interner.ids("a b c d e f g x y z k")
        let v = NoveltyIndex(threshold: 0.7).offer(batch: [nine, eleven])
        XCTAssertEqual(v[1].score, 0.7000000000000001)
        XCTAssertFalse(v[1].kept)
    }

    /// Texts without tokens score 0 with everything: always kept, never anyone's best match.
    func testItemsWithoutTokens() {
        let interner = TokenInterner()
        let texts = ["", "?!", "Give three tips for staying healthy.", "", "give three tips for staying healthy",
                     "東京 😀", "Give three tips for staying healthy!!"]
        let items = texts.map { interner.ids($0) }
        XCTAssertEqual(items.map(\.count), [0, 0, 6, 0, 6, 0, 6])
        for strict in [false, true] {
            for (workers, batch) in [(1, 1), (2, 4096)] {
                let index = NoveltyIndex(configuration: NoveltyConfiguration(strictBelow: strict, workers: workers, batchSize: batch))
                var verdicts = index.offer(batch: Array(items[0..<2]))
                verdicts += index.offer(batch: Array(items[2...]))
                XCTAssertEqual(verdicts.map(\.kept), [true, true, true, true, false, true, false])
                XCTAssertEqual(verdicts.map(\.bestMatch), [nil, nil, nil, nil, 2, nil, 2])
                XCTAssertEqual(verdicts.map(\.bestKept), [nil, nil, nil, nil, 2, nil, 2])
                XCTAssertEqual(verdicts.map(\.score), [0, 0, 0, 0, 1, 0, 1])
                XCTAssertEqual(index.keptCount, 5)
            }
        }
        let index = NoveltyIndex()
        index.addKept([])
        XCTAssertEqual(index.offer([]), NoveltyVerdict(ordinal: 1, kept: true, bestMatch: nil, bestKept: nil, score: 0))
    }

    /// Ordinals count added and offered items; bestKept counts kept items only.
    func testOrdinalsAndKeptNumbers() {
        let interner = TokenInterner()
        let index = NoveltyIndex()
        XCTAssertEqual(index.addKept(interner.ids("write a poem about the sea")), 0)
        let v1 = index.offer(interner.ids("write a poem about the sea"))
        XCTAssertEqual(v1, NoveltyVerdict(ordinal: 1, kept: false, bestMatch: 0, bestKept: 0, score: 1))
        let v2 = index.offer(interner.ids("list five fruits that are red"))
        XCTAssertTrue(v2.kept)
        let v3 = index.offer(interner.ids("list five fruits that are yellow"))
        XCTAssertEqual(v3.bestMatch, 2)
        XCTAssertEqual(v3.bestKept, 1)
        XCTAssertFalse(v3.kept)  // lcs 5 of 6 and 6: 0.833
        XCTAssertEqual(index.keptCount, 2)
        XCTAssertEqual(index.itemCount, 4)
        XCTAssertEqual(index.keptTokens(ordinal: 2), interner.ids("list five fruits that are red"))
        XCTAssertNil(index.keptTokens(ordinal: 1))
    }

    // MARK: Interner

    func testInternerMatchesTokenizer() {
        for stem in [false, true] {
            let interner = TokenInterner(stem: stem)
            let tokenizer = RougeTokenizer(stem: stem)
            var corpus = TokenSequences()
            let texts = Self.baseTexts + Self.nearDuplicates(count: 500, seed: 5)
            for t in texts { interner.append(t, to: &corpus) }
            XCTAssertEqual(corpus.count, texts.count)
            for (i, t) in texts.enumerated() {
                XCTAssertEqual(corpus[i].map { interner.token($0) }, tokenizer.tokens(t))
                XCTAssertEqual(interner.ids(t), Array(corpus[i]))
            }
            // Dense ids, one per distinct token; document frequencies count texts.
            let distinct = Set(texts.flatMap { tokenizer.tokens($0) })
            XCTAssertEqual(interner.vocabularySize, distinct.count)
            XCTAssertEqual(Set(corpus.tokens), Set(0..<Int32(distinct.count)))
            let the = interner.id(of: "the")!
            XCTAssertEqual(Int(interner.documentFrequency[Int(the)]),
                           texts.filter { tokenizer.tokens($0).contains("the") }.count * 2)  // ids() above counted again
        }
        let stemmed = TokenInterner(stem: true)
        XCTAssertEqual(stemmed.ids("running runs run"), stemmed.ids("run run run"))
        XCTAssertEqual(stemmed.token(stemmed.ids("generalizations")[0]), "gener")
        XCTAssertNil(stemmed.id(of: "generalizations"))
    }

    // MARK: The rouge_score package

    /// ~1,500 generated near-duplicate lines through naive_rouge_filter.py (the naive loop over
    /// the installed rouge_score) and through the index: identical verdicts.
    func testAgainstNaiveRougeScoreLoopWhenInstalled() throws {
        guard runPython(["-c", "import rouge_score"]) != nil else {
            throw XCTSkip("python3 with rouge_score is not available (pip install rouge-score==0.1.2)")
        }
        // The naive loop in Python takes ~40 µs a pair: short concatenations keep this under a minute.
        let allTexts = Self.nearDuplicates(count: 1500, seed: 2024, longest: 3)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("herd-novelty-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: input) }
        struct Line: Decodable {
            var line: Int
            var kept: Bool
            var best_line: Int?
            var score: Double
        }
        for (threshold, strict, stem, count) in [(0.7, false, false, 1500), (0.7, true, true, 600)] {
            let texts = Array(allTexts.prefix(count))
            try Data((texts.joined(separator: "\n") + "\n").utf8).write(to: input)
            var args = [Self.here.appendingPathComponent("naive_rouge_filter.py").path, input.path, "--threshold", "\(threshold)"]
            if strict { args.append("--strict-below") }
            if stem { args.append("--stem") }
            let output = String(decoding: try XCTUnwrap(runPython(args), "naive_rouge_filter.py failed"), as: UTF8.self)
            let lines = output.split(separator: "\n")
            XCTAssertEqual(lines.count, texts.count)
            var want = Naive()
            for (n, line) in lines.enumerated() {
                // JSONDecoder reads doubles exactly (JSONSerialization may be off by an ulp).
                let o = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
                XCTAssertEqual(o.line, n + 1)
                want.kept.append(o.kept)
                want.best.append(o.best_line.map { $0 - 1 })
                want.score.append(o.score)
            }
            let interner = TokenInterner(stem: stem)
            var corpus = TokenSequences()
            for t in texts { interner.append(t, to: &corpus) }
            let context = "rouge_score t=\(threshold) strict=\(strict) stem=\(stem)"
            XCTAssertGreaterThan(want.kept.filter { !$0 }.count, count / 10, context)
            let config = NoveltyConfiguration(threshold: threshold, strictBelow: strict, workers: 2, batchSize: 256)
            check(NoveltyIndex.filter(corpus, configuration: config), against: want, floor: 0.5, context)
            let one = NoveltyIndex(configuration: NoveltyConfiguration(threshold: threshold, strictBelow: strict, workers: 1))
            check(one.offer(batch: corpus), against: want, floor: 0.5, context + " one thread")
        }
    }
}

