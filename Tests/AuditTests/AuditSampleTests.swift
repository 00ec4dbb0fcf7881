@testable import Audit
import Foundation
import Sampling
import Store
import XCTest

final class AuditSampleTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testSampleIsReproducibleNestedAndInterleaved() throws {
        let store = try AuditStore.make(at: "\(dir!)/herd.db")
        let report = try AuditSampler.draw(store: store, perSubset: 5, seed: 7)
        XCTAssertEqual(report.pairs, 15)
        XCTAssertEqual(report.perSubset.map(\.subset), AuditStore.subsets)
        XCTAssertEqual(report.perSubset.map(\.pairs), [5, 5, 5])
        XCTAssertEqual(report.perSubset.map(\.available), [30, 30, 30]) // no unanswered, duplicate or seed rows
        let places = try store.auditPlaces()
        XCTAssertEqual(places.map(\.position), Array(0..<15))
        // Shown in key order: the keys rise along the positions, and subsets are interleaved.
        let keys = places.map { KeyedSample.key(id: $0.instructionID, seed: 7) }
        XCTAssertEqual(keys, keys.sorted())
        // Each subset's pairs are its 5 smallest keys.
        let candidates = try store.embeddingCandidates(field: "response")
        for subset in AuditStore.subsets {
            let smallest = candidates.filter { $0.subset == subset }.map(\.id)
                .sorted { KeyedSample.key(id: $0, seed: 7) < KeyedSample.key(id: $1, seed: 7) }.prefix(5)
            XCTAssertEqual(Set(places.filter { $0.subset == subset }.map(\.instructionID)), Set(smallest), subset)
        }
        XCTAssertEqual(places.map(\.instructionID), [29, 11, 110, 91, 20, 58, 127, 125, 3, 31, 86, 109, 49, 26, 93])
        XCTAssertEqual(try store.auditSample(), AuditSampleInfo(seed: 7, perSubset: 5, pairs: 15))

        let pair = try XCTUnwrap(try store.auditPair(position: 0))
        XCTAssertEqual(pair.instructionID, places[0].instructionID)
        XCTAssertTrue(pair.response.hasSuffix("\nsecond line"))
        XCTAssertEqual(pair.responseSource, "seed")

        // Drawing again with the same seed changes nothing; a larger sample keeps the smaller.
        try AuditSampler.draw(store: store, perSubset: 5, seed: 7)
        XCTAssertEqual(try store.auditPlaces().map(\.instructionID), places.map(\.instructionID))
        try store.setRating(Rating(instructionID: places[3].instructionID, kind: .human, rater: "ann", grade: "B", note: "ok"))
        let larger = try AuditSampler.draw(store: store, perSubset: 12, seed: 7)
        XCTAssertEqual(larger.pairs, 36)
        XCTAssertTrue(Set(try store.auditPlaces().map(\.instructionID)).isSuperset(of: places.map(\.instructionID)))
        XCTAssertEqual(try store.ratings().count, 1)
        // More than a subset has: all of it.
        XCTAssertEqual(try AuditSampler.draw(store: store, perSubset: 50, seed: 7).perSubset.map(\.pairs), [30, 30, 30])
    }

    func testRedrawThatWouldLoseRatingsIsRefused() throws {
        let store = try AuditStore.make(at: "\(dir!)/herd.db")
        try AuditSampler.draw(store: store, perSubset: 2, seed: 1)
        let rated = try store.auditPlaces()[0].instructionID
        try store.setRating(Rating(instructionID: rated, kind: .human, rater: "ann", grade: "A"))
        let other = try (2...100).first { seed in
            !KeyedSample.select(ids: try store.embeddingCandidates(field: "response").map(\.id),
                                groups: try store.embeddingCandidates(field: "response").map(\.subset), n: 2, seed: UInt64(seed))
                .map { try! store.embeddingCandidates(field: "response")[$0].id }.contains(rated)
        }!
        XCTAssertThrowsError(try AuditSampler.draw(store: store, perSubset: 2, seed: UInt64(other))) { error in
            XCTAssertTrue("\(error)".hasPrefix("1 ratings are of pairs the new sample leaves out"), "\(error)")
        }
        // Nothing changed.
        XCTAssertEqual(try store.auditSample()?.seed, 1)
        XCTAssertEqual(try store.ratings().count, 1)
        XCTAssertEqual(try AuditSampler.draw(store: store, perSubset: 2, seed: UInt64(other), dropRatings: true).droppedRatings, 1)
        XCTAssertEqual(try store.ratings().count, 0)
        // Ratings are only of sampled pairs, with a grade A–D.
        XCTAssertThrowsError(try store.setRating(Rating(instructionID: rated, kind: .human, rater: "ann", grade: "A")))
        let sampled = try store.auditPlaces()[0].instructionID
        XCTAssertThrowsError(try store.setRating(Rating(instructionID: sampled, kind: .human, rater: "ann", grade: "E")))
    }

    func testJudgeRepliesAreReadStrictly() {
        let cases: [(String, Grade?)] = [
            ("Grade: A\nThe answer is right.", .A), ("grade: B", .B), ("GRADE:C.", .C), ("**Grade:** D\nwrong", .D),
            ("**Grade: B**", .B), ("**Grade: B.**", .B), ("\n\n  Grade: C  \nx", .C), ("A", .A), ("D.", .D),
            // Not as asked: never guessed.
            ("Grade: a", nil), ("Grade A", nil), ("Grade: A or B", nil), ("The grade is A.", nil), ("Grade: E", nil),
            ("I think this deserves an A.\nGrade: A", nil), ("", nil), ("Grade:\nA", nil), ("AB", nil), ("Rating: A", nil),
        ]
        for (reply, grade) in cases {
            XCTAssertEqual(JudgeRubric.parse(reply).grade, grade, "\(reply.debugDescription)")
        }
        XCTAssertEqual(JudgeRubric.parse("Grade: B\n\nMinor slip in step 2.\n").reason, "Minor slip in step 2.")
    }
}
