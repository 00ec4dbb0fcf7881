import Checksums
import FastJSON
import Foundation
@testable import Generate
import Store
import Teacher
import XCTest

/// Seeds a store with `n` Self-Instruct-like seed instructions.
func seededStore(at path: String, seeds n: Int = 40) throws -> Store {
    let store = try Store.create(at: path)
    let w = try SourceWriter(store: store, uri: "seeds", sha256: SHA256.hex("seeds \(n)"), bytes: 0, format: "test")
    for i in 0..<n {
        try w.add(NewInstruction(subset: "self_instruct_seed", member: nil, line: nil, record: Int64(i + 1), byteOffset: 0, task: nil,
                                 instruction: "Describe seed number \(i) in one sentence.", input: i % 3 == 0 ? "input \(i)" : "",
                                 output: "Seed output \(i).", meta: nil, normHash: Int64(i)), duplicateOf: nil)
    }
    _ = try w.commit(filtered: 0, format: "test")
    return store
}

final class TeacherRunTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-teacher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static let faults: [(String, Double)] = [
        ("429", 0.08), ("500", 0.06), ("503", 0.06), ("408", 0.04), ("slow", 0.04), ("malformed", 0.06),
        ("truncated", 0.06), ("close", 0.06), ("length", 0.08), ("400", 0.04),
    ]

    func runOptions(_ server: FaultTeacher, stage: String, subset: String?, apiKey: String?) -> TeacherRunOptions {
        var teacher = HTTPTeacherOptions(url: ChatRequest.url(endpoint: server.endpoint), apiKey: apiKey)
        teacher.concurrency = 8
        teacher.requestTimeout = 1
        teacher.retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.05, maxDelay: 0.2)
        var settings = TeacherSettings()
        settings.endpoint = server.endpoint
        var options = TeacherRunOptions(filter: TeacherQueueFilter(stage: stage, subset: subset, endpoint: server.endpoint,
                                                                   model: settings.model), teacher: teacher)
        options.prices = PriceTable(["gpt-3.5-turbo": .init(promptPerMillion: 0.5, completionPerMillion: 1.5)])
        return options
    }

    /// Every fault the server knows, once per request: every prompt ends answered exactly once
    /// (or failed, for the 400s), nothing answered is ever sent again, Retry-After is honoured,
    /// and the API key reaches the server but not the store.
    func testEveryPromptAnsweredExactlyOnceThroughFaults() throws {
        let apiKey = "sk-herd-test-\(UUID().uuidString)"
        let server = try FaultTeacher(logPath: "\(dir!)/log.jsonl",
                                      arguments: ["--faults", FaultTeacher.specText(Self.faults), "--slow-seconds", "3",
                                                  "--retry-after", "1", "--api-key", apiKey])
        defer { server.stop() }
        let store = try seededStore(at: "\(dir!)/herd.db")
        var settings = TeacherSettings()
        settings.endpoint = server.endpoint
        let plan = try InstructionPlan(store: store, options: InstructionGenerationOptions(pool: .selfInstruct, topicGuided: false,
                                                                                          prompts: 80, seed: 5))
        let queued = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
        XCTAssertEqual(queued.added, 80)
        // The server knows a request by the sha256 of its body.
        let keys = try queued.open.map { SHA256.hex(try XCTUnwrap(store.teacherRequest(key: $0)).body) }
        let queueKey = Dictionary(uniqueKeysWithValues: zip(keys, queued.open))
        let expectedFault = Dictionary(uniqueKeysWithValues: keys.map { ($0, FaultTeacher.fault(forKey: $0, spec: Self.faults)) })
        let failing = Set(keys.filter { expectedFault[$0] == "400" })
        let cut = keys.filter { expectedFault[$0] == "length" }.count
        XCTAssertGreaterThan(failing.count, 0)
        XCTAssertGreaterThan(cut, 0)
        XCTAssertGreaterThan(keys.filter { expectedFault[$0] == "429" }.count, 0)

        let report = try TeacherQueueRunner.run(store: store, options: runOptions(server, stage: "instructions",
                                                                                  subset: "self_instruct_without_topic", apiKey: apiKey))
        XCTAssertEqual(report.answered, 80 - failing.count)
        XCTAssertEqual(report.failed, failing.count)
        XCTAssertEqual(report.remaining, 0)
        // 3 examples per reply; a reply cut at the token limit loses its unterminated last one.
        XCTAssertEqual(report.generation.instructions, 3 * report.answered - cut)
        XCTAssertEqual(report.generation.truncatedExamples, cut)
        XCTAssertEqual(try store.instructionCount(subset: "self_instruct_without_topic"), Int64(3 * report.answered - cut))
        XCTAssertEqual(try store.teacherRequestCounts(), ["pending": 0, "in_flight": 0, "done": Int64(80 - failing.count),
                                                          "failed": Int64(failing.count)])
        for key in failing {
            XCTAssertEqual(try store.teacherRequest(key: queueKey[key]!)?.error,
                           "HTTP 400: This model's maximum context length is 4097 tokens (fault 400)")
        }

        let log = try server.log()
        var answeredAt: [String: Int] = [:]
        for (i, e) in log.enumerated() {
            XCTAssertEqual(e.auth, "ok")
            XCTAssertNil(answeredAt[e.key], "request \(e.key.prefix(12)) sent again after it was answered")
            if e.answered { answeredAt[e.key] = i }
        }
        XCTAssertEqual(Set(answeredAt.keys), Set(keys).subtracting(failing))
        // Every transient fault was retried; a 429's retry came no sooner than its Retry-After.
        for key in keys where expectedFault[key] == "429" {
            let times = log.filter { $0.key == key }.map(\.t)
            XCTAssertGreaterThanOrEqual(times.count, 2)
            XCTAssertGreaterThanOrEqual(times[1] - times[0], 0.95)
        }
        // Instructions are taken in request order (prompt order), whatever order replies came in.
        let order = try store.db.prepare("SELECT meta FROM instructions WHERE subset = 'self_instruct_without_topic' ORDER BY id")
        var requestOrder: [String] = []
        while try order.step() {
            let key = try JSONParser.parse(order.text(0) ?? "")["request"]?.stringValue ?? ""
            if requestOrder.last != key { requestOrder.append(key) }
        }
        XCTAssertEqual(requestOrder, keys.filter { !failing.contains($0) }.map { queueKey[$0]! })

        // Spend: the server's usage at the configured prices.
        let ledger = try store.teacherLedger()
        let done = try XCTUnwrap(ledger.first { $0.status == "done" })
        XCTAssertEqual(done.costUSD, (Double(done.promptTokens) * 0.5 + Double(done.completionTokens) * 1.5) / 1e6, accuracy: 1e-12)

        // The key went to the server and nowhere else.
        store.checkpoint()
        for file in ["herd.db", "herd.db-wal"] {
            if let bytes = FileManager.default.contents(atPath: "\(dir!)/\(file)") {
                XCTAssertNil(bytes.range(of: Data(apiKey.utf8)), "the API key is in \(file)")
            }
        }

        // Running again sends nothing; --retry-failed sends only the failed ones (which fail again).
        let again = try TeacherQueueRunner.run(store: store, options: runOptions(server, stage: "instructions",
                                                                                 subset: "self_instruct_without_topic", apiKey: apiKey))
        XCTAssertEqual(again.attempts, 0)
        XCTAssertEqual(try server.log().count, log.count)
        var retry = runOptions(server, stage: "instructions", subset: "self_instruct_without_topic", apiKey: apiKey)
        retry.retryFailed = true
        let retried = try TeacherQueueRunner.run(store: store, options: retry)
        XCTAssertEqual(retried.retriedFailed, failing.count)
        XCTAssertEqual(retried.attempts, failing.count)
        XCTAssertEqual(Set(try server.log().dropFirst(log.count).map(\.key)), failing)
    }

    /// A wrong key stops the run at once and leaves the queue as it was.
    func testWrongKeyStopsTheRun() throws {
        let server = try FaultTeacher(logPath: "\(dir!)/log.jsonl", arguments: ["--api-key", "right"])
        defer { server.stop() }
        let store = try seededStore(at: "\(dir!)/herd.db")
        var settings = TeacherSettings()
        settings.endpoint = server.endpoint
        let plan = try InstructionPlan(store: store, options: InstructionGenerationOptions(pool: .selfInstruct, topicGuided: false,
                                                                                          prompts: 5, seed: 1))
        _ = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
        XCTAssertThrowsError(try TeacherQueueRunner.run(store: store, options: runOptions(server, stage: "instructions",
                                                                                          subset: "self_instruct_without_topic",
                                                                                          apiKey: "wrong"))) {
            XCTAssertEqual("\($0)", "\(ChatRequest.url(endpoint: server.endpoint)): HTTP 401: Incorrect API key provided")
        }
        XCTAssertEqual(try store.teacherRequestCounts(), ["pending": 5, "in_flight": 0, "done": 0, "failed": 0])
    }

    /// Responses for every kept first occurrence, stored per instruction and model; the budget
    /// stops sending before the spend could pass it.
    func testResponsesAndBudget() throws {
        let server = try FaultTeacher(logPath: "\(dir!)/log.jsonl", arguments: [])
        defer { server.stop() }
        let store = try seededStore(at: "\(dir!)/herd.db")
        // A corpus subset: 10 instructions, one an exact duplicate, one dropped by the novelty filter.
        let w = try SourceWriter(store: store, uri: "corpus", sha256: SHA256.hex("corpus"), bytes: 0, format: "test")
        var ids: [Int64] = []
        for i in 0..<10 {
            ids.append(try w.add(NewInstruction(subset: "alpaca", member: nil, line: nil, record: Int64(i + 1), byteOffset: 0, task: nil,
                                                instruction: "Question \(i)?", input: i == 4 ? "context" : "", output: nil, meta: nil,
                                                normHash: Int64(100 + i)), duplicateOf: i == 9 ? ids[0] : nil))
        }
        _ = try w.commit(filtered: 0, format: "test")
        try store.db.execute("INSERT INTO novelty (instruction_id, visit, kept, best_id, score) VALUES (\(ids[3]), 1, 0, \(ids[2]), 0.8)")
        var settings = TeacherSettings()
        settings.endpoint = server.endpoint
        settings.maxTokens = 100
        let queued = try TeacherRequestQueue.enqueueResponses(subset: "alpaca", settings: settings, store: store)
        XCTAssertEqual(queued.added, 8)
        let body = try XCTUnwrap(store.teacherRequest(key: queued.open[4])).body
        XCTAssertEqual(body, #"{"model":"gpt-3.5-turbo","messages":[{"role":"system","content":"You are a helpful assistant, but you must respond the provided instructions as concise as possible."},{"role":"user","content":"Question 5?"}],"temperature":1.0,"top_p":1.0,"max_tokens":100}"#)
        XCTAssertTrue(try XCTUnwrap(store.teacherRequest(key: queued.open[3])).body.contains(#""content":"Question 4?:context""#))

        // Worst case per request: (bytes/4 prompt + 100 completion tokens) at $1000/M each ≈ $0.16;
        // a $0.5 budget lets some through and stops before it could be passed.
        var options = runOptions(server, stage: "responses", subset: "alpaca", apiKey: nil)
        options.prices = PriceTable(["gpt-3.5-turbo": .init(promptPerMillion: 1000, completionPerMillion: 1000)])
        options.teacher.concurrency = 1
        options.budgetUSD = 0.5
        let first = try TeacherQueueRunner.run(store: store, options: options)
        XCTAssertTrue(first.stoppedByBudget)
        XCTAssertGreaterThan(first.answered, 0)
        XCTAssertLessThan(first.answered, 8)
        XCTAssertLessThanOrEqual(first.totalSpentUSD, 0.5)
        XCTAssertEqual(first.remaining, Int64(8 - first.answered))
        XCTAssertEqual(try store.teacherRequestCounts()["in_flight"], 0)
        options.budgetUSD = nil
        let rest = try TeacherQueueRunner.run(store: store, options: options)
        XCTAssertEqual(first.answered + rest.answered, 8)
        XCTAssertEqual(try store.responseCount(model: "gpt-3.5-turbo"), 8)
        let s = try store.db.prepare("SELECT r.response FROM responses r WHERE r.instruction_id = ?")
        try s.bind([.int(ids[5])])
        XCTAssertTrue(try s.step())
        let serverKey = SHA256.hex(body)
        XCTAssertEqual(s.text(0), "Answer \(serverKey.prefix(12)): Question 5?")
        // Export reads the teacher's response and names the model; a row without one keeps its own.
        let rows = try store.exportRows(ids: [1, ids[5]])
        XCTAssertEqual(rows.map(\.responseSource), ["seed", "gpt-3.5-turbo"])
        XCTAssertEqual(rows.map(\.output), ["Seed output 0.", "Answer \(serverKey.prefix(12)): Question 5?"])
    }
}

final class StoredEndpointTests: XCTestCase {
    /// A key given in the endpoint URL (some gateways take it there) is not stored.
    func testCredentialsInTheEndpointAreNotStored() throws {
        let dir = NSTemporaryDirectory() + "herd-endpoint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try seededStore(at: "\(dir)/herd.db")
        var settings = TeacherSettings()
        settings.endpoint = "https://user:pa55word@gateway.example/openai?api-key=SECRET123&deployment=d1"
        XCTAssertEqual(settings.storedEndpoint, "https://gateway.example/openai?deployment=d1")
        let plan = try InstructionPlan(store: store, options: InstructionGenerationOptions(pool: .selfInstruct, topicGuided: false,
                                                                                          prompts: 3, seed: 1))
        _ = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
        store.checkpoint()
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: "\(dir)/herd.db"))
        XCTAssertNil(bytes.range(of: Data("SECRET123".utf8)))
        XCTAssertNil(bytes.range(of: Data("pa55word".utf8)))
        XCTAssertEqual(try store.teacherRequests(status: "pending").count, 3)
    }
}
