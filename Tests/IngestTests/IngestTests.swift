import Checksums
import Foundation
@testable import Ingest
import Store
import XCTest

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
func fixture(_ rel: String) -> String { "\(repoRoot)/fixtures/\(rel)" }

final class IngestTests: XCTestCase {
    var dir: String!
    var store: Store!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-ingest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try Store.create(at: dir + "/herd.db")
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    @discardableResult
    func ingest(_ inputs: [String], format: Format = .auto, subset: String? = nil, skipBad: Bool = false) throws -> [SourceReport] {
        var o = IngestOptions(downloadDirectory: dir + "/cache")
        o.format = format; o.subset = subset; o.skipBad = skipBad; o.showProgress = false
        return try Ingester(store: store, options: o).ingest(inputs)
    }

    func write(_ name: String, _ text: String) -> String {
        let path = "\(dir!)/\(name)"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func count(_ sql: String) throws -> Int64 { try store.db.scalarInt(sql) ?? -1 }

    // MARK: formats, each from a fixture in its published layout

    func testAlpacaJSONArray() throws {
        let r = try ingest([fixture("alpaca/alpaca_data_first200.json")])[0]
        XCTAssertEqual(r.format, "alpaca")
        XCTAssertEqual(r.records, 200)
        XCTAssertEqual(r.subsets, ["alpaca": 200])
        XCTAssertEqual(r.sha256, try SHA256.hexOfFile(atPath: fixture("alpaca/alpaca_data_first200.json")))
        // Provenance: record 2 starts on line 7 of the indent=2 file.
        let s = try store.db.prepare("SELECT line, record, byte_offset, instruction, input FROM instructions WHERE id = 2")
        XCTAssertTrue(try s.step())
        XCTAssertEqual(s.int64(0), 7)
        XCTAssertEqual(s.int64(1), 2)
        XCTAssertEqual(s.int64(2), 310)
        XCTAssertEqual(s.text(3), "What are the three primary colors?")
        XCTAssertEqual(try count("SELECT count(*) FROM instructions WHERE input != ''"), 118)
    }

    func testSelfInstructSeedTasksGoToTheSeedPool() throws {
        let r = try ingest([fixture("self-instruct/seed_tasks.jsonl")])[0]
        XCTAssertEqual(r.format, "self-instruct")
        XCTAssertEqual(r.subsets, ["self_instruct_seed": 175])
        XCTAssertEqual(try store.subsets().first { $0.name == "self_instruct_seed" }?.role, "seed")
        XCTAssertEqual(try store.db.scalarText("SELECT task FROM instructions WHERE id = 1"), "breakfast_suggestion")
        XCTAssertEqual(try store.db.scalarText("SELECT meta FROM instructions WHERE id = 1"),
                       #"{"id":"seed_task_0","is_classification":false}"#)
        let u = try ingest([fixture("self-instruct/user_oriented_instructions.jsonl")], subset: "user_oriented")[0]
        XCTAssertEqual(u.records, 252)
        XCTAssertEqual(try store.db.scalarText("SELECT task FROM instructions WHERE subset = 'user_oriented' ORDER BY id LIMIT 1"), "Grammarly")
    }

    func testPromptCompletionNeedsASubsetAndStripsTheMarkers() throws {
        XCTAssertThrowsError(try ingest([fixture("p3-jsonl/t0_train_50k__ag_news_classify.jsonl")])) {
            XCTAssertTrue("\($0)".contains("pass --subset NAME"), "\($0)")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
        let r = try ingest([fixture("p3-jsonl")], format: .promptCompletion, subset: "original_p3")
        XCTAssertEqual(r.count, 8)
        XCTAssertEqual(r.map(\.records).reduce(0, +), 1299)
        XCTAssertEqual(r.map(\.duplicates).reduce(0, +), 169)
        let s = try store.db.prepare("SELECT instruction, output, task FROM instructions ORDER BY id LIMIT 1")
        XCTAssertTrue(try s.step())
        XCTAssertTrue(s.text(0)!.hasSuffix("What label best describes this news article?"))
        XCTAssertEqual(s.text(1), "Business")
        XCTAssertEqual(s.text(2), "ag_news_classify")
    }

    func testP3TFRecordFoldersAsReleased() throws {
        let r = try ingest([fixture("p3/P3")])
        XCTAssertEqual(r.map(\.format), ["p3", "p3", "p3", "p3"])
        XCTAssertEqual(r.map(\.records), [20, 5, 10, 15]) // ag_news, ag_news score_eval (correct choices only), commonsense_qa, sciq
        XCTAssertEqual(r[1].filtered, 15)
        XCTAssertEqual(try count("SELECT count(*) FROM instructions WHERE subset = 'original_p3'"), 50)
        XCTAssertEqual(try store.db.scalarText("SELECT task FROM instructions ORDER BY id LIMIT 1"), "ag_news_classify")
        XCTAssertEqual(try store.db.scalarText("SELECT meta FROM instructions ORDER BY id LIMIT 1"),
                       #"{"answer_choices":["World politics","Sports","Business","Science and technology"],"split":"train"}"#)
        XCTAssertEqual(try store.db.scalarText("SELECT output FROM instructions ORDER BY id LIMIT 1"), "Business")
        // The score_eval copies of the first five ag_news rows are exact duplicates of them.
        XCTAssertEqual(r[1].duplicates, 5)
    }

    func testFlanCotTSVAndFlanJSONLInAZip() throws {
        let r = try ingest([fixture("flan/cot_qasc_train.tsv"), fixture("flan/cot_strategyqa_train.tsv"), fixture("archives/flan-jsonl.zip")])
        XCTAssertEqual(r.map(\.format), ["flan-cot", "flan-cot", "flan"])
        XCTAssertEqual(r.map(\.records), [1084, 2061, 50])
        XCTAssertEqual(r[1].duplicates, 1)
        XCTAssertEqual(r[2].duplicates, 50) // the JSONL rows restate CoT questions already ingested
        let s = try store.db.prepare("SELECT instruction, output, task, meta FROM instructions ORDER BY id LIMIT 1")
        XCTAssertTrue(try s.step())
        XCTAssertTrue(s.text(0)!.contains("offspring?\nOptions:\n- (A) DNA"))
        XCTAssertEqual(s.text(1), "(D)")
        XCTAssertEqual(s.text(2), "cot_qasc")
        XCTAssertTrue(s.text(3)!.hasPrefix(#"{"rationale":"Reproduction is the process"#))
        XCTAssertEqual(try store.db.scalarText("SELECT meta FROM instructions WHERE member = 'flan/flan_collection_cot_sample.jsonl' ORDER BY id LIMIT 1"),
                       #"{"task_source":"CoT","template_type":"zs_opt"}"#)
        XCTAssertEqual(try count("SELECT count(*) FROM instructions WHERE subset = 'original_flan'"), 3195)
    }

    func testLaminiRowsKeepTheirSource() throws {
        let r = try ingest([fixture("lamini/dataset_card_examples.jsonl")])[0]
        XCTAssertEqual(r.subsets, ["generated_flan": 1, "self_instruct_without_topic": 1])
    }

    func testCompressedAndArchivedInputsGiveTheSameRecords() throws {
        for ext in ["gz", "bz2", "xz", "zst"] {
            let r = try ingest([fixture("compressed/alpaca_data_first200.json.\(ext)")])[0]
            XCTAssertEqual(r.records, 200, ext)
        }
        XCTAssertEqual(try count("SELECT count(*) FROM instructions WHERE duplicate_of IS NULL"), 200)
        XCTAssertEqual(try count("SELECT count(*) FROM instructions WHERE duplicate_of IS NOT NULL"), 600)
        let tar = try ingest([fixture("archives/self-instruct.tar.gz")])[0]
        XCTAssertEqual(tar.records, 175) // LICENSE_Apache-2.0.txt is passed over
        XCTAssertEqual(try store.db.scalarText("SELECT member FROM instructions WHERE subset = 'self_instruct_seed' LIMIT 1"),
                       "self-instruct/seed_tasks.jsonl")
    }

    // MARK: duplicates and reruns

    func testExactDuplicatesAfterNormalisationFirstOccurrenceWins() throws {
        try ingest([fixture("alpaca/alpaca_data_first200.json")])
        let r = try ingest([fixture("instruction-jsonl/alpaca_first50_regenerated.jsonl")], subset: "alpaca")[0]
        XCTAssertEqual(r.format, "instruction-jsonl")
        XCTAssertEqual(r.records, 50)
        XCTAssertEqual(r.duplicates, 50) // every tenth has extra white space, still the same instruction
        XCTAssertEqual(try count("SELECT duplicate_of FROM instructions WHERE id = 201"), 1)
        // NFC: "é" precomposed and decomposed are the same instruction; different inputs are not.
        let p = write("nfc.jsonl", "{\"instruction\":\"Caf\\u00e9  menu\"}\n{\"instruction\":\"Cafe\\u0301 menu\"}\n{\"instruction\":\"Café menu\",\"input\":\"x\"}\n")
        let n = try ingest([p], subset: "t")[0]
        XCTAssertEqual(n.duplicates, 1)
        XCTAssertEqual(InstructionKey.normalized("  a\t\n b \u{00A0}c "), "a b c")
    }

    func testReingestingTheSameContentIsANoOp() throws {
        let first = try ingest([fixture("alpaca/alpaca_data_first200.json")])[0]
        XCTAssertFalse(first.alreadyIngested)
        // Same bytes under another name.
        let copy = "\(dir!)/copy.json"
        try FileManager.default.copyItem(atPath: fixture("alpaca/alpaca_data_first200.json"), toPath: copy)
        let again = try ingest([copy])[0]
        XCTAssertTrue(again.alreadyIngested)
        XCTAssertEqual(again.records, 200)
        XCTAssertEqual(try store.instructionCount(), 200)
    }

    // MARK: bad input

    func testMalformedJSONLineStopsWithFileAndLineAndLeavesTheStore() throws {
        try ingest([fixture("lamini/dataset_card_examples.jsonl")])
        let before = try store.instructionCount()
        let p = write("bad.jsonl", "{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"c\",\"output\":\"d\"}\n{\"instruction\": \"e\" \"output\":\"f\"}\n{\"instruction\":\"g\"}\n")
        XCTAssertThrowsError(try ingest([p], subset: "t")) { error in
            XCTAssertEqual("\(error)", "\(p):3: invalid JSON at column 21: expected ',' or '}' after object member")
        }
        XCTAssertEqual(try store.instructionCount(), before)
        XCTAssertEqual(try store.sources().count, 1)
    }

    func testMissingFieldAndWrongType() throws {
        let p = write("fields.jsonl", "{\"instruction\":\"a\"}\n{\"input\":\"x\"}\n")
        XCTAssertThrowsError(try ingest([p], format: .instructionJSONL, subset: "t")) {
            XCTAssertEqual("\($0)", "\(p):2: expected a string field \"instruction\", found none")
        }
        let q = write("types.jsonl", "{\"instruction\":\"a\",\"output\":3}\n")
        XCTAssertThrowsError(try ingest([q], subset: "t")) {
            XCTAssertEqual("\($0)", "\(q):1: expected \"output\" to be a string, found a number")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
    }

    func testSkipBadCountsListsAndLandsTheRest() throws {
        var text = ""
        for i in 1...30 { text += i % 3 == 0 ? "{broken \(i)\n" : "{\"instruction\":\"task \(i)\",\"output\":\"o\"}\n" }
        let p = write("mixed.jsonl", text)
        let r = try ingest([p], subset: "t", skipBad: true)[0]
        XCTAssertEqual(r.records, 20)
        XCTAssertEqual(r.skipped, 10)
        XCTAssertEqual(r.badRecords.count, 10)
        XCTAssertEqual(r.badRecords[0], "\(p):3: invalid JSON at column 2: expected string key or '}' in object")
        XCTAssertEqual(try store.badRecords(sourceID: 1, limit: 100).count, 10)
        // More than 20 bad records: all counted, 20 listed.
        let many = write("many.jsonl", String(repeating: "[]\n", count: 25) + "{\"instruction\":\"x\"}\n")
        let m = try ingest([many], subset: "t", skipBad: true)[0]
        XCTAssertEqual(m.skipped, 25)
        XCTAssertEqual(m.badRecords.count, 20)
        XCTAssertEqual(m.badRecords[0], "\(many):1: expected a JSON object, found an array")
    }

    func testInvalidUTF8IsNamed() throws {
        var bytes = Array("{\"instruction\":\"ok\"}\n{\"instruction\":\"caf".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"}\n".utf8)
        let p = "\(dir!)/utf8.jsonl"
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        XCTAssertThrowsError(try ingest([p], subset: "t")) {
            XCTAssertTrue("\($0)".hasPrefix("\(p):2: invalid JSON at column 21: invalid UTF-8"), "\($0)")
        }
        var tsv = Array("question one\t(A)\tbecause\nq".utf8)
        tsv += [0xFF]
        tsv += Array("\t(B)\tr\n".utf8)
        let t = "\(dir!)/cot_bad_train.tsv"
        FileManager.default.createFile(atPath: t, contents: Data(tsv))
        XCTAssertThrowsError(try ingest([t])) {
            XCTAssertEqual("\($0)", "\(t):2: invalid UTF-8 at byte offset 26")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
    }

    func testTSVFieldCount() throws {
        let t = write("cot_x_train.tsv", "q\ta\tr\nonly two\tfields\n")
        XCTAssertThrowsError(try ingest([t])) {
            XCTAssertEqual("\($0)", "\(t):2: expected 3 tab-separated fields (question, answer, rationale), found 2")
        }
    }

    func testAlpacaArrayFramingErrorsAreFatalWithLine() throws {
        let p = write("alpaca_bad.json", "[\n  {\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}\n  {\"instruction\": \"c\"}\n]\n")
        XCTAssertThrowsError(try ingest([p])) {
            XCTAssertTrue("\($0)".hasPrefix("\(p):3: "), "\($0)")
            XCTAssertTrue("\($0)".contains("','"), "\($0)")
        }
        let cut = write("alpaca_cut.json", "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \"c\"")
        XCTAssertThrowsError(try ingest([cut], skipBad: true)) {
            XCTAssertTrue("\($0)".contains("unexpected end of input"), "\($0)")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
    }

    func testTFRecordBadCRCAndTruncation() throws {
        let src = fixture("p3/P3/data/ag_news_classify/train.tfrecord-00000-of-00001")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: src)))
        let firstLength = Int(bytes[0]) | Int(bytes[1]) << 8
        let second = 8 + 4 + firstLength + 4
        bytes[second + 12 + 5] ^= 0x40 // a data byte of record 2
        let dirBad = "\(dir!)/P3/data/ag_news_classify"
        try FileManager.default.createDirectory(atPath: dirBad, withIntermediateDirectories: true)
        let p = "\(dirBad)/train.tfrecord-00000-of-00001"
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        XCTAssertThrowsError(try ingest([p])) {
            XCTAssertTrue("\($0)".hasPrefix("\(p): byte offset \(second): "), "\($0)")
            XCTAssertTrue("\($0)".lowercased().contains("crc"), "\($0)")
        }
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: src)))
        FileManager.default.createFile(atPath: p, contents: Data(original[0..<(second + 20)]))
        XCTAssertThrowsError(try ingest([p])) {
            XCTAssertTrue("\($0)".hasPrefix("\(p): byte offset \(second): "), "\($0)")
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
    }

    func testTruncatedArchiveAndMissingFile() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("archives/self-instruct.tar.gz")))
        let p = "\(dir!)/cut.tar.gz"
        try bytes.prefix(bytes.count - 5000).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try ingest([p])) {
            XCTAssertTrue("\($0)".hasPrefix(p), "\($0)")
            XCTAssertTrue("\($0)".contains("truncated or damaged compressed data"), "\($0)")
        }
        XCTAssertEqual(try store.instructionCount(), 0)
        XCTAssertEqual(try store.sources().count, 0)
        XCTAssertThrowsError(try ingest(["\(dir!)/nope.jsonl"])) {
            XCTAssertEqual("\($0)", "\(dir!)/nope.jsonl: no such file or folder")
        }
    }

    func testSHA256Mismatch() throws {
        var o = IngestOptions(downloadDirectory: dir + "/cache")
        o.expectedSHA256 = String(repeating: "0", count: 64)
        o.showProgress = false
        XCTAssertThrowsError(try Ingester(store: store, options: o).ingest([fixture("lamini/dataset_card_examples.jsonl")])) {
            XCTAssertTrue("\($0)".contains("sha256 mismatch: expected 0000"), "\($0)")
        }
    }

    func testFormatDetection() {
        func d(_ name: String, _ text: String) -> Format? { FormatDetector.detect(name: name, head: Array(text.utf8)) }
        XCTAssertEqual(d("x.json", "\u{FEFF}  [ {"), .alpaca)
        XCTAssertEqual(d("x.jsonl", #"{"id":"s","instruction":"a","instances":[]}"#), .selfInstruct)
        XCTAssertEqual(d("x.jsonl", #"{"prompt":"a","completion":"b"}"#), .promptCompletion)
        XCTAssertEqual(d("x.jsonl", #"{"inputs_pretokenized":"a","targets_pretokenized":"b"}"#), .p3)
        XCTAssertEqual(d("x.jsonl", #"{"inputs":"a","targets":"b","task":"t"}"#), .flan)
        XCTAssertEqual(d("x.jsonl", #"{"instruction":"a","response":"b","instruction_source":"alpaca"}"#), .lamini)
        XCTAssertEqual(d("x.jsonl", #"{"instruction":"a","input":"","output":"b"}"#), .instructionJSONL)
        XCTAssertEqual(d("cot.tsv", "q\ta\tr"), .flanCot)
        XCTAssertEqual(d("train.tfrecord-00000-of-00001", ""), .p3)
        XCTAssertNil(d("x.jsonl", #"{"foo":1}"#))
        XCTAssertTrue(FormatDetector.isDataFile(name: "a/b.jsonl.zst"))
        XCTAssertFalse(FormatDetector.isDataFile(name: "P3/data/t/info.train.json"))
        XCTAssertFalse(FormatDetector.isDataFile(name: "LICENSE_Apache-2.0.txt"))
    }
}
