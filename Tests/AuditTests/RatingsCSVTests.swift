@testable import Audit
import Foundation
import Store
import XCTest

final class RatingsCSVTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-audit-csv-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func sampledStore(_ name: String) throws -> (Store, [(position: Int, instructionID: Int64, subset: String)]) {
        let store = try AuditStore.make(at: "\(dir!)/\(name).db")
        try AuditSampler.draw(store: store, perSubset: 2, seed: 3)
        return (store, try store.auditPlaces())
    }

    func testExportImportRoundTrip() throws {
        let (a, places) = try sampledStore("a")
        let tricky = "commas, \"quotes\",\nline breaks\r\nand ünïcödé 🦙"
        try a.setRating(Rating(instructionID: places[0].instructionID, kind: .human, rater: "ann", grade: "A"))
        try a.setRating(Rating(instructionID: places[0].instructionID, kind: .human, rater: "bob", grade: "C", note: tricky))
        try a.setRating(Rating(instructionID: places[2].instructionID, kind: .judge, rater: "gpt-4o", grade: nil, note: "no idea"))
        try a.setRating(Rating(instructionID: places[1].instructionID, kind: .judge, rater: "gpt-4o", grade: "D", note: "off topic"))
        let csv = try RatingsCSV.export(store: a)
        let id0 = places[0].instructionID, id1 = places[1].instructionID, id2 = places[2].instructionID
        XCTAssertEqual(csv, """
            position,instruction_id,subset,kind,rater,grade,note\r
            0,\(id0),\(places[0].subset),human,ann,A,\r
            0,\(id0),\(places[0].subset),human,bob,C,"commas, ""quotes"",
            line breaks\r
            and ünïcödé 🦙"\r
            1,\(id1),\(places[1].subset),judge,gpt-4o,D,off topic\r
            2,\(id2),\(places[2].subset),judge,gpt-4o,,no idea\r

            """)
        let path = "\(dir!)/ratings.csv"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))

        // Another store with the same sample reads them back exactly.
        let (b, _) = try sampledStore("b")
        let report = try RatingsCSV.importFile(path, store: b)
        XCTAssertEqual(report, RatingsImportReport(rows: 4, added: 4, changed: 0, unchanged: 0))
        XCTAssertEqual(try b.ratings(), try a.ratings())
        XCTAssertEqual(try RatingsCSV.export(store: b), csv)
        // Again: nothing changes.
        XCTAssertEqual(try RatingsCSV.importFile(path, store: b), RatingsImportReport(rows: 4, added: 0, changed: 0, unchanged: 4))

        // With texts, and LF line ends and a byte order mark, as spreadsheets write: the extra columns are ignored.
        let withTexts = try RatingsCSV.export(store: a, withTexts: true)
        XCTAssertTrue(withTexts.hasPrefix("position,instruction_id,subset,kind,rater,grade,note,instruction,input,response\r\n"))
        let (c, _) = try sampledStore("c")
        let lf = "\u{FEFF}" + withTexts.replacingOccurrences(of: "\r\n", with: "\n")
        try Data(lf.utf8).write(to: URL(fileURLWithPath: "\(dir!)/lf.csv"))
        XCTAssertEqual(try RatingsCSV.importFile("\(dir!)/lf.csv", store: c).added, 4)
        var expected = try a.ratings()
        expected[1].rating.note = tricky.replacingOccurrences(of: "\r\n", with: "\n")
        XCTAssertEqual(try c.ratings(), expected)
    }

    func testBadRowsNameTheLineAndChangeNothing() throws {
        let (store, places) = try sampledStore("a")
        let id = places[0].instructionID, other = places[1].instructionID
        let good = "\(id),human,ann,B,fine\r\n"
        let cases: [(String, String)] = [
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,E,\n", "bad.csv:3: grade \"E\": expected A, B, C or D"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,,\n", "bad.csv:3: grade \"\": expected A, B, C or D"),
            ("instruction_id,kind,rater,grade,note\n" + good + "x1,human,ann,A,\n", "bad.csv:3: instruction_id \"x1\" is not an integer"),
            ("instruction_id,kind,rater,grade,note\n" + good + "999999,human,ann,A,\n",
             "bad.csv:3: instruction 999999 is not in the audit sample (herd audit sample)"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),robot,ann,A,\n", "bad.csv:3: kind \"robot\": expected human or judge"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(id),human,ann,A,\n",
             "bad.csv:3: a second human rating of instruction \(id) by ann (the first is on line 2)"),
            ("instruction_id,kind,rater,grade,note\n\(id),human,ann,A,\"a\nb\"\n\(other),human,ann,Z,\n", "bad.csv:4: grade \"Z\": expected A, B, C or D"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,A,\"open\n", "bad.csv:3: a quoted field is never closed"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,A,say \"hi\"\n",
             "bad.csv:3: a quote inside an unquoted field; quote the whole field and double its quotes"),
            ("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,A,\"x\"y\n",
             "bad.csv:3: text after a quoted field's closing quote; expected a comma or a line end"),
            ("id,kind,rater,grade\n", "bad.csv:1: no instruction_id column; expected a header with instruction_id, kind, rater, grade and note"),
            ("", "bad.csv: empty file; expected a header line naming the columns"),
        ]
        let path = "\(dir!)/bad.csv"
        for (text, message) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try RatingsCSV.importFile(path, store: store)) { error in
                XCTAssertEqual("\(error)", path.replacingOccurrences(of: "bad.csv", with: "") + message)
            }
            XCTAssertEqual(try store.ratings(), [], "nothing recorded after \(message)")
        }
        var invalid = Array("instruction_id,kind,rater,grade,note\n\(id),human,ann,A,".utf8)
        invalid += [0xC3, 0x28, 0x0A]
        try Data(invalid).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RatingsCSV.importFile(path, store: store)) { XCTAssertEqual("\($0)", "\(path):2: invalid UTF-8") }

        // --skip-bad: the good rows land, the bad are counted with their reasons.
        try Data(("instruction_id,kind,rater,grade,note\n" + good + "\(other),human,ann,E,\nx,human,ann,A,\n").utf8)
            .write(to: URL(fileURLWithPath: path))
        let report = try RatingsCSV.importFile(path, store: store, skipBad: true)
        XCTAssertEqual(report.rows, 3)
        XCTAssertEqual(report.added, 1)
        XCTAssertEqual(report.skipped, 2)
        XCTAssertEqual(report.skipReasons, ["\(path):3: grade \"E\": expected A, B, C or D", "\(path):4: instruction_id \"x\" is not an integer"])
        XCTAssertEqual(try store.ratings().map(\.rating), [Rating(instructionID: id, kind: .human, rater: "ann", grade: "B", note: "fine")])
    }
}
