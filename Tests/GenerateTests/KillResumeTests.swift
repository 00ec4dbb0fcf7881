import Checksums
import Foundation
import Store
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `herd generate instructions` killed with SIGKILL mid-run and started again ends with the same
/// store as an uninterrupted run, and never re-sends a request whose answer it had committed.
final class KillResumeTests: XCTestCase {
    var dir: String!

    var herdPath: String {
        var url = Bundle(for: KillResumeTests.self).bundleURL
        while url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("herd").path
    }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-kill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: herdPath) else { throw XCTSkip("no herd binary at \(herdPath)") }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static let serverArguments = ["--delay-ms", "100", "--faults", "500:0.1,close:0.05,length:0.1,400:0.05"]

    func generate(store: String, endpoint: String) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = ["generate", "instructions", "--store", store, "--endpoint", endpoint, "--prompts", "150", "--seed", "7",
                       "--concurrency", "4", "--timeout", "5", "--retry-base", "0.05", "--json"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    func doneKeys(_ store: String) throws -> Set<String> {
        let db = try Database(path: store, readOnly: true)
        let s = try db.prepare("SELECT body FROM teacher_requests WHERE status = 'done'")
        var keys = Set<String>()
        while try s.step() { keys.insert(SHA256.hex(s.text(0) ?? "")) } // the server's key: sha256 of the body
        return keys
    }

    func digest(_ store: String) throws -> String {
        try Store.open(store).contentDigest().sha256
    }

    func testKilledRunsResumeToTheSameStore() throws {
        let killed = "\(dir!)/killed.db", unbroken = "\(dir!)/unbroken.db"
        _ = try seededStore(at: killed)
        _ = try seededStore(at: unbroken)

        var server = try FaultTeacher(logPath: "\(dir!)/killed-log.jsonl", arguments: Self.serverArguments)
        let port = server.port
        // Two kills: once after 35 answers, once after 90.
        var committedAtKill: [(logCount: Int, done: Set<String>)] = []
        for threshold in [35, 90] {
            let p = generate(store: killed, endpoint: server.endpoint)
            try p.run()
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning, Date() < deadline, (try? doneKeys(killed).count) ?? 0 < threshold { usleep(20_000) }
            XCTAssertTrue(p.isRunning, "the run finished before it could be killed")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal)
            committedAtKill.append((try server.log().count, try doneKeys(killed)))
        }
        let last = generate(store: killed, endpoint: server.endpoint)
        try last.run()
        last.waitUntilExit()
        XCTAssertEqual(last.terminationStatus, 0)
        let log = try server.log()
        server.stop()
        // After each kill, nothing the store had committed was asked again.
        for (count, done) in committedAtKill {
            let resent = log.dropFirst(count).filter { done.contains($0.key) }
            XCTAssertTrue(resent.isEmpty, "\(resent.count) requests answered before the kill were sent again")
        }

        server = try FaultTeacher(logPath: "\(dir!)/unbroken-log.jsonl", arguments: Self.serverArguments + ["--port", String(port)])
        defer { server.stop() }
        let whole = generate(store: unbroken, endpoint: server.endpoint)
        try whole.run()
        whole.waitUntilExit()
        XCTAssertEqual(whole.terminationStatus, 0)

        let store = try Store.open(killed)
        XCTAssertEqual(try store.teacherRequestCounts()["pending"], 0)
        XCTAssertEqual(try store.teacherRequestCounts()["in_flight"], 0)
        XCTAssertGreaterThan(try store.instructionCount(subset: "self_instruct_without_topic"), 300)
        XCTAssertEqual(try digest(killed), try digest(unbroken))
    }
}
