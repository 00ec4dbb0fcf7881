import Audit
@testable import AuditApp
import FastJSON
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Store
import XCTest

/// The rating app over real HTTP on 127.0.0.1, and its page driven in headless Chromium.
final class AuditAppTests: XCTestCase {
    var dir: String!
    var server: AuditServer?
    var serving: Task<Void, Error>?

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-audit-app-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        await server?.stop()
        serving?.cancel()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A store of 2 subsets × 3 pairs, all sampled; the app serving it for "ann". Returns its base URL.
    func startApp() async throws -> String {
        let store = try Store.create(at: "\(dir!)/herd.db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "a", count: 64), bytes: 0, format: "test")
        for k in 0..<6 {
            _ = try w.add(NewInstruction(subset: k % 2 == 0 ? "alpaca" : "original_flan", member: nil, line: Int64(k + 1),
                                         record: Int64(k + 1), byteOffset: 0, task: nil,
                                         instruction: "Instruction \(k) <b>not bold</b>", input: k == 1 ? "the input" : "",
                                         output: "Response \(k)", meta: nil, normHash: Int64(k)), duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "test")
        try AuditSampler.draw(store: store, perSubset: 3, seed: 11)
        let server = try AuditServer(store: store, rater: "ann", port: 0)
        self.server = server
        serving = Task { try await server.run() }
        return "http://127.0.0.1:\(try await server.waitForPort())"
    }

    struct Reply { var status: Int; var body: JSONValue?; var headers: [String: String]; var text: String }

    func request(_ method: String, _ url: String, json: String? = nil, contentType: String? = "application/json",
                 host: String? = nil) async throws -> Reply {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        if let json {
            r.httpBody = Data(json.utf8)
            if let contentType { r.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        if let host { r.setValue(host, forHTTPHeaderField: "Host") }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, body: try? JSONParser.parse(Array(data)), headers: headers,
                     text: String(decoding: data, as: UTF8.self))
    }

    /// Ratings as another connection to the store sees them: committed, not just in the app's memory.
    func committed() throws -> [String] {
        try Store.open("\(dir!)/herd.db").ratings().map { "\($0.position) \($0.rating.rater) \($0.rating.grade ?? "-") \($0.rating.note)" }
    }

    func testRatingsRoundTripOverHTTP() async throws {
        let base = try await startApp()
        let page = try await request("GET", base + "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
        XCTAssertTrue(page.text.contains("<title>Herd rating</title>"))

        var state = try await request("GET", base + "/api/state")
        XCTAssertEqual(state.body?["total"], .number("6"))
        XCTAssertEqual(state.body?["rated"], .number("0"))
        XCTAssertEqual(state.body?["next_unrated"], .number("0"))
        XCTAssertEqual(state.body?["rater"], .string("ann"))

        let places = try Store.open("\(dir!)/herd.db").auditPlaces()
        let pair = try await request("GET", base + "/api/pairs/2")
        XCTAssertEqual(pair.body?["position"], .number("2"))
        XCTAssertEqual(pair.body?["instruction_id"], .number(String(places[2].instructionID)))
        XCTAssertEqual(pair.body?["instruction"], .string("Instruction \(places[2].instructionID - 1) <b>not bold</b>"))
        XCTAssertEqual(pair.body?["rating"], .null)

        // Rate pair 0 (committed before the reply), then pair 1 with a note; change pair 0.
        var rated = try await request("PUT", base + "/api/ratings/0", json: #"{"grade":"B","note":""}"#)
        XCTAssertEqual(rated.status, 200)
        XCTAssertEqual(rated.body?["rating"]?["grade"], .string("B"))
        XCTAssertEqual(rated.body?["state"]?["next_unrated"], .number("1"))
        XCTAssertEqual(try committed(), ["0 ann B "])
        rated = try await request("PUT", base + "/api/ratings/1", json: #"{"grade":"D","note":"wrong \"unit\"\nsee line 2"}"#)
        XCTAssertEqual(rated.body?["state"]?["next_unrated"], .number("2"))
        rated = try await request("PUT", base + "/api/ratings/0", json: #"{"grade":"A","note":"on second thought"}"#)
        XCTAssertEqual(rated.body?["state"]?["rated"], .number("2"))
        XCTAssertEqual(rated.body?["state"]?["counts"]?["A"], .number("1"))
        XCTAssertEqual(rated.body?["state"]?["next_unrated"], .number("2"))
        XCTAssertEqual(try committed(), ["0 ann A on second thought", "1 ann D wrong \"unit\"\nsee line 2"])
        let shown = try await request("GET", base + "/api/pairs/1")
        XCTAssertEqual(shown.body?["rating"]?["note"], .string("wrong \"unit\"\nsee line 2"))

        // Undo of a first rating deletes it.
        let undone = try await request("DELETE", base + "/api/ratings/1")
        XCTAssertEqual(undone.body?["rating"], .null)
        XCTAssertEqual(undone.body?["state"]?["next_unrated"], .number("1"))
        XCTAssertEqual(try committed(), ["0 ann A on second thought"])

        // Rated in any order, the next unrated wraps round; when all are rated it is null.
        for p in [5, 4, 3, 2, 1] { _ = try await request("PUT", base + "/api/ratings/\(p)", json: #"{"grade":"C"}"#) }
        state = try await request("GET", base + "/api/state")
        XCTAssertEqual(state.body?["rated"], .number("6"))
        XCTAssertEqual(state.body?["next_unrated"], .null)

        // Refusals: each with a reason, and nothing changed.
        let before = try committed()
        let refusals: [(Reply, Int, String)] = [
            (try await request("PUT", base + "/api/ratings/0", json: #"{"grade":"E"}"#), 400, "grade \"E\": expected A, B, C or D"),
            (try await request("PUT", base + "/api/ratings/0", json: "not json"), 400,
             "expected a JSON object with a grade (A, B, C or D) and a note"),
            (try await request("PUT", base + "/api/ratings/0", json: "grade=A", contentType: "application/x-www-form-urlencoded"), 415,
             "send the rating as application/json"),
            (try await request("PUT", base + "/api/ratings/6", json: #"{"grade":"A"}"#), 404,
             "no pair at position 6; the sample has positions 0 to 5"),
            (try await request("GET", base + "/api/pairs/x"), 404, "position \"x\" is not a number"),
            (try await request("POST", base + "/api/ratings/0", json: #"{"grade":"A"}"#), 405, "POST is not allowed on /api/ratings/0"),
            (try await request("GET", base + "/elsewhere"), 404, "no such page: /elsewhere"),
            (try await request("GET", base + "/api/state", host: "attacker.example:80"), 403,
             "the rating app answers requests to 127.0.0.1 or localhost only"),
        ]
        for (reply, status, message) in refusals {
            XCTAssertEqual(reply.status, status, message)
            XCTAssertEqual(reply.body?["error"], .string(message))
        }
        XCTAssertEqual(try committed(), before)
        XCTAssertTrue(AuditHandler.isLoopback(host: "localhost:8765"))
        XCTAssertTrue(AuditHandler.isLoopback(host: "[::1]:8765"))
        XCTAssertFalse(AuditHandler.isLoopback(host: "127.0.0.1.attacker.example"))
        XCTAssertFalse(AuditHandler.isLoopback(host: nil))
    }

    func testPageInHeadlessChromium() async throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("chromium is not installed (apt-get install -y chromium)")
        }
        let base = try await startApp()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("drive_rating_page.py").path
        let out = "\(dir!)/drive.json"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, base + "/", chromium, out]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let errText = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: errText, as: UTF8.self))
        let result = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        XCTAssertEqual(result["errors"], .array([]), "the page logs no error")
        guard case let .array(snapshots)? = result["snapshots"] else { return XCTFail("no snapshots") }
        func show(_ s: JSONValue) -> String {
            let chosen: String
            if case let .array(c)? = s["chosen"] { chosen = c.compactMap(\.stringValue).joined() } else { chosen = "?" }
            return [s["step"]?.stringValue, s["status"]?.stringValue, s["position"]?.stringValue, s["progress"]?.stringValue,
                    "note=" + (s["note"]?.stringValue ?? "?"), "chosen=" + chosen].compactMap { $0 }.joined(separator: " | ")
        }
        XCTAssertEqual(snapshots.map(show), [
            "opened | ready | Pair 1 of 6 | Rated 0 of 6 · A 0 · B 0 · C 0 · D 0 | note= | chosen=",
            "rated B | ready | Pair 2 of 6 | Rated 1 of 6 · A 0 · B 1 · C 0 · D 0 | note= | chosen=",
            "rated C with a note | ready | Pair 3 of 6 | Rated 2 of 6 · A 0 · B 1 · C 1 · D 0 | note= | chosen=",
            "undone | ready | Pair 2 of 6 | Rated 1 of 6 · A 0 · B 1 · C 0 · D 0 | note= | chosen=",
            "rated A | ready | Pair 3 of 6 | Rated 2 of 6 · A 1 · B 1 · C 0 · D 0 | note= | chosen=",
            "back | ready | Pair 2 of 6 | Rated 2 of 6 · A 1 · B 1 · C 0 · D 0 | note= | chosen=A",
            "changed to D | ready | Pair 3 of 6 | Rated 2 of 6 · A 0 · B 1 · C 0 · D 1 | note= | chosen=",
            "undone to A | ready | Pair 2 of 6 | Rated 2 of 6 · A 1 · B 1 · C 0 · D 0 | note= | chosen=A",
            "reloaded | ready | Pair 3 of 6 | Rated 2 of 6 · A 1 · B 1 · C 0 · D 0 | note= | chosen=",
        ])
        // Texts are shown as text, never as markup; the input box only where there is an input.
        let places = try Store.open("\(dir!)/herd.db").auditPlaces()
        XCTAssertEqual(snapshots[0]["instruction"], .string("Instruction \(places[0].instructionID - 1) <b>not bold</b>"))
        XCTAssertEqual(snapshots[0]["input_hidden"], .bool(places[0].instructionID != 2))
        XCTAssertEqual(snapshots[0]["visible"], .bool(true))
        XCTAssertEqual(try committed(), ["0 ann B ", "1 ann A "])
    }
}
