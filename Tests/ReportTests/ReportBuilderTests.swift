import FastJSON
import Foundation
import Audit
@testable import Report
import Store
import XCTest

/// `herd report`: what report.json holds for a small store, and that the page embeds it.
final class ReportBuilderTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testReportOfASmallStore() throws {
        let store = try Store.create(at: "\(dir!)/herd.db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "a", count: 64), bytes: 0, format: "test")
        // alpaca: instructions of 3, 7 and 12 words (the last with a 2-word input), responses of 1 and 600 words.
        let rows: [(String, String, String, String?)] = [
            ("alpaca", "one two three", "", "yes"),
            ("alpaca", "a b c d e f g", "", String(repeating: "word ", count: 600)),
            ("alpaca", "w w w w w w w w w w", "x y", nil),
            ("original_p3", "what is the capital of France?", "", "Paris"),
        ]
        for (k, r) in rows.enumerated() {
            _ = try w.add(NewInstruction(subset: r.0, member: nil, line: Int64(k + 1), record: Int64(k + 1), byteOffset: 0, task: nil,
                                         instruction: r.1, input: r.2, output: r.3, meta: nil, normHash: Int64(k)), duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        let model = try store.embeddingModel(name: "all-MiniLM-L6-v2", sha256: String(repeating: "b", count: 64), dimension: 4)
        try store.addProjection(modelID: model.id, field: "instruction", settings: "{}", inputSHA256: "c", klDivergence: 0.123456,
                                points: [(1, 1.23456, -2), (2, 3, 4), (4, -0.0004, 0.5)])

        let summary = try ReportBuilder.write(store: store, storePath: "\(dir!)/herd.db", to: "\(dir!)/out", generator: "herd-test")
        XCTAssertEqual(summary.projectionPoints, 3)
        let report = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: summary.json))))
        XCTAssertEqual(report["title"]?.stringValue, "Herd report: \(URL(fileURLWithPath: dir).lastPathComponent)")
        XCTAssertEqual(report["generated_by"]?.stringValue, "herd-test")

        let table = try XCTUnwrap(report["table1"]?["subsets"])
        XCTAssertEqual(table[0]?["subset"]?.stringValue, "alpaca")
        XCTAssertEqual(table[0]?["count"], .number("3"))
        XCTAssertEqual(table[0]?["instruction_words"], .number("22"))
        XCTAssertEqual(table[0]?["response_words"], .number("601"))
        XCTAssertEqual(table[0]?["response_words_avg"], .number("300.50"))
        XCTAssertEqual(report["table1"]?["total"]?["count"], .number("4"))
        XCTAssertEqual(report["ledger"], .array([]))

        // Bins [0,5) [5,10) [10,15) … [300,500) ≥500.
        let edges = ReportBuilder.lengthEdges
        XCTAssertEqual(report["lengths"]?["instruction"]?["edges"], .array(edges.map { .number(String($0)) }))
        func counts(_ field: String, _ subset: String) -> [Int64]? {
            guard case let .array(values)? = report["lengths"]?[field]?["subsets"]?[subset] else { return nil }
            return values.compactMap(\.int64Value)
        }
        XCTAssertEqual(counts("instruction", "alpaca"), [1, 1, 1] + [Int64](repeating: 0, count: edges.count - 3))
        XCTAssertEqual(counts("response", "alpaca"), [1] + [Int64](repeating: 0, count: edges.count - 2) + [1])
        XCTAssertEqual(counts("response", "original_p3"), [1] + [Int64](repeating: 0, count: edges.count - 1))

        let projection = try XCTUnwrap(report["projection"])
        XCTAssertEqual(projection["subsets"], .array([.string("alpaca"), .string("original_p3")]))
        XCTAssertEqual(projection["subset_index"], .array([.number("0"), .number("0"), .number("1")]))
        XCTAssertEqual(projection["x"], .array([.number("1.235"), .number("3.000"), .number("-0.000")]))
        XCTAssertEqual(projection["kl_divergence"], .number("0.1235"))
        // Nothing filtered or mined yet: no such sections, and the page says so itself.
        XCTAssertNil(report["dedup"])
        XCTAssertNil(report["topics"])

        let page = try String(contentsOfFile: summary.html, encoding: .utf8)
        XCTAssertTrue(page.contains("<script type=\"application/json\" id=\"report-data\">"))
        XCTAssertTrue(page.contains("\"generated_by\":\"herd-test\""))
    }
}

