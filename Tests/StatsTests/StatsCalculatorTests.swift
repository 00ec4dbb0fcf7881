import Foundation
import Sampling
@testable import Stats
import Store
import XCTest

final class StatsCalculatorTests: XCTestCase {
    struct Row {
        var subset: String
        var instruction: String
        var input = ""
        var output: String?
        var duplicateOf: Int64? = nil
    }

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herd-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A new store holding `rows` (ids 1, 2, … in order) from one source.
    func makeStore(_ rows: [Row], name: String = "herd.db") throws -> Store {
        let store = try Store.create(at: directory.appendingPathComponent(name).path)
        let w = try SourceWriter(store: store, uri: "test.jsonl", sha256: String(repeating: "0", count: 64), bytes: 0,
                                 format: "x")
        for (i, r) in rows.enumerated() {
            try w.add(NewInstruction(subset: r.subset, member: nil, line: nil, record: Int64(i + 1), byteOffset: 0,
                                     task: nil, instruction: r.instruction, input: r.input, output: r.output, meta: nil,
                                     normHash: Int64(i)), duplicateOf: r.duplicateOf)
        }
        _ = try w.commit(filtered: 0, format: "x")
        return store
    }

    /// Duplicates within a subset (3 → 1) and across subsets (5, 7 → 1), a seed subset, a row
    /// with an empty response, rows without one, Unicode whitespace, and an empty subset.
    func smallStore() throws -> Store {
        let store = try makeStore([
            Row(subset: "alpha", instruction: "Give three tips.", output: "Eat well. Sleep well."),         // 1
            Row(subset: "beta", instruction: "Translate to French", input: "Good morning", output: "Bonjour"), // 2
            Row(subset: "alpha", instruction: "Give three tips.", output: "Exercise daily", duplicateOf: 1),  // 3
            Row(subset: "zeta_seed", instruction: "Name a color", output: nil),                            // 4
            Row(subset: "beta", instruction: "Give three tips.", output: nil, duplicateOf: 1),               // 5
            Row(subset: "alpha", instruction: "  Spaces\u{A0}and\ttabs  ", input: "x\u{1C}y", output: ""),   // 6
            Row(subset: "zeta_seed", instruction: "Give three tips.", output: "Rest", duplicateOf: 1),       // 7
        ])
        try store.db.execute("INSERT INTO subsets (name, role) VALUES ('delta', 'corpus')")
        return store
    }

    func testCountsWordsAndAveragesOnASmallStore() throws {
        let stats = try StatsCalculator.compute(store: try smallStore())
        XCTAssertEqual(stats.subsets.map(\.name), ["alpha", "beta", "delta", "zeta_seed"])
        XCTAssertEqual(stats.subsets.map(\.role), ["corpus", "corpus", "corpus", "seed"])
        // alpha: instruction tokens give three tips | give three tips | spaces and tabs x y (11, 8 types);
        // "x\u{1C}y" is one word (U+001C is not White_Space) but two tokens.
        XCTAssertEqual(stats.subsets[0].stats, SubsetStats(
            count: 3, uniqueInstructions: 2, withResponse: 3, instructionWords: 10, responseWords: 6,
            avgInstructionWords: 10.0 / 3.0, avgResponseWords: 2, mattrInstruction: 8.0 / 11.0 * 100,
            mattrResponse: 5.0 / 6.0 * 100))
        XCTAssertEqual(stats.subsets[1].stats, SubsetStats(
            count: 2, uniqueInstructions: 2, withResponse: 1, instructionWords: 8, responseWords: 1,
            avgInstructionWords: 4, avgResponseWords: 1, mattrInstruction: 100, mattrResponse: 100))
        XCTAssertEqual(stats.subsets[2].stats, SubsetStats())
        XCTAssertEqual(stats.subsets[3].stats, SubsetStats(
            count: 2, uniqueInstructions: 2, withResponse: 1, instructionWords: 6, responseWords: 1,
            avgInstructionWords: 3, avgResponseWords: 1, mattrInstruction: 100, mattrResponse: 100))
        // Total over alpha, beta, delta in id order (rows 1, 2, 3, 5, 6): canonical ids {1, 2, 6}.
        XCTAssertEqual(stats.total, SubsetStats(
            count: 5, uniqueInstructions: 3, withResponse: 4, instructionWords: 18, responseWords: 7,
            avgInstructionWords: 3.6, avgResponseWords: 1.75, mattrInstruction: 13.0 / 19.0 * 100,
            mattrResponse: 6.0 / 7.0 * 100))
    }

