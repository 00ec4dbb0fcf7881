import Dedup
import Foundation
import Sampling
import Store
import XCTest

/// The store-level filter: visiting order, stored verdicts, resume, and agreement with the naive loop.
final class StoreNoveltyTests: XCTestCase {
    var dir: String!
    var store: Store!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-dedup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try Store.create(at: "\(dir!)/herd.db")
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Adds one source of instructions to `subset`; returns their ids.
    @discardableResult
    func add(_ texts: [String], subset: String, tag: String) throws -> [Int64] {
        let w = try SourceWriter(store: store, uri: tag, sha256: String(repeating: "0", count: 64 - tag.count) + tag,
                                 bytes: 0, format: "test")
        var ids: [Int64] = []
        for (i, t) in texts.enumerated() {
            ids.append(try w.add(NewInstruction(subset: subset, member: nil, line: Int64(i + 1), record: Int64(i + 1), byteOffset: 0,
                                                task: nil, instruction: t, input: "", output: nil, meta: nil, normHash: Int64(i)),
                                 duplicateOf: nil))
        }
        _ = try w.commit(filtered: 0, format: "test")
        return ids
    }

    /// Near-copies of real Self-Instruct seed instructions, deterministic.
    func corpus(_ n: Int, seed: UInt64) throws -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/self-instruct/seed_tasks.jsonl").path
        let base = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["instruction"] as! String
        }
        var rng = SplitMix64(seed: seed)
        func next() -> Int { Int(rng.next() >> 1) }
        return (0..<n).map { _ in
            var words = base[next() % base.count].split(separator: " ").map(String.init)
            for _ in 0..<(next() % 4) where words.count > 2 {
                switch next() % 3 {
                case 0: words.remove(at: next() % words.count)
                case 1: let i = next() % (words.count - 1); words.swapAt(i, i + 1)
                default: words.insert(["the", "a", "new", "list"][next() % 4], at: next() % words.count)
                }
            }
            return words.joined(separator: " ")
        }
    }

    /// The reference: the naive loop over every kept instruction in visiting order.
    func naive(_ items: [(id: Int64, pool: String, text: String)], threshold: Double = 0.7)
        -> [Int64: (kept: Bool, best: Int64?, score: Double)] {
        let tokenizer = RougeTokenizer()
        var kept: [String: [(Int64, [String])]] = [:]
        var out: [Int64: (Bool, Int64?, Double)] = [:]
        for item in items {
            let tokens = tokenizer.tokens(item.text)
            var best: Int64? = nil
            var bestScore = 0.0
            for (id, other) in kept[item.pool] ?? [] {
                let f = RougeL.score(target: other, prediction: tokens).fmeasure
                if f > bestScore { bestScore = f; best = id }
            }
            let keep = !(bestScore > threshold)
            out[item.id] = (keep, best, bestScore)
            if keep { kept[item.pool, default: []].append((item.id, tokens)) }
        }
        return out
    }

    func assertMatchesNaive(_ items: [(id: Int64, pool: String, text: String)], floor: Double,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = naive(items)
        for item in items {
            let v = try XCTUnwrap(try store.noveltyVerdict(instructionID: item.id), file: file, line: line)
            let r = reference[item.id]!
            XCTAssertEqual(v.kept, r.kept, "instruction \(item.id): \(item.text)", file: file, line: line)
            if !r.kept || r.score >= floor {
                XCTAssertEqual(v.bestID, r.best, "instruction \(item.id)", file: file, line: line)
                XCTAssertEqual(v.score, r.score, "instruction \(item.id)", file: file, line: line)
            } else {
                XCTAssertNil(v.bestID, file: file, line: line)
            }
        }
    }

    func testSeedsFirstThenCorpusOrderMatchesTheNaiveLoop() throws {
        let corpusTexts = try corpus(600, seed: 1)
        let corpusIDs = try add(corpusTexts, subset: "generated", tag: "a")
        let seedTexts = try corpus(150, seed: 2)
        let seedIDs = try add(seedTexts, subset: "self_instruct_seed", tag: "b") // ingested later, visited first
        var options = NoveltyRunOptions()
        options.batchSize = 97
        let report = try StoreNoveltyFilter.run(store: store, options: options)
        XCTAssertEqual(report.instructions, 750)
        XCTAssertEqual(report.judged, 750)
        let items = zip(seedIDs, seedTexts).map { ($0, "all", $1) } + zip(corpusIDs, corpusTexts).map { ($0, "all", $1) }
        try assertMatchesNaive(items, floor: options.reportFloor)
        let counts = Dictionary(uniqueKeysWithValues: report.counts.map { ($0.subset, $0.kept + $0.dropped) })
        XCTAssertEqual(counts, ["generated": 600, "self_instruct_seed": 150])
        let reference = naive(items)
        XCTAssertEqual(report.histogram.reduce(0, +), Int64(items.filter { reference[$0.0]!.score >= options.reportFloor }.count))

        // Idempotent: nothing new, nothing judged.
        let again = try StoreNoveltyFilter.run(store: store, options: options)
        XCTAssertEqual(again.judged, 0)
        XCTAssertEqual(again.resumed, 750)
        XCTAssertFalse(again.restarted)
    }

    func testResumesWithNewInstructionsAndRestartsWhenTheOrderChanges() throws {
        let first = try corpus(300, seed: 3)
        let firstIDs = try add(first, subset: "generated", tag: "a")
        var options = NoveltyRunOptions()
        options.batchSize = 50
        _ = try StoreNoveltyFilter.run(store: store, options: options)
        let second = try corpus(200, seed: 4)
        let secondIDs = try add(second, subset: "generated", tag: "b")
        let resumed = try StoreNoveltyFilter.run(store: store, options: options)
        XCTAssertEqual(resumed.resumed, 300)
        XCTAssertEqual(resumed.judged, 200)
        XCTAssertFalse(resumed.restarted)
        let items = zip(firstIDs + secondIDs, first + second).map { ($0, "all", $1) }
        try assertMatchesNaive(items, floor: options.reportFloor)

        // Seed tasks arriving now come first in the visiting order: everything is judged again.
        let seeds = try corpus(40, seed: 5)
        let seedIDs = try add(seeds, subset: "self_instruct_seed", tag: "c")
        let restarted = try StoreNoveltyFilter.run(store: store, options: options)
        XCTAssertTrue(restarted.restarted)
        XCTAssertEqual(restarted.judged, 540)
        try assertMatchesNaive(zip(seedIDs, seeds).map { ($0, "all", $1) } + items, floor: options.reportFloor)
    }

    func testOtherSettingsStartOverAndScopePerSubset() throws {
        let a = try corpus(200, seed: 6), b = try corpus(200, seed: 6) // the same texts in two subsets
        let aIDs = try add(a, subset: "alpaca", tag: "a"), bIDs = try add(b, subset: "generated_p3", tag: "b")
        var options = NoveltyRunOptions()
        _ = try StoreNoveltyFilter.run(store: store, options: options)
        // One pool: every instruction of the second subset has an identical kept twin or a near one.
        XCTAssertEqual(try bIDs.filter { try store.noveltyVerdict(instructionID: $0)!.kept }.count, 0)
        options.perSubset = true
        let perSubset = try StoreNoveltyFilter.run(store: store, options: options)
        XCTAssertTrue(perSubset.restarted)
        XCTAssertEqual(perSubset.judged, 400)
        try assertMatchesNaive(zip(aIDs, a).map { ($0, "alpaca", $1) } + zip(bIDs, b).map { ($0, "generated_p3", $1) },
                               floor: options.reportFloor)
        let counts = perSubset.counts
        XCTAssertEqual(counts.count, 2)
        XCTAssertEqual(counts[0].kept, counts[1].kept)
    }

    func testFileModeWritesOneVerdictPerLine() throws {
        let texts = ["Write a poem about the sea.", "Write a poem about the sea!", "Name three primary colors.",
                     "", "Write a short poem about the sea.", "name three primary colours"]
        let input = "\(dir!)/in.txt"
        try (texts.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let summary = try FileNoveltyFilter.run(input: input, output: "\(dir!)/out.jsonl", field: nil, options: NoveltyRunOptions())
        XCTAssertEqual(summary.lines, 6)
        XCTAssertEqual(summary.kept, 3)
        // Line 5: LCS 6 of 6 and 7 tokens → F1 = 2·(6/7)·1/(6/7 + 1); line 6: 3 of 4 and 4 → 0.75.
        XCTAssertEqual(try String(contentsOfFile: "\(dir!)/out.jsonl", encoding: .utf8), """
            {"line":1,"kept":true,"best_line":null,"score":0.0}
            {"line":2,"kept":false,"best_line":1,"score":1.0}
            {"line":3,"kept":true,"best_line":null,"score":0.0}
            {"line":4,"kept":true,"best_line":null,"score":0.0}
            {"line":5,"kept":false,"best_line":1,"score":\(RougeL.fmeasure(lcsLength: 6, targetCount: 6, predictionCount: 7))}
            {"line":6,"kept":false,"best_line":3,"score":0.75}

            """)
        let jsonl = "\(dir!)/in.jsonl"
        try "{\"text\":\"Name a color.\"}\n{\"text\":\"Name a colour.\"}\n{\"other\":1}\n".write(toFile: jsonl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FileNoveltyFilter.run(input: jsonl, output: "\(dir!)/o2.jsonl", field: "text", options: NoveltyRunOptions())) {
            XCTAssertEqual("\($0)", "\(jsonl):3: expected a string field \"text\"")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir!)/o2.jsonl"))
    }
}
