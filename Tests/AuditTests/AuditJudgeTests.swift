@testable import Audit
import Checksums
import Foundation
import Generate
import Store
import Teacher
import XCTest

/// `herd audit judge`'s library path against GenerateTests' fault teacher, whose judge replies
/// are a grade chosen by the request's sha256, or (one in eight) no grade at all.
final class AuditJudgeTests: XCTestCase {
    var dir: String!
    var server: Process?

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-audit-judge-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Starts ../GenerateTests/fault_teacher.py with `arguments`; returns its endpoint.
    func startTeacher(_ arguments: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("GenerateTests/fault_teacher.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        server = p
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else { throw XCTSkip("fault_teacher.py did not start") }
        return "http://127.0.0.1:\(port)"
    }

    /// What the fault teacher answers a judge request with this body.
    func expectedGrade(body: String) -> String? {
        let key = SHA256.hex(body)
        let u = Int(key.dropFirst(8).prefix(2), radix: 16)!
        return u % 8 == 7 ? nil : String("ABCD"[("ABCD".index("ABCD".startIndex, offsetBy: u % 4))])
    }

    func testJudgeGradesEveryPairThroughTheQueue() throws {
        let store = try AuditStore.make(at: "\(dir!)/herd.db")
        try AuditSampler.draw(store: store, perSubset: 10, seed: 5)
        // Transient faults on a quarter of the requests: retried, never lost or doubled.
        let endpoint = try startTeacher(["--faults", "500:0.15,429:0.1", "--retry-after", "0"])
        var settings = TeacherSettings()
        settings.endpoint = endpoint
        settings.model = "judge-model"
        settings.temperature = 0
        settings.maxTokens = 256
        let queued = try AuditJudge.enqueue(store: store, settings: settings)
        XCTAssertEqual(queued.added, 30)
        XCTAssertEqual(queued.open.count, 30)

        var teacher = HTTPTeacherOptions(url: ChatRequest.url(endpoint: endpoint), apiKey: nil)
        teacher.retry.baseDelay = 0.01
        var options = TeacherRunOptions(filter: TeacherQueueFilter(stage: "judge", subset: nil, endpoint: settings.storedEndpoint,
                                                                   model: settings.model), teacher: teacher)
        options.prices = PriceTable(["judge-model": .init(promptPerMillion: 1, completionPerMillion: 2)])
        let run = try TeacherQueueRunner.run(store: store, options: options)
        XCTAssertEqual(run.answered, 30)
        XCTAssertEqual(run.failed, 0)
        XCTAssertGreaterThan(run.retries, 0)

        let taken = try AuditJudge.takeReplies(store: store, model: "judge-model")
        let judged = try store.ratings(kind: .judge)
        XCTAssertEqual(judged.count, 30)
        XCTAssertEqual(taken.graded + taken.unparsable, 30)
        var unparsable = 0
        for r in judged {
            let request = try XCTUnwrap(try store.teacherRequests(status: "done").first { $0.id == r.rating.requestID })
            XCTAssertEqual(request.stage, "judge")
            XCTAssertEqual(request.instructionID, r.rating.instructionID)
            XCTAssertTrue(request.body.contains("Grade: A"), "the rubric is in the prompt")
            XCTAssertEqual(r.rating.grade, expectedGrade(body: request.body))
            XCTAssertEqual(r.rating.rater, "judge-model")
            if r.rating.grade == nil {
                unparsable += 1
                XCTAssertTrue(r.rating.note.hasPrefix("I would rather not grade this one"), "the reply is kept as the note")
            } else {
                XCTAssertEqual(r.rating.note, "Reason \(SHA256.hex(request.body).prefix(8)).")
            }
        }
        XCTAssertEqual(taken.unparsable, unparsable)
        XCTAssertGreaterThan(unparsable, 0, "the fixture should include a reply with no grade")

        // Again: nothing is asked or recorded twice.
        XCTAssertEqual(try AuditJudge.enqueue(store: store, settings: settings).added, 0)
        XCTAssertEqual(try TeacherQueueRunner.run(store: store, options: options).answered, 0)
        XCTAssertEqual(try AuditJudge.takeReplies(store: store, model: "judge-model"), JudgeTakeReport())

        // The summary: judge grades per subset, no human ones yet, no agreement.
        let summary = try RatingSummary.compute(store: store)
        XCTAssertEqual(summary.subsets.map(\.subset), AuditStore.subsets)
        XCTAssertEqual(summary.subsets.map(\.pairs), [10, 10, 10])
        XCTAssertEqual(summary.subsets.map { $0.judge.values.reduce(0, +) + $0.judgeUnparsable }, [10, 10, 10])
        XCTAssertEqual(summary.subsets.map(\.both), [0, 0, 0])
        XCTAssertNil(summary.subsets[0].agreement)

        // A person agrees with the judge on two pairs of the first subset and not on a third.
        let firstSubset = judged.filter { $0.subset == AuditStore.subsets[0] && $0.rating.grade != nil }.prefix(3)
        for (k, r) in firstSubset.enumerated() {
            let grade = k < 2 ? r.rating.grade! : (r.rating.grade == "A" ? "B" : "A")
            try store.setRating(Rating(instructionID: r.rating.instructionID, kind: .human, rater: "ann", grade: grade))
        }
        let after = try RatingSummary.compute(store: store).subsets[0]
        XCTAssertEqual(after.both, 3)
        XCTAssertEqual(after.agreeing, 2)
        XCTAssertEqual(after.agreement!, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(after.human.values.reduce(0, +), 3)
    }
}
