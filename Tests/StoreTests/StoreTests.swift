import Foundation
@testable import Store
import XCTest

final class StoreTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func row(_ text: String, subset: String = "alpaca", hash: Int64 = 1) -> NewInstruction {
        NewInstruction(subset: subset, member: nil, line: 1, record: 1, byteOffset: 0, task: nil, instruction: text,
                       input: "", output: "out", meta: nil, normHash: hash)
    }

    /// schemas/store.sql is the migrations' SQL; regenerate it with `make schemas`.
    func testCommittedSchemaMatchesMigrations() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("schemas/store.sql"), encoding: .utf8)
        XCTAssertEqual(committed, Migrations.schemaSQL)
    }

    func testCreateMigratesAndUsesWAL() throws {
        let store = try Store.create(at: dir + "/herd.db")
        XCTAssertEqual(store.schemaVersion, Migrations.all.last!.version)
        XCTAssertEqual(try store.db.scalarText("PRAGMA journal_mode"), "wal")
        XCTAssertThrowsError(try Store.create(at: dir + "/herd.db")) { XCTAssertTrue("\($0)".contains("already exists")) }
        XCTAssertThrowsError(try Store.open(dir + "/missing.db")) { XCTAssertTrue("\($0)".contains("no Herd store here")) }
    }

    func testNewerSchemaIsRefused() throws {
        let path = dir + "/herd.db"
        _ = try Store.create(at: path)
        try Database(path: path).execute("PRAGMA user_version = 999")
        XCTAssertThrowsError(try Store.open(path)) { XCTAssertTrue("\($0)".contains("newer than this herd understands")) }
    }

    /// Migration 8 rebuilds teacher_requests (to let stage 'judge' in): a store made at version 7
    /// keeps every request, id and column, and the table's digest.
    func testMigration8KeepsTeacherRequests() throws {
        let path = dir + "/herd.db"
        let old = try Database(path: path)
        for m in Migrations.all where m.version <= 7 {
            try old.execute(m.sql)
            try old.execute("PRAGMA user_version = \(m.version)")
        }
        try old.execute("""
            INSERT INTO teacher_requests (key, stage, subset, endpoint, model, body, status, attempts, content, cost_usd, results)
            VALUES ('k1', 'instructions', 'alpaca', 'e', 'm', '{}', 'done', 2, 'c', 0.5, 3),
                   ('k2', 'responses', 'alpaca', 'e', 'm', '{"x":1}', 'pending', 0, NULL, NULL, NULL)
            """)
        let columns = "SELECT group_concat(name, ',') FROM pragma_table_info('teacher_requests')"
        let before = try old.scalarText(columns)
        let rowsSQL = "SELECT group_concat(id || '|' || key || '|' || stage || '|' || status || '|' || attempts || '|' || "
            + "ifnull(cost_usd, '-') || '|' || ifnull(results, '-'), ';') FROM teacher_requests"
        let rows = try old.scalarText(rowsSQL)
        let store = try Store.open(path)
        XCTAssertEqual(store.schemaVersion, Migrations.all.last!.version)
        XCTAssertEqual(try store.db.scalarText(columns), before)
        XCTAssertEqual(try store.db.scalarText(rowsSQL), rows)
        XCTAssertEqual(rows, "1|k1|instructions|done|2|0.5|3;2|k2|responses|pending|0|-|-")
        XCTAssertEqual(try store.db.scalarText(
            "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE tbl_name = 'teacher_requests' AND type = 'index' AND sql IS NOT NULL ORDER BY name)"),
            "teacher_requests_by_status,teacher_requests_to_take")
        XCTAssertEqual(try store.enqueueTeacherRequests([NewTeacherRequest(key: "k3", stage: "judge", subset: "alpaca", promptNumber: nil,
                                                                           instructionID: nil, endpoint: "e", model: "m", body: "{}")]), 1)
        XCTAssertEqual(try store.enqueueTeacherRequests([NewTeacherRequest(key: "k4", stage: "other", subset: "alpaca", promptNumber: nil,
                                                                           instructionID: nil, endpoint: "e", model: "m", body: "{}")]), 0)
    }

    func testResolvePathPrecedence() {
        XCTAssertEqual(Store.resolvePath(explicit: "a.db", environment: ["HERD_STORE": "b.db"]), "a.db")
        XCTAssertEqual(Store.resolvePath(explicit: nil, environment: ["HERD_STORE": "b.db"]), "b.db")
        XCTAssertEqual(Store.resolvePath(explicit: nil, environment: [:]), "herd.db")
    }

    func testSourceWriterCommitsOrLeavesNothing() throws {
        let store = try Store.create(at: dir + "/herd.db")
        let w = try SourceWriter(store: store, uri: "a.json", sha256: "aa", bytes: 10, format: "alpaca")
        let first = try w.add(row("one", hash: 1), duplicateOf: nil)
        try w.add(row("one again", hash: 1), duplicateOf: first)
        try w.add(row("seed", subset: "self_instruct_seed", hash: 2), duplicateOf: nil)
        try w.addBadRecord(member: nil, line: 7, byteOffset: 99, message: "expected an object")
        let info = try w.commit(filtered: 3, format: "alpaca")
        XCTAssertEqual(info, SourceInfo(id: 1, uri: "a.json", sha256: "aa", bytes: 10, format: "alpaca", records: 3,
                                        duplicates: 1, skipped: 1, filtered: 3))
        XCTAssertEqual(try store.subsets(), [SubsetInfo(name: "alpaca", role: "corpus"), SubsetInfo(name: "self_instruct_seed", role: "seed")])
        XCTAssertEqual(try store.firstOccurrencesByHash(), [1: 1, 2: 3])
        XCTAssertEqual(try store.exportableIDs(subsets: ["alpaca"], includeDuplicates: false), [1])
        XCTAssertEqual(try store.exportableIDs(subsets: ["alpaca"], includeDuplicates: true), [1, 2])
        XCTAssertEqual(try store.badRecords(sourceID: 1, limit: 20).first?.message, "expected an object")

        // A writer that is abandoned (an error, a kill) leaves the store exactly as it was.
        let w2 = try SourceWriter(store: store, uri: "b.json", sha256: "bb", bytes: 5, format: "alpaca")
        try w2.add(row("two", hash: 5), duplicateOf: nil)
        w2.rollback()
        XCTAssertEqual(try store.instructionCount(), 3)
        XCTAssertNil(try store.source(sha256: "bb"))
        XCTAssertEqual(try store.sources().count, 1)
    }

    func testForEachInstructionGivesCanonicalIDs() throws {
        let store = try Store.create(at: dir + "/herd.db")
        let w = try SourceWriter(store: store, uri: "a", sha256: "a", bytes: 1, format: "x")
        let a = try w.add(row("x"), duplicateOf: nil)
        try w.add(row("x"), duplicateOf: a)
        _ = try w.commit(filtered: 0, format: "x")
        var seen: [(Int64, Int64, Bool, String)] = []
        try store.forEachInstruction(subset: "alpaca", connection: try store.readerConnection()) { v in
            seen.append((v.id, v.canonicalID, v.isDuplicate, String(decoding: v.instruction, as: UTF8.self)))
        }
        XCTAssertEqual(seen.map(\.0), [1, 2])
        XCTAssertEqual(seen.map(\.1), [1, 1])
        XCTAssertEqual(seen.map(\.2), [false, true])
    }

    /// Ledger rows per status become one total per stage and model, in the rows' order.
    func testLedgerTotals() {
        func row(_ stage: String, _ model: String, _ status: String, _ requests: Int64, cost: Double, priced: Int64) -> TeacherLedgerRow {
            TeacherLedgerRow(stage: stage, model: model, status: status, requests: requests, promptTokens: 10 * requests,
                             completionTokens: 20 * requests, costUSD: cost, priced: priced, attempts: requests)
        }
        let totals = TeacherLedgerTotal.totals([
            row("instructions", "a", "done", 5, cost: 0.5, priced: 5), row("instructions", "a", "failed", 2, cost: 0, priced: 0),
            row("instructions", "a", "pending", 3, cost: 0, priced: 0), row("responses", "a", "done", 4, cost: 0.25, priced: 4),
        ])
        XCTAssertEqual(totals, [
            TeacherLedgerTotal(stage: "instructions", model: "a", requests: 10, answered: 5, failed: 2, promptTokens: 100,
                               completionTokens: 200, costUSD: 0.5, priced: 5),
            TeacherLedgerTotal(stage: "responses", model: "a", requests: 4, answered: 4, failed: 0, promptTokens: 40,
                               completionTokens: 80, costUSD: 0.25, priced: 4),
        ])
    }
}