    func testEmptyStore() throws {
        let stats = try StatsCalculator.compute(store: try makeStore([]))
        XCTAssertTrue(stats.subsets.isEmpty)
        XCTAssertEqual(stats.total, SubsetStats())
        XCTAssertEqual(stats.json(), """
            {
              "subsets": {},
              "total": {
                "count": 0,
                "unique_instructions": 0,
                "with_response": 0,
                "instruction_words": 0,
                "response_words": 0,
                "avg_instruction_words": 0.0,
                "avg_response_words": 0.0,
                "mattr_instruction": 0.0,
                "mattr_response": 0.0
              }
            }

            """)
    }

    static let smallJSON = """
        {
          "subsets": {
            "alpha": {
              "role": "corpus",
              "count": 3,
              "unique_instructions": 2,
              "with_response": 3,
              "instruction_words": 10,
              "response_words": 6,
              "avg_instruction_words": 3.3333,
              "avg_response_words": 2.0,
              "mattr_instruction": 72.7273,
              "mattr_response": 83.3333
            },
            "beta": {
              "role": "corpus",
              "count": 2,
              "unique_instructions": 2,
              "with_response": 1,
              "instruction_words": 8,
              "response_words": 1,
              "avg_instruction_words": 4.0,
              "avg_response_words": 1.0,
              "mattr_instruction": 100.0,
              "mattr_response": 100.0
            },
            "delta": {
              "role": "corpus",
              "count": 0,
              "unique_instructions": 0,
              "with_response": 0,
              "instruction_words": 0,
              "response_words": 0,
              "avg_instruction_words": 0.0,
              "avg_response_words": 0.0,
              "mattr_instruction": 0.0,
              "mattr_response": 0.0
            },
            "zeta_seed": {
              "role": "seed",
              "count": 2,
              "unique_instructions": 2,
              "with_response": 1,
              "instruction_words": 6,
              "response_words": 1,
              "avg_instruction_words": 3.0,
              "avg_response_words": 1.0,
              "mattr_instruction": 100.0,
              "mattr_response": 100.0
            }
          },
          "total": {
            "count": 5,
            "unique_instructions": 3,
            "with_response": 4,
            "instruction_words": 18,
            "response_words": 7,
            "avg_instruction_words": 3.6,
            "avg_response_words": 1.75,
            "mattr_instruction": 68.4211,
            "mattr_response": 85.7143
          }
        }

        """

    func testJSONOfASmallStore() throws {
        let stats = try StatsCalculator.compute(store: try smallStore())
        XCTAssertEqual(stats.json(), Self.smallJSON)
        let parsed = try JSONSerialization.jsonObject(with: Data(stats.json().utf8)) as? [String: Any]
        XCTAssertNotNil(parsed)
    }

