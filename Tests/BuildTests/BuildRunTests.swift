import Foundation
import Store
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The real `herd build` against the local fault teacher: killed at random points and resumed it
/// ends with the store of an unbroken build; a finished build does nothing; --plan prices a
/// scale-1.0 LaMini build; configuration errors stop it before any work.
final class BuildRunTests: XCTestCase {
    var dir: String!
    var server: Process?

    var herdPath: String {
        var url = Bundle(for: BuildRunTests.self).bundleURL
        while url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("herd").path
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var fixtures: String { repository.appendingPathComponent("fixtures").path }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-build-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: herdPath) else { throw XCTSkip("no herd binary at \(herdPath)") }
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Starts ../GenerateTests/fault_teacher.py with `arguments`; returns its endpoint.
    func startTeacher(_ arguments: [String]) throws -> String {
        let script = Self.repository.appendingPathComponent("Tests/GenerateTests/fault_teacher.py").path
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

    /// A small recipe over the bundled samples (absolute paths, so two projects ingest the same
    /// source names) with the fault teacher.
    func recipe(endpoint: String) -> String {
        let f = Self.fixtures
        return """
        [build]
        seed = 5
        max_rounds = 20

        [[ingest.sources]]
        path = "\(f)/self-instruct/seed_tasks.jsonl"

        [[ingest.sources]]
        path = "\(f)/alpaca/alpaca_data_first200.json"

        [[ingest.sources]]
        path = "\(f)/p3-jsonl"
        format = "prompt-completion"
        subset = "original_p3"

        [[ingest.sources]]
        path = "\(f)/flan/cot_qasc_train.tsv"

        [topics]
        category_dump = "\(f)/wikipedia/enwiki-2024-category-excerpt.sql.gz"

        [subsets.self_instruct_without_topic]
        kind = "generated"
        target = 16
        pool = "self_instruct"

        [subsets.self_instruct_with_topic]
        kind = "generated"
        target = 12
        pool = "self_instruct"
        topics = true

        [subsets.generated_p3]
        kind = "generated"
        target = 10
        pool = "p3"

        [subsets.alpaca]
        kind = "original"
        target = 6

        [subsets.original_p3]
        kind = "original"
        target = 9

        [subsets.original_flan]
        kind = "original"
        target = 7

        [teacher]
        endpoint = "\(endpoint)"
        model = "fault-model"
        concurrency = 4
        timeout_seconds = 5.0
        retry_base_seconds = 0.05

        [prices]
        "fault-model" = { prompt_per_million = 1.0, completion_per_million = 2.0 }

        [embed]
        model = "all-MiniLM-L6-v2"
        sample_per_subset = 40

        [project]
        perplexity = 5.0
        iterations = 100

        [audit]
        per_subset = 3

        [export]
        shard_rows = 20
        val_fraction = 0.1
        seed = 5
        """
    }

    func project(_ name: String, endpoint: String) throws -> String {
        let folder = "\(dir!)/\(name)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(recipe(endpoint: endpoint).utf8).write(to: URL(fileURLWithPath: "\(folder)/herd.toml"))
        return folder
    }

    func build(_ folder: String) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = ["build", "--config", "\(folder)/herd.toml"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    func runToEnd(_ folder: String) throws -> (status: Int32, output: String) {
        try runHerd(["build", "--config", "\(folder)/herd.toml"])
    }

    func digest(_ folder: String) throws -> String { try Store.open("\(folder)/herd.db").contentDigest().sha256 }

    func testKilledTenTimesTheBuildEndsWithTheUnbrokenStore() throws {
        // Transient faults on first attempts, and replies cut by the length limit on every attempt.
        let endpoint = try startTeacher(["--delay-ms", "40", "--examples", "5", "--diverse", "--faults", "500:0.1,close:0.05,length:0.1"])
        let unbroken = try project("unbroken", endpoint: endpoint)
        let started = Date()
        let first = try runToEnd(unbroken)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(first.status, 0, first.output)
        let expected = try digest(unbroken)

        let store = try Store.open("\(unbroken)/herd.db")
        let kept = try store.keptFirstOccurrenceCounts()
        XCTAssertGreaterThanOrEqual(kept["self_instruct_without_topic"] ?? 0, 16)
        XCTAssertGreaterThanOrEqual(kept["self_instruct_with_topic"] ?? 0, 12)
        XCTAssertGreaterThanOrEqual(kept["generated_p3"] ?? 0, 10)
        XCTAssertEqual(kept["alpaca"], 6)
        XCTAssertEqual(kept["original_p3"], 9)
        XCTAssertEqual(kept["original_flan"], 7)
        XCTAssertEqual(try store.buildStateCounts()["audit_pairs"], 18)

        // Killed ten times at points spread over the whole build, then finished. Progress is the
        // stages finished plus the share of the unbroken build's teacher answers committed;
        // attempt k is killed 0–30 ms after progress passes a random point of its tenth.
        let killed = try project("killed", endpoint: endpoint)
        let totalAnswers = Double(try store.teacherRequestCounts()["done"] ?? 1)
        func progress() throws -> Double {
            let db = try Database(path: "\(killed)/herd.db", readOnly: true)
            let stages = try db.scalarInt("SELECT count(*) FROM build_stages") ?? 0
            let done = try db.scalarInt("SELECT count(*) FROM teacher_requests WHERE status = 'done'") ?? 0
            return Double(stages) + Double(done) / totalAnswers
        }
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        var seen: [Double] = []
        for attempt in 0..<10 {
            let threshold = 11.5 * (Double(attempt) + Double.random(in: 0..<1, using: &rng)) / 10
            let p = build(killed)
            try p.run()
            while p.isRunning, (try? progress()) ?? 0 < threshold { usleep(2_000) }
            usleep(UInt32.random(in: 0...30_000, using: &rng))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); kills += 1 }
            p.waitUntilExit()
            seen.append(try progress())
        }
        print("progress after each kill: \(seen.map { String(format: "%.2f", $0) }) (unbroken build \(String(format: "%.1f", seconds)) s)")
        XCTAssertGreaterThanOrEqual(kills, 6, "the runs must have been killed mid-build")
        XCTAssertGreaterThanOrEqual(Set(seen.map { Int($0) }).count, 4, "the kills must land in many stages: \(seen)")
        let last = try runToEnd(killed)
        XCTAssertEqual(last.status, 0, last.output)
        XCTAssertEqual(try digest(killed), expected)
        // The shards are the same bytes too.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(killed)/export/manifest.json")),
                       try Data(contentsOf: URL(fileURLWithPath: "\(unbroken)/export/manifest.json")))

