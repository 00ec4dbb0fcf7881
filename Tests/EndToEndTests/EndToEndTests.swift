import Checksums
import Foundation
import XCTest

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Runs the real `herd` binary that `swift test` built next to the test bundle.
final class EndToEndTests: XCTestCase {
    var dir: String!

    var herdPath: String {
        var url = Bundle(for: EndToEndTests.self).bundleURL
        while url.pathExtension == "xctest" || url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent("herd").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return Bundle(for: EndToEndTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("herd").path
    }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    @discardableResult
    func herd(_ args: [String], environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["HERD_STORE"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func fixture(_ rel: String) -> String { "\(repoRoot)/fixtures/\(rel)" }

    func testInitIngestStatsExport() throws {
        let r = try herd(["init", "proj"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir!)/proj/herd.toml"))
        XCTAssertNotEqual(try herd(["init", "proj"]).status, 0)
        let env = ["HERD_STORE": "proj/herd.db"]
        let ing = try herd(["ingest", fixture("alpaca/alpaca_data_first200.json"), fixture("flan/cot_qasc_train.tsv"), "--json"], environment: env)
        XCTAssertEqual(ing.status, 0, ing.stderr)
        XCTAssertTrue(ing.stdout.contains(#""records":200"#), ing.stdout)
        XCTAssertTrue(ing.stdout.contains(#""records":1084"#), ing.stdout)
        let again = try herd(["ingest", fixture("alpaca/alpaca_data_first200.json")], environment: env)
        XCTAssertTrue(again.stdout.contains("already in the store"), again.stdout)

        let stats = try herd(["stats", "--json", "--store", "proj/herd.db"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        let subsets = json["subsets"] as! [String: [String: Any]]
        XCTAssertEqual(subsets["alpaca"]?["count"] as? Int, 200)
        XCTAssertEqual(subsets["original_flan"]?["count"] as? Int, 1084)
        XCTAssertEqual((json["total"] as! [String: Any])["count"] as? Int, 1284)

        let ex = try herd(["export", "out", "--shard-rows", "500", "--val-fraction", "0.1", "--seed", "7"], environment: env)
        XCTAssertEqual(ex.status, 0, ex.stderr)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir!)/out/manifest.json"))) as! [String: Any]
        let files = manifest["files"] as! [[String: Any]]
        XCTAssertEqual(files.map { $0["name"] as! String }, [
            "train-00000-of-00003.jsonl.gz", "train-00001-of-00003.jsonl.gz", "train-00002-of-00003.jsonl.gz",
            "validation-00000-of-00001.jsonl.gz",
        ])
        for f in files {
            let path = "\(dir!)/out/\(f["name"] as! String)"
            XCTAssertEqual(try SHA256.hexOfFile(atPath: path), f["sha256"] as? String)
        }
        // Same store, same seed: byte-identical shards.
        XCTAssertEqual(try herd(["export", "out2", "--shard-rows", "500", "--val-fraction", "0.1", "--seed", "7"], environment: env).status, 0)
        for f in files {
            let name = f["name"] as! String
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/out/\(name)")),
                           try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/out2/\(name)")))
        }
    }

    /// Same inputs in the same order: byte-identical store files.
    /// The audit path through the real binary: embed a sample, project it, write the report; a
    /// rerun of embed and project does no work. Skipped without the MiniLM model (`make models`).
    func testEmbedProjectReport() throws {
        let env = ["HERD_STORE": "proj/herd.db"]
        XCTAssertEqual(try herd(["init", "proj"]).status, 0)
        XCTAssertEqual(try herd(["ingest", fixture("alpaca/alpaca_data_first200.json"), fixture("flan/cot_qasc_train.tsv")], environment: env).status, 0)
        let embed = try herd(["embed", "--sample", "40", "--per-subset", "--seed", "3", "--json"], environment: env)
        if embed.stderr.contains("make models") { throw XCTSkip(embed.stderr) }
        XCTAssertEqual(embed.status, 0, embed.stderr)
        XCTAssertTrue(embed.stdout.contains(#""selected":80,"embedded":80,"already_embedded":0"#), embed.stdout)
        let again = try herd(["embed", "--sample", "40", "--per-subset", "--seed", "3", "--json"], environment: env)
        XCTAssertTrue(again.stdout.contains(#""embedded":0,"already_embedded":80"#), again.stdout)
        let project = try herd(["project", "--perplexity", "10", "--json"], environment: env)
        XCTAssertEqual(project.status, 0, project.stderr)
        XCTAssertTrue(project.stdout.contains(#""points":80"#) && project.stdout.contains(#""reused":false"#), project.stdout)
        XCTAssertTrue(try herd(["project", "--perplexity", "10", "--json"], environment: env).stdout.contains(#""reused":true"#))
        let report = try herd(["report", "out", "--json"], environment: env)
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains(#""projection_points":80"#), report.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir!)/out/index.html"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir!)/out/report.json"))
        // Bad requests are refused before any work, with the reason.
        let bad = try herd(["embed", "--per-subset"], environment: env)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--per-subset goes with --sample"), bad.stderr)
        let noVectors = try herd(["project", "--model", "mpnet"], environment: env)
        XCTAssertNotEqual(noVectors.status, 0)
        XCTAssertTrue(noVectors.stderr.contains("no vectors of all-mpnet-base-v2 in the store: run `herd embed` first"), noVectors.stderr)
    }

    func testSameInputsGiveAByteIdenticalStore() throws {
        var digests: [String] = []
        for name in ["a", "b"] {
            XCTAssertEqual(try herd(["init", name]).status, 0)
            let r = try herd(["ingest", "--store", "\(name)/herd.db", fixture("p3/P3"), fixture("archives/flan-jsonl.zip"),
                              fixture("self-instruct/seed_tasks.jsonl")])
            XCTAssertEqual(r.status, 0, r.stderr)
            digests.append(try SHA256.hexOfFile(atPath: "\(dir!)/\(name)/herd.db"))
        }
        XCTAssertEqual(digests[0], digests[1])
    }

    func testBadInputExitsNonZeroWithLocation() throws {
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let bad = "\(dir!)/bad.jsonl"
        try Data("{\"instruction\":\"a\"}\n{\"instruction\":\n".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try herd(["ingest", "--store", "p/herd.db", "--subset", "x", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("herd: error: \(bad):2: invalid JSON"), r.stderr)
        let s = try herd(["ingest", "--store", "p/herd.db", "--subset", "x", "--skip-bad", bad])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("1 records"), s.stdout)
        XCTAssertTrue(s.stdout.contains("1 skipped"), s.stdout)
        let missingStore = try herd(["stats", "--store", "nowhere.db"])
        XCTAssertEqual(missingStore.status, 1)
        XCTAssertTrue(missingStore.stderr.contains("no Herd store here"), missingStore.stderr)
        XCTAssertNotEqual(try herd(["ingest", "--store", "p/herd.db", "--sha256", "xyz", bad]).status, 0)
    }

    func testTopicsMineListSample() throws {
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let env = ["HERD_STORE": "p/herd.db"]
        let hidden = fixture("wikipedia/hidden")
        let mine = try herd(["topics", "mine", "\(hidden)/category.sql", "--page", "\(hidden)/page.sql",
                             "--page-props", "\(hidden)/page_props.sql"], environment: env)
        XCTAssertEqual(mine.status, 0, mine.stderr)
        XCTAssertEqual(mine.stdout, """
            \(hidden)/category.sql: 16 categories read → 6 topics
              dropped: 3 with 3 or more words, 1 with 10 or fewer subcategories, 2 with 50 or fewer articles, 3 hidden, 1 maintenance by name
              hidden categories known from the dumps: 3

            """)
        let list = try herd(["topics", "list", "--json", "--limit", "2"], environment: env)
        XCTAssertEqual(list.stdout, #"[{"title":"Physics","cat_id":1,"pages":912,"articles":849,"subcats":61,"files":2,"hidden":false},"#
                       + #"{"title":"Chemistry","cat_id":2,"pages":700,"articles":660,"subcats":40,"files":0,"hidden":false}]"# + "\n")
        let sample = try herd(["topics", "sample", "3", "--seed", "7"], environment: env)
        XCTAssertEqual(sample.stdout, "Ελληνική μουσική\nPhysics\nChildren's literature\n")

        // The real excerpt: a bad dump leaves these in place.
        XCTAssertEqual(try herd(["topics", "mine", fixture("wikipedia/enwiki-2024-category-excerpt.sql")], environment: env).status, 0)
        let bad = "\(dir!)/bad.sql"
        try Data("INSERT INTO `category` VALUES (1,'Physics',912,61,2),(2,'Chem\n".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try herd(["topics", "mine", bad], environment: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "herd: error: \(bad): byte offset 56: unterminated string: no closing quote before the end of the line\n")
        XCTAssertEqual(try herd(["topics", "list"], environment: env).stdout, """
            title             articles  subcats  files
            Comedy                  63       28      0
            Sociolinguistics       226       30      0
            Geography               52       33      0

            """)
        let skipped = try herd(["topics", "mine", bad, "--skip-bad"], environment: env)
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stdout.contains("skipped 1 malformed rows (first 1):\n    \(bad): byte offset 56: unterminated"), skipped.stdout)
        let lonely = try herd(["topics", "mine", bad, "--page", "x.sql"], environment: env)
        XCTAssertEqual(lonely.status, 64)
        XCTAssertTrue(lonely.stderr.contains("--page and --page-props go together"), lonely.stderr)
    }

    func testDedupStoreAndFile() throws {
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let env = ["HERD_STORE": "p/herd.db"]
        XCTAssertEqual(try herd(["ingest", fixture("self-instruct/seed_tasks.jsonl"), fixture("alpaca/alpaca_data_first200.json"),
                                 fixture("instruction-jsonl/alpaca_first50_regenerated.jsonl"), "--subset", "alpaca"], environment: env).status, 0)
        let first = try herd(["dedup", "--json"], environment: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, #"{"instructions":425,"judged":425,"resumed":0,"restarted":false,"subsets":{"alpaca":{"kept":373,"dropped":52}},"#
                       + #""best_match_histogram":[0,0,0,0,0,67,16,1,1,50]}"# + "\n")
        let again = try herd(["dedup", "--json"], environment: env)
        XCTAssertTrue(again.stdout.hasPrefix(#"{"instructions":425,"judged":0,"resumed":425,"restarted":false"#), again.stdout)
        let table = try herd(["dedup"], environment: env)
        XCTAssertTrue(table.stdout.contains("alpaca       373        52"), table.stdout)

        let texts = "\(dir!)/texts.txt"
        try "Write a poem about the sea.\nWrite a poem about the sea!\nName three colors.\n".write(toFile: texts, atomically: true, encoding: .utf8)
        let file = try herd(["dedup", "--input", texts, "--out", "v.jsonl"])
        XCTAssertEqual(file.status, 0, file.stderr)
        XCTAssertEqual(try String(contentsOfFile: "\(dir!)/v.jsonl", encoding: .utf8), """
            {"line":1,"kept":true,"best_line":null,"score":0.0}
            {"line":2,"kept":false,"best_line":1,"score":1.0}
            {"line":3,"kept":true,"best_line":null,"score":0.0}

            """)
        let bad = try herd(["dedup", "--input", texts])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--input and --out go together"), bad.stderr)
    }

    /// kill -9 in the middle of a dedup, then run it again: the verdicts of an unbroken run.
    func testKilledDedupResumesExactly() throws {
        let topics = ["the sea", "a city", "mountains", "rivers", "music", "a robot", "history", "cooking"]
        var lines = ""
        for i in 0..<40_000 {
            lines += "{\"instruction\":\"Write \(["a poem", "a story", "an essay", "a list"][i % 4]) about \(topics[(i / 4) % 8]) "
                + "number \(i % 1000) in \(i % 7 + 3) lines\",\"input\":\"\",\"output\":\"x\"}\n"
        }
        let corpus = "\(dir!)/corpus.jsonl"
        try lines.write(toFile: corpus, atomically: true, encoding: .utf8)
        for store in ["p", "q"] {
            XCTAssertEqual(try herd(["init", store]).status, 0)
            XCTAssertEqual(try herd(["ingest", "--store", "\(store)/herd.db", "--subset", "generated", corpus]).status, 0)
        }
        let unbroken = try herd(["dedup", "--store", "q/herd.db", "--json"])
        XCTAssertEqual(unbroken.status, 0, unbroken.stderr)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = ["dedup", "--store", "p/herd.db", "--batch-size", "100"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let wal = "\(dir!)/p/herd.db-wal"
        let before = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        try p.run()
        // Wait until some batches of verdicts have landed (the WAL grows), then kill without warning.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            if size > before + 400_000 { break }
            usleep(1000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the dedup finished before it could be killed")

        let resumed = try herd(["dedup", "--store", "p/herd.db", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let r = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        let done = r["resumed"] as! Int
        XCTAssertGreaterThan(done, 0)
        XCTAssertLessThan(done, 40_000)
        XCTAssertEqual(done % 100, 0)
        XCTAssertEqual(r["judged"] as? Int, 40_000 - done)
        // Same kept/dropped counts and histogram as the unbroken run.
        let u = try JSONSerialization.jsonObject(with: Data(unbroken.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(r["subsets"] as? [String: [String: Int]], u["subsets"] as? [String: [String: Int]])
        XCTAssertEqual(r["best_match_histogram"] as? [Int], u["best_match_histogram"] as? [Int])
        // And row for row the same verdicts (read with Python's sqlite3).
        func verdicts(_ store: String) throws -> String {
            let py = Process()
            py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            py.arguments = ["python3", "-c", "import hashlib, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                            + "rows = list(c.execute('select instruction_id, visit, kept, best_id, score from novelty order by visit')); "
                            + "print(len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())",
                            "\(dir!)/\(store)/herd.db"]
            let out = Pipe()
            py.standardOutput = out
            try py.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            py.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let pRows = try verdicts("p"), qRows = try verdicts("q")
        XCTAssertTrue(pRows.hasPrefix("40000 "), pRows)
        XCTAssertEqual(pRows, qRows)
    }

    /// kill -9 in the middle of an ingest, then run it again: nothing lost, nothing twice.
    func testKilledIngestResumesExactly() throws {
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let big = "\(dir!)/big.jsonl"
        var text = ""
        text.reserveCapacity(40_000_000)
        for i in 0..<300_000 {
            text += "{\"instruction\":\"instruction number \(i) about some topic\",\"input\":\"\",\"output\":\"a response that is long enough to make the file large enough to take a while \(i)\"}\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: big))
        let small = fixture("lamini/dataset_card_examples.jsonl")
        XCTAssertEqual(try herd(["ingest", "--store", "p/herd.db", small]).status, 0)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = ["ingest", "--store", "p/herd.db", "--subset", "big", big]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until it is writing (the WAL grows), then kill it without warning.
        let wal = "\(dir!)/p/herd.db-wal"
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            if size > 2_000_000 { break }
            usleep(2000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the ingest finished before it could be killed")

        let mid = try herd(["stats", "--json", "--store", "p/herd.db"])
        XCTAssertFalse(mid.stdout.contains("\"big\""), "a killed ingest left rows behind")
        let again = try herd(["ingest", "--store", "p/herd.db", "--subset", "big", big, small, "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains(#""records":300000"#), again.stdout)
        XCTAssertTrue(again.stdout.contains(#""already_ingested":true"#), again.stdout)
        let stats = try herd(["stats", "--json", "--store", "p/herd.db"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(((json["subsets"] as! [String: [String: Any]])["big"])?["count"] as? Int, 300_000)
        XCTAssertEqual((json["total"] as! [String: Any])["count"] as? Int, 300_002)
    }

    /// http(s) inputs go through libcurl into the store's cache, then ingest like files.
    func testIngestFromURL() throws {
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
            import http.server, functools, sys
            h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """, "\(repoRoot)/fixtures"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var portText = ""
        while !portText.hasSuffix("\n") {
            let d = out.fileHandleForReading.readData(ofLength: 1)
            if d.isEmpty { break }
            portText += String(decoding: d, as: UTF8.self)
        }
        let port = portText.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "http://127.0.0.1:\(port)/alpaca/alpaca_data_first200.json"
        let sha = try SHA256.hexOfFile(atPath: fixture("alpaca/alpaca_data_first200.json"))
        let bad = try herd(["ingest", "--store", "p/herd.db", "--sha256", String(repeating: "a", count: 64), url])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("sha256 mismatch"), bad.stderr)
        let r = try herd(["ingest", "--store", "p/herd.db", "--sha256", sha, url, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""records":200"#), r.stdout)
        XCTAssertTrue(r.stdout.contains(#""uri":"\#(url)""#), r.stdout)
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension EndToEndTests {
    /// `herd audit`: draw a sample, rate through the running app (killed with SIGKILL right after,
    /// the rating is already in the store), export, import into a second store, status.
    func testAuditSampleServeExportImport() throws {
        let fixturePath = fixture("alpaca/alpaca_data_first200.json")
        for store in ["a/herd.db", "b/herd.db"] {
            XCTAssertEqual(try herd(["init", String(store.prefix(1))]).status, 0)
            XCTAssertEqual(try herd(["ingest", fixturePath, "--store", store]).status, 0)
            let sample = try herd(["audit", "sample", "--per-subset", "5", "--seed", "3", "--json", "--store", store])
            XCTAssertEqual(sample.status, 0, sample.stderr)
            XCTAssertTrue(sample.stdout.contains(#""pairs":5,"dropped_ratings":0"#), sample.stdout)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: herdPath)
        p.arguments = ["audit", "serve", "--port", "0", "--rater", "ann", "--store", "a/herd.db"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let banner = String(decoding: line, as: UTF8.self)
        guard let start = banner.range(of: "http://127.0.0.1:"), let end = banner[start.upperBound...].firstIndex(of: "/") else {
            return XCTFail("no address in \(banner.debugDescription)")
        }
        let base = String(banner[start.lowerBound..<end])
        var request = URLRequest(url: URL(string: base + "/api/ratings/2")!)
        request.httpMethod = "PUT"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"grade":"C","note":"wrong year, \"1492\""}"#.utf8)
        let done = DispatchSemaphore(value: 0)
        var status = 0
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode ?? -1
            done.signal()
        }.resume()
        done.wait()
        XCTAssertEqual(status, 200)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()

        let csv = try herd(["audit", "export", "--store", "a/herd.db"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let lines = csv.stdout.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "position,instruction_id,subset,kind,rater,grade,note")
        XCTAssertTrue(lines[1].hasPrefix("2,") && lines[1].hasSuffix(",alpaca,human,ann,C,\"wrong year, \"\"1492\"\"\""), lines[1])
        try Data(csv.stdout.utf8).write(to: URL(fileURLWithPath: "\(dir!)/ratings.csv"))
        let imported = try herd(["audit", "import", "ratings.csv", "--store", "b/herd.db", "--json"])
        XCTAssertEqual(imported.stdout, #"{"rows":1,"added":1,"changed":0,"unchanged":0,"skipped":0,"skip_reasons":[]}"# + "\n")
        XCTAssertEqual(try herd(["audit", "export", "--store", "b/herd.db"]).stdout, csv.stdout)

        let status2 = try herd(["audit", "status", "--json", "--store", "b/herd.db"])
        XCTAssertEqual(status2.stdout, #"{"sample":{"seed":3,"per_subset":5,"pairs":5},"ratings":{"subsets":[{"subset":"alpaca","pairs":5,"#
                       + #""human":{"A":0,"B":0,"C":1,"D":0},"judge":{"A":0,"B":0,"C":0,"D":0},"judge_unparsable":0,"both":0,"agreement":null}]}}"# + "\n")
        let bad = try herd(["audit", "import", fixturePath, "--store", "b/herd.db"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("herd: error: \(fixturePath):1: no instruction_id column"), bad.stderr)
        let judgeless = try herd(["audit", "judge", "--store", "b/herd.db", "--teacher", "m", "--model", "n"])
        XCTAssertNotEqual(judgeless.status, 0)
        XCTAssertTrue(judgeless.stderr.contains("--teacher and --model name the same thing"), judgeless.stderr)
    }
}

extension EndToEndTests {
    /// With no endpoint anywhere, `herd generate` uses the built-in teacher: responses stored,
    /// tokens in the ledger at cost 0, and a second run asks nothing again.
    func testBuiltInTeacherAnswersOffline() throws {
        let models = ProcessInfo.processInfo.environment["HERD_MODELS"] ?? NSHomeDirectory() + "/.cache/herd/models"
        guard FileManager.default.fileExists(atPath: "\(models)/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf") else {
            throw XCTSkip("run make models")
        }
        XCTAssertEqual(try herd(["init", "p"]).status, 0)
        let rows = #"[{"instruction":"Name a colour.","input":"","output":""},{"instruction":"Add 2 and 3.","input":"","output":""},"#
            + #"{"instruction":"Translate to French","input":"good morning","output":""}]"#
        try Data(rows.utf8).write(to: URL(fileURLWithPath: "\(dir!)/three.json"))
        let env = ["HERD_STORE": "p/herd.db"]
        XCTAssertEqual(try herd(["ingest", "three.json"], environment: env).status, 0)
        let run = try herd(["generate", "responses", "--max-tokens", "24", "--temperature", "0", "--json"], environment: env)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains(#""answered":3,"failed":0"#), run.stdout)
        XCTAssertTrue(run.stdout.contains(#""responses":3"#), run.stdout)
        let status = try herd(["generate", "status", "--json"], environment: env)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any]
        let ledger = try XCTUnwrap(json["ledger"] as? [[String: Any]])
        XCTAssertEqual(ledger.first?["model"] as? String, "SmolLM2-135M-Instruct")
        XCTAssertEqual((ledger.first?["cost_usd"] as? NSNumber)?.doubleValue, 0)
        XCTAssertGreaterThan((ledger.first?["completion_tokens"] as? NSNumber)?.intValue ?? 0, 3)
        let again = try herd(["generate", "responses", "--max-tokens", "24", "--temperature", "0", "--json"], environment: env)
        XCTAssertTrue(again.stdout.contains(#""queued":0,"#) && again.stdout.contains(#""answered":0,"#), again.stdout)
        let bad = try herd(["generate", "responses", "--teacher", "local", "--endpoint", "http://x"], environment: env)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--teacher local runs the built-in model; it takes no --endpoint"), bad.stderr)
    }
}