    func testJSONNumbersAndStrings() {
        XCTAssertEqual(CorpusStats.jsonDouble(0), "0.0")
        XCTAssertEqual(CorpusStats.jsonDouble(12.5), "12.5")
        XCTAssertEqual(CorpusStats.jsonDouble(1e-7), "0.0")
        XCTAssertEqual(CorpusStats.jsonDouble(0.00005), "0.0001")
        XCTAssertEqual(CorpusStats.jsonDouble(123456789.987654), "123456789.9877")
        XCTAssertEqual(CorpusStats.jsonDouble(99.99999), "100.0")
        XCTAssertEqual(CorpusStats.jsonString("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"")
    }

    func testTables() throws {
        let stats = try StatsCalculator.compute(store: try smallStore())
        XCTAssertEqual(stats.table(), """
            Subset            Count  Unique  Instr words  Avg instr  Resp words  Avg resp  MATTR instr  MATTR resp
            ----------------  -----  ------  -----------  ---------  ----------  --------  -----------  ----------
            alpha                 3       2           10       3.33           6      2.00        72.73       83.33
            beta                  2       2            8       4.00           1      1.00       100.00      100.00
            delta                 0       0            0       0.00           0      0.00         0.00        0.00
            zeta_seed (seed)      2       2            6       3.00           1      1.00       100.00      100.00
            ----------------  -----  ------  -----------  ---------  ----------  --------  -----------  ----------
            Total                 5       3           18       3.60           7      1.75        68.42       85.71

            """)
        XCTAssertEqual(stats.markdownTable(), """
            | Subset           | Count | Unique | Instr words | Avg instr | Resp words | Avg resp | MATTR instr | MATTR resp |
            | :--------------- | ----: | -----: | ----------: | --------: | ---------: | -------: | ----------: | ---------: |
            | alpha            |     3 |      2 |          10 |      3.33 |          6 |     2.00 |       72.73 |      83.33 |
            | beta             |     2 |      2 |           8 |      4.00 |          1 |     1.00 |      100.00 |     100.00 |
            | delta            |     0 |      0 |           0 |      0.00 |          0 |     0.00 |        0.00 |       0.00 |
            | zeta_seed (seed) |     2 |      2 |           6 |      3.00 |          1 |     1.00 |      100.00 |     100.00 |
            | **Total**        |     5 |      3 |          18 |      3.60 |          7 |     1.75 |       68.42 |      85.71 |

            """)
        XCTAssertEqual(CorpusStats.grouped(2_585_615), "2,585,615")
        XCTAssertEqual(CorpusStats.grouped(999), "999")
        XCTAssertEqual(CorpusStats.grouped(1000), "1,000")
    }

    func testEqualityComparesSubsetsByHand() {
        let a = CorpusStats(subsets: [("x", "corpus", SubsetStats(count: 1))], total: SubsetStats(count: 1))
        var b = a
        XCTAssertEqual(a, b)
        b.subsets[0].role = "seed"
        XCTAssertNotEqual(a, b)
        b = a
        b.subsets[0].stats.count = 2
        XCTAssertNotEqual(a, b)
        b = a
        b.subsets.append(("y", "corpus", SubsetStats()))
        XCTAssertNotEqual(a, b)
    }

    // MARK: Windows across rows, subsets and chunks

    /// The statistics computed directly: texts concatenated per subset, and over the corpus
    /// subsets in id order.
    func directStats(_ rows: [Row]) -> CorpusStats {
        func expected(_ selected: [(Row, Int64)]) -> SubsetStats {
            let instrTexts = selected.flatMap { $0.0.input.isEmpty ? [$0.0.instruction] : [$0.0.instruction, $0.0.input] }
            let outputs = selected.compactMap(\.0.output)
            let iw = instrTexts.map(StatsCalculator.wordCount).reduce(0, +)
            let rw = outputs.map(StatsCalculator.wordCount).reduce(0, +)
            let withResponse = Int64(outputs.count)
            let unique = Set(selected.map { $0.0.duplicateOf ?? $0.1 }).count
            return SubsetStats(count: Int64(selected.count), uniqueInstructions: Int64(unique), withResponse: withResponse,
                               instructionWords: iw, responseWords: rw,
                               avgInstructionWords: selected.isEmpty ? 0 : Double(iw) / Double(selected.count),
                               avgResponseWords: withResponse == 0 ? 0 : Double(rw) / Double(withResponse),
                               mattrInstruction: MATTR.measure(instrTexts).mattr * 100,
                               mattrResponse: MATTR.measure(outputs).mattr * 100)
        }
        let numbered = Array(zip(rows, (1...max(1, rows.count)).map(Int64.init)))
        let names = Set(rows.map(\.subset)).sorted()
        let subsets = names.map { name in
            (name: name, role: SubsetInfo.role(forName: name), stats: expected(numbered.filter { $0.0.subset == name }))
        }
        return CorpusStats(subsets: subsets, total: expected(numbered.filter { SubsetInfo.role(forName: $0.0.subset) == "corpus" }))
    }

    /// `compute` equals the direct computation whatever the threads and chunk widths.
    func assertMatchesDirectComputation(_ rows: [Row], file: StaticString = #filePath, line: UInt = #line) throws -> CorpusStats {
        let store = try makeStore(rows, name: "direct-\(UUID().uuidString).db")
        let expected = directStats(rows)
        XCTAssertEqual(try StatsCalculator.compute(store: store), expected, file: file, line: line)
        for threads in [1, 2, 3] {
            for width: Int64? in [1, 2, 7, 50, Int64(rows.count - 1), Int64(rows.count), 10_000, nil] {
                let got = try StatsCalculator.compute(store: store, threads: threads, idsPerChunk: width)
                XCTAssertEqual(got, expected, "threads \(threads), ids per chunk \(String(describing: width))",
                               file: file, line: line)
            }
        }
        return expected
    }

    static let vocabulary = (0..<90).map { MATTRTests.word($0) } + ["Café", "ΟΔΟΣ", "don't", "x-ray", "3D", "İ", "naïve,"]

    static func text(_ rng: inout SplitMix64, _ maxWords: UInt64) -> String {
        (0..<Int(rng.next() % (maxWords + 1))).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
            .joined(separator: rng.next() % 5 == 0 ? "\n" : " ")
    }

    /// Interleaved subsets with long texts, duplicates and a seed subset.
    func testInterleavedSubsetsMatchDirectComputationForAnyChunking() throws {
        var rng = SplitMix64(seed: 42)
        let names = ["a", "b", "b", "c_seed", "d"]
        var rows: [Row] = []
        for i in 0..<400 {
            let subset = i >= 150 && i < 200 ? "a" : names[Int(rng.next() % UInt64(names.count))]
            let dup: Int64? = i > 10 && rng.next() % 4 == 0 ? Int64(1 + rng.next() % UInt64(i - 1)) : nil
            rows.append(Row(subset: subset, instruction: Self.text(&rng, 25),
                            input: rng.next() % 3 == 0 ? Self.text(&rng, 12) : "",
                            output: rng.next() % 6 == 0 ? nil : Self.text(&rng, 60), duplicateOf: dup))
        }
        let expected = try assertMatchesDirectComputation(rows)
        XCTAssertGreaterThan(expected.total.mattrInstruction, 0)

        // The total is over id order, which here differs from subset order.
        let bySubset = ["a", "b", "d"].flatMap { n in rows.filter { $0.subset == n } }
        let subsetOrder = bySubset.flatMap { $0.input.isEmpty ? [$0.instruction] : [$0.instruction, $0.input] }
        XCTAssertNotEqual(MATTR.measure(subsetOrder).mattr * 100, expected.total.mattrInstruction)
    }

    /// Long runs of one subset (where the total follows the subset's window and catches up at
    /// the run's end), seed rows inside runs, short runs, rows without text.
    func testLongRunsMatchDirectComputationForAnyChunking() throws {
        var rng = SplitMix64(seed: 9)
        var rows: [Row] = []
        for (subset, count) in [("x", 60), ("y", 3), ("x", 1), ("z", 45), ("y", 80), ("x", 2), ("z", 1), ("y", 30)] {
            for _ in 0..<count {
                let seed = rng.next() % 7 == 0
                rows.append(Row(subset: seed ? "w_seed" : subset, instruction: Self.text(&rng, 14),
                                input: rng.next() % 4 == 0 ? Self.text(&rng, 8) : "",
                                output: rng.next() % 9 == 0 ? nil : Self.text(&rng, 30),
                                duplicateOf: rng.next() % 10 == 0 && !rows.isEmpty ? Int64(1 + rng.next() % UInt64(rows.count)) : nil))
            }
        }
        rows.append(Row(subset: "x", instruction: "", output: ""))
        _ = try assertMatchesDirectComputation(rows)
    }

    func testSubsetMissingFromSubsetsTableIsAnError() throws {
        let store = try makeStore([Row(subset: "alpha", instruction: "hi", output: "there")])
        try store.db.execute("UPDATE instructions SET subset = 'ghost'")
        XCTAssertThrowsError(try StatsCalculator.compute(store: store)) { error in
            XCTAssertTrue("\(error)".contains("ghost"), "\(error)")
        }
    }

    // MARK: Schema

    func testSchemaIsValidJSONAndAcceptsTheOutput() throws {
        let schemaURL = MATTRTests.here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schemas/stats.schema.json")
        let schemaData = try Data(contentsOf: schemaURL)
        let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: schemaData) as? [String: Any])
        XCTAssertEqual(schema["$schema"] as? String, "https://json-schema.org/draft/2020-12/schema")

        guard MATTRTests.python(["-c", "import jsonschema"]) != nil else {
            throw XCTSkip("python3 with jsonschema is not available to validate against the schema")
        }
        let instance = directory.appendingPathComponent("stats.json")
        try Data(Self.smallJSON.utf8).write(to: instance)
        let bad = directory.appendingPathComponent("bad.json")
        try Data(Self.smallJSON.replacingOccurrences(of: "\"role\": \"seed\"", with: "\"role\": \"other\"").utf8).write(to: bad)
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            v.validate(json.load(open(sys.argv[2])))
            assert not v.is_valid(json.load(open(sys.argv[3])))
            """
        XCTAssertNotNil(MATTRTests.python(["-c", script, schemaURL.path, instance.path, bad.path]),
                        "schemas/stats.schema.json does not accept json() output")
    }
}