        // A finished build does nothing, says so, and changes nothing.
        let again = Date()
        let second = try runToEnd(killed)
        XCTAssertEqual(second.status, 0)
        XCTAssertTrue(second.output.hasPrefix("nothing to do: all 11 stages are done"), second.output)
        XCTAssertLessThan(Date().timeIntervalSince(again), 2)
        XCTAssertEqual(try digest(killed), expected)
    }

    func testPlanPricesAScaleOneLaMiniBuild() throws {
        let folder = "\(dir!)/lamini"
        let created = try runHerd(["init", folder, "--recipe", "lamini", "--scale", "1.0"])
        XCTAssertEqual(created.status, 0, created.output)
        let plan = try runHerd(["build", "--config", "\(folder)/herd.toml", "--plan", "--json"])
        XCTAssertEqual(plan.status, 0, plan.output)
        let json = try JSONSerialization.jsonObject(with: Data(plan.output.utf8)) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        func requests(_ stage: String) -> Int { rows.filter { $0["stage"] as! String == stage }.map { $0["requests"] as! Int }.reduce(0, +) }
        // Responses for all 2.58M pairs; generation at the prior yield of one half:
        // 270K/10 + 280K/10 + 300K/5 + 290K/5 prompts.
        XCTAssertEqual(requests("responses"), 2_580_000)
        XCTAssertEqual(requests("instructions"), 27_000 + 28_000 + 60_000 + 58_000)
        // The cost is the tokens at $0.50 / $1.50 per million, and the time the slower of 3,500
        // requests and 90,000 tokens a minute.
        var cost = 0.0, minutes = 0.0
        for r in rows {
            let p = r["prompt_tokens"] as! Double, c = r["completion_tokens"] as! Double
            XCTAssertEqual(r["cost_usd"] as! Double, (p * 0.5 + c * 1.5) / 1e6, accuracy: 1e-5)
            XCTAssertEqual(r["minutes"] as! Double, max(Double(r["requests"] as! Int) / 3500, (p + c) / 90_000), accuracy: 1e-5)
            cost += r["cost_usd"] as! Double
            minutes += r["minutes"] as! Double
        }
        XCTAssertEqual(json["total_cost_usd"] as! Double, cost, accuracy: 1e-4)
        XCTAssertEqual(json["total_minutes"] as! Double, minutes, accuracy: 1e-4)
        XCTAssertTrue((200.0...2000.0).contains(cost), "a scale-1.0 LaMini build at gpt-3.5-turbo prices: \(cost)")
        // A budget below the estimate refuses, without calling anyone.
        let refused = try runHerd(["build", "--config", "\(folder)/herd.toml", "--plan", "--budget", "10"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("the plan passes --budget $10.00"), refused.output)
    }

    func testConfigurationErrorsStopTheBuildBeforeAnyWork() throws {
        let folder = try project("errors", endpoint: "http://127.0.0.1:9")
        let config = "\(folder)/herd.toml"
        func expectError(_ text: String, _ fragment: String, line: Int) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: config))
            let r = try runHerd(["build", "--config", config])
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertTrue(r.output.contains("herd: error: \(config):\(line):"), r.output)
            XCTAssertTrue(r.output.contains(fragment), r.output)
            XCTAssertEqual(try Store.open("\(folder)/herd.db").buildStateCounts()["instructions"], 0, "no work may start")
        }
        let good = recipe(endpoint: "http://127.0.0.1:9")
        func lineOf(_ needle: String, in text: String) -> Int {
            text.components(separatedBy: "\n").firstIndex { $0.hasPrefix(needle) }! + 1
        }
        // Nothing listens on port 9: the endpoint is unreachable.
        try expectError(good, "teacher.endpoint: cannot reach the teacher", line: lineOf("endpoint =", in: good))
        let missing = good.replacingOccurrences(of: "alpaca_data_first200.json", with: "nowhere.json")
        try expectError(missing, "ingest.sources[1].path: \(Self.fixtures)/alpaca/nowhere.json: no such file or folder",
                        line: lineOf("path = \"\(Self.fixtures)/alpaca", in: missing))
        let unknown = good.replacingOccurrences(of: "shard_rows = 20", with: "shard_rowz = 20")
        try expectError(unknown, "unknown key export.shard_rowz (did you mean shard_rows?)", line: lineOf("shard_rowz", in: unknown))
        let wrongType = good.replacingOccurrences(of: "per_subset = 3", with: "per_subset = \"three\"")
        try expectError(wrongType, "audit.per_subset: expected an integer, found a string", line: lineOf("per_subset", in: wrongType))
        let format = good.replacingOccurrences(of: "format = \"prompt-completion\"", with: "format = \"csv\"")
        try expectError(format, "ingest.sources[2].format: unknown format \"csv\"", line: lineOf("format = \"csv\"", in: format))
        let r = try runHerd(["build", "--config", "\(dir!)/absent.toml"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.output.contains("\(dir!)/absent.toml: no such file"), r.output)
    }

    func runHerd(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }
}