extension ReportBuilderTests {
    func testRatingsSection() throws {
        let store = try Store.create(at: "\(dir!)/herd.db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "a", count: 64), bytes: 0, format: "test")
        for k in 0..<8 {
            _ = try w.add(NewInstruction(subset: k < 4 ? "alpaca" : "original_p3", member: nil, line: Int64(k + 1), record: Int64(k + 1),
                                         byteOffset: 0, task: nil, instruction: "i\(k)", input: "", output: "o\(k)", meta: nil,
                                         normHash: Int64(k)), duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        try AuditSampler.draw(store: store, perSubset: 3, seed: 0)
        let places = try store.auditPlaces()
        let alpaca = places.filter { $0.subset == "alpaca" }.map(\.instructionID)
        let p3 = places.filter { $0.subset == "original_p3" }.map(\.instructionID)
        for (id, human, judge) in [(alpaca[0], "A", "A"), (alpaca[1], "B", "A"), (alpaca[2], "A", nil)] {
            try store.setRating(Rating(instructionID: id, kind: .human, rater: "ann", grade: human))
            try store.setRating(Rating(instructionID: id, kind: .judge, rater: "gpt", grade: judge))
        }
        // A second reviewer is counted, but agreement compares the first by name (ann).
        try store.setRating(Rating(instructionID: alpaca[0], kind: .human, rater: "zed", grade: "D"))
        try store.setRating(Rating(instructionID: p3[0], kind: .judge, rater: "gpt", grade: "C"))
        let summary = try ReportBuilder.write(store: store, storePath: "\(dir!)/herd.db", to: "\(dir!)/out")
        let report = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: summary.json))))
        XCTAssertEqual(JSONWriter.string(try XCTUnwrap(report["ratings"])), #"{"subsets":["#
            + #"{"subset":"alpaca","pairs":3,"human":{"A":2,"B":1,"C":0,"D":1},"judge":{"A":2,"B":0,"C":0,"D":0},"judge_unparsable":1,"both":2,"agreement":0.5000},"#
            + #"{"subset":"original_p3","pairs":3,"human":{"A":0,"B":0,"C":0,"D":0},"judge":{"A":0,"B":0,"C":1,"D":0},"judge_unparsable":0,"both":0,"agreement":null}]}"#)
    }

    func testTrainingSection() throws {
        let store = try Store.create(at: "\(dir!)/herd.db")
        XCTAssertNil(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: ReportBuilder.write(store: store, storePath: "\(dir!)/herd.db", to: "\(dir!)/a").json))))["training"])
        try store.replaceTrainingRun(name: "tiny", directory: "/runs/tiny", points: [
            TrainingPoint(step: 1, split: "train", loss: 10.8), TrainingPoint(step: 2, split: "train", loss: 9.25),
            TrainingPoint(step: 2, split: "validation", loss: 9.5, rougeL: 0.125)])
        // Recording a run again replaces its points.
        try store.replaceTrainingRun(name: "tiny", directory: "/runs/tiny", points: [
            TrainingPoint(step: 1, split: "train", loss: 10.5), TrainingPoint(step: 2, split: "train", loss: 9.0),
            TrainingPoint(step: 2, split: "validation", loss: 9.25, rougeL: 0.25)])
        let summary = try ReportBuilder.write(store: store, storePath: "\(dir!)/herd.db", to: "\(dir!)/out")
        let report = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: summary.json))))
        XCTAssertEqual(JSONWriter.string(try XCTUnwrap(report["training"])),
                       #"{"runs":[{"run":"tiny","points":[{"step":1,"loss":10.50000},{"step":2,"loss":9.00000,"val_loss":9.25000,"rouge_l":0.2500}]}]}"#)
    }
}
