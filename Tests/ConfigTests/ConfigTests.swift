import Foundation
import XCTest
@testable import Config
import Project
import TOML

final class HerdConfigTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "herd-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `text` to a new file in the test's directory and returns its path.
    private func write(_ text: String, name: String = "herd.toml") throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Loading `text` must fail with exactly "FILE:line:column: message".
    private func assertLoadError(_ text: String, _ line: Int, _ column: Int, _ message: String,
                                 file: StaticString = #filePath, testLine: UInt = #line) throws {
        let path = try write(text)
        XCTAssertThrowsError(try HerdConfig.load(path: path), file: file, line: testLine) { error in
            XCTAssertEqual(error as? TOMLError, TOMLError(file: path, line: line, column: column, message: message),
                           file: file, line: testLine)
            XCTAssertEqual("\(error)", "\(path):\(line):\(column): \(message)", file: file, line: testLine)
        }
    }

    // MARK: valid files

    static let full = """
    # A project that uses every teacher setting.
    [store]
    path = "data/herd.db"

    [teacher]
    endpoint = "https://api.openai.com/v1/chat/completions"
    model = "gpt-3.5-turbo"
    api_key_env = "OPENAI_API_KEY"
    temperature = 0.7
    top_p = 1              # an integer where a float is expected is fine
    max_tokens = 512
    concurrency = 16
    requests_per_minute = 3500
    tokens_per_minute = 90_000.5
    timeout_seconds = 120
    max_attempts = 6
    retry_base_seconds = 0.25

    [prices."gpt-3.5-turbo"]
    prompt_per_million = 0.5
    completion_per_million = 1.5

    [prices."gpt-4o-mini"]
    prompt_per_million = 0
    completion_per_million = 0.6
    """

    func testFullFile() throws {
        let path = try write(Self.full)
        let config = try HerdConfig.load(path: path)
        var teacher = TeacherConfig()
        teacher.endpoint = "https://api.openai.com/v1/chat/completions"
        teacher.model = "gpt-3.5-turbo"
        teacher.apiKeyEnv = "OPENAI_API_KEY"
        teacher.temperature = 0.7
        teacher.topP = 1
        teacher.maxTokens = 512
        teacher.concurrency = 16
        teacher.requestsPerMinute = 3500
        teacher.tokensPerMinute = 90_000.5
        teacher.timeoutSeconds = 120
        teacher.maxAttempts = 6
        teacher.retryBaseSeconds = 0.25
        XCTAssertEqual(config.teacher, teacher)
        // Field by field too, so that a failure names the field.
        XCTAssertEqual(config.teacher.endpoint, "https://api.openai.com/v1/chat/completions")
        XCTAssertEqual(config.teacher.model, "gpt-3.5-turbo")
        XCTAssertEqual(config.teacher.apiKeyEnv, "OPENAI_API_KEY")
        XCTAssertEqual(config.teacher.temperature, 0.7)
        XCTAssertEqual(config.teacher.topP, 1.0)
        XCTAssertEqual(config.teacher.maxTokens, 512)
        XCTAssertEqual(config.teacher.concurrency, 16)
        XCTAssertEqual(config.teacher.requestsPerMinute, 3500)
        XCTAssertEqual(config.teacher.tokensPerMinute, 90_000.5)
        XCTAssertEqual(config.teacher.timeoutSeconds, 120)
        XCTAssertEqual(config.teacher.maxAttempts, 6)
        XCTAssertEqual(config.teacher.retryBaseSeconds, 0.25)
        XCTAssertEqual(config.prices, [
            "gpt-3.5-turbo": ModelPrice(promptPerMillion: 0.5, completionPerMillion: 1.5),
            "gpt-4o-mini": ModelPrice(promptPerMillion: 0, completionPerMillion: 0.6),
        ])
        XCTAssertEqual(config.path, path)

        var expected = HerdConfig()
        expected.teacher = teacher
        expected.prices = config.prices
        expected.path = path
        XCTAssertEqual(config, expected)
    }

    func testPartialTeacherAndOtherSpellings() throws {
        // Dotted keys and inline tables mean the same as [headers]; absent keys stay nil.
        let path = try write("""
        teacher.model = "llama3"
        teacher.concurrency = 1
        prices = { "llama3" = { prompt_per_million = 0, completion_per_million = 0 }, mini = { completion_per_million = 2, prompt_per_million = 1 } }
        """)
        let config = try HerdConfig.load(path: path)
        var teacher = TeacherConfig()
        teacher.model = "llama3"
        teacher.concurrency = 1
        XCTAssertEqual(config.teacher, teacher)
        XCTAssertNil(config.teacher.endpoint)
        XCTAssertNil(config.teacher.temperature)
        XCTAssertEqual(config.prices, [
            "llama3": ModelPrice(promptPerMillion: 0, completionPerMillion: 0),
            "mini": ModelPrice(promptPerMillion: 1, completionPerMillion: 2),
        ])
    }

    func testEmptyFileAndEmptyTables() throws {
        let empty = try HerdConfig.load(path: try write("", name: "empty.toml"))
        XCTAssertEqual(empty.teacher, TeacherConfig())
        XCTAssertEqual(empty.prices, [:])
        XCTAssertEqual(empty.path, (directory as NSString).appendingPathComponent("empty.toml"))

        let tables = try HerdConfig.load(path: try write("[teacher]\n[prices]\n[store]\n[ingest]\n[export]\n"))
        XCTAssertEqual(tables.teacher, TeacherConfig())
        XCTAssertEqual(tables.prices, [:])
    }

    func testStoreIngestExportKeysAreAccepted() throws {
        let path = try write("""
        [store]
        path = "herd.db"
        [ingest]
        format = "auto"
        skip_bad = false
        [export]
        out = "export"
        shard_rows = 100000
        compression = "gzip"
        val_fraction = 0.0
        seed = 0
        subsets = []
        include_duplicates = false
        """)
        let config = try HerdConfig.load(path: path)
        XCTAssertEqual(config.teacher, TeacherConfig())
        XCTAssertEqual(config.prices, [:])
        XCTAssertEqual(config.path, path)
    }

    /// The text `herd init` writes.
    static let defaultConfig = Project.defaultConfig

    func testDefaultFileOfHerdInit() throws {
        let path = try write(Self.defaultConfig)
        let config = try HerdConfig.load(path: path)
        XCTAssertEqual(config.teacher, TeacherConfig())
        XCTAssertEqual(config.prices, [:])
        XCTAssertEqual(config.path, path)
        // Uncommenting every default must still load.
        let uncommented = Self.defaultConfig.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("# ") && line.contains(" = ") ? String(line.dropFirst(2)) : String(line)
        }.joined(separator: "\n")
        XCTAssertTrue(uncommented.contains("\ncompression = \"gzip\""))
        let full = try HerdConfig.load(path: try write(uncommented, name: "uncommented.toml"))
        XCTAssertEqual(full.teacher.model, "gpt-3.5-turbo")
        XCTAssertEqual(full.teacher.apiKeyEnv, "OPENAI_API_KEY")
        XCTAssertEqual(full.teacher.requestsPerMinute, 3500)
        XCTAssertEqual(full.prices, ["gpt-3.5-turbo": ModelPrice(promptPerMillion: 0.5, completionPerMillion: 1.5)])
    }

    // MARK: errors

    func testUnknownTopLevelTable() throws {
        try assertLoadError("[teacher]\nmodel = \"m\"\n\n[server]\nport = 8080\n", 4, 2,
                            "unknown key server (known keys: audit, build, embed, export, generate, ingest, novelty, prices, project, report, responses, store, subsets, teacher, topics)")
        try assertLoadError("[techer]\nmodel = \"m\"\n", 1, 2, "unknown key techer (did you mean teacher?)")
        try assertLoadError("version = 2\n", 1, 1, "unknown key version (known keys: audit, build, embed, export, generate, ingest, novelty, prices, project, report, responses, store, subsets, teacher, topics)")
    }

    func testUnknownKeyInATable() throws {
        try assertLoadError("""
        [teacher]
        model = "gpt-4o"
        endpont = "https://example.com/v1/chat/completions"
        """, 3, 1, "unknown key teacher.endpont (did you mean endpoint?)")
        try assertLoadError("[teacher]\n  rpm = 500\n", 2, 3, """
        unknown key teacher.rpm (known keys: endpoint, model, api_key_env, temperature, top_p, max_tokens, \
        concurrency, requests_per_minute, tokens_per_minute, timeout_seconds, max_attempts, retry_base_seconds)
        """)
        try assertLoadError("[store]\npth = \"x.db\"\n", 2, 1, "unknown key store.pth (did you mean path?)")
        try assertLoadError("[export]\nshards_rows = 5\n", 2, 1, "unknown key export.shards_rows (did you mean shard_rows?)")
        try assertLoadError("[prices.\"gpt-4o\"]\nprompt_per_million = 1\ncompletion_per_million = 2\ncached_per_million = 0.5\n",
                            4, 1, "unknown key prices.gpt-4o.cached_per_million (known keys: prompt_per_million, completion_per_million)")
    }

    /// When several tables have unknown keys, the one written first is reported, on every run.
    func testFirstUnknownKeyInFileOrder() throws {
        try assertLoadError("""
        [teacher]
        modle = "m"
        [store]
        pth = "x"
        [ingest]
        formt = "auto"
        [export]
        ot = "e"
        """, 2, 1, "unknown key teacher.modle (did you mean model?)")
    }

    func testWrongTypes() throws {
        try assertLoadError("[teacher]\ntemperature = \"hot\"\n", 2, 1, "teacher.temperature: expected a float, found a string")
        try assertLoadError("[teacher]\nmax_tokens = 1.5\n", 2, 1, "teacher.max_tokens: expected an integer, found a float")
        try assertLoadError("[teacher]\nmodel = [\"a\"]\n", 2, 1, "teacher.model: expected a string, found an array")
        try assertLoadError("[teacher]\nconcurrency = true\n", 2, 1, "teacher.concurrency: expected an integer, found a boolean")
        try assertLoadError("teacher = \"gpt-4o\"\n", 1, 1, "teacher: expected a table, found a string")
        try assertLoadError("[prices]\n\"gpt-4o\" = 2.5\n", 2, 1, "prices.gpt-4o: expected a table, found a float")
        try assertLoadError("[prices.mini]\nprompt_per_million = \"0.15\"\ncompletion_per_million = 0.6\n", 2, 1,
                            "prices.mini.prompt_per_million: expected a float, found a string")
    }

    func testOutOfRangeValues() throws {
        try assertLoadError("[teacher]\nmodel = \"m\"\nconcurrency = 0\n", 3, 1, "teacher.concurrency: must be at least 1")
        try assertLoadError("[teacher]\nmax_tokens = -5\n", 2, 1, "teacher.max_tokens: must be at least 1")
        try assertLoadError("[teacher]\nmax_attempts = 0\n", 2, 1, "teacher.max_attempts: must be at least 1")
        try assertLoadError("[teacher]\nrequests_per_minute = 0\n", 2, 1, "teacher.requests_per_minute: must be positive")
        try assertLoadError("[teacher]\ntokens_per_minute = -1.5\n", 2, 1, "teacher.tokens_per_minute: must be positive")
        try assertLoadError("[teacher]\ntimeout_seconds = 0.0\n", 2, 1, "teacher.timeout_seconds: must be positive")
    }

    func testPriceTableMissingAKey() throws {
        try assertLoadError("""
        [teacher]
        model = "gpt-3.5-turbo"

        [prices."gpt-3.5-turbo"]
        prompt_per_million = 0.5
        """, 4, 1, #"prices."gpt-3.5-turbo".completion_per_million: missing"#)
        try assertLoadError("[prices.mini]\ncompletion_per_million = 0.6\n", 1, 1, "prices.mini.prompt_per_million: missing")
    }

    func testNegativePrice() throws {
        try assertLoadError("""
        [prices."gpt-4o"]
        prompt_per_million = 2.5
        completion_per_million = -10
        """, 3, 1, "prices.gpt-4o.completion_per_million: must not be negative")
        try assertLoadError("[prices.a]\nprompt_per_million = -0.01\ncompletion_per_million = 1\n", 2, 1,
                            "prices.a.prompt_per_million: must not be negative")
    }

    func testSyntaxError() throws {
        try assertLoadError("[teacher]\nmodel \"gpt-4o\"\n", 2, 7, #"expected '=' after key "model", found '"'"#)
        try assertLoadError("[teacher]\nmodel = \"gpt-4o\nconcurrency = 4\n", 2, 9, "unterminated string")
        try assertLoadError("[teacher]\nconcurrency = 4\n[teacher]\n", 3, 1, "duplicate table [teacher] (first defined at line 1)")
    }

    func testMissingFileAndDirectory() throws {
        let missing = (directory as NSString).appendingPathComponent("nope.toml")
        XCTAssertThrowsError(try HerdConfig.load(path: missing)) { error in
            XCTAssertEqual(error as? TOMLError, TOMLError(file: missing, line: 0, column: 0, message: "no such file"))
            XCTAssertEqual("\(error)", "\(missing): no such file")
        }
        XCTAssertThrowsError(try HerdConfig.load(path: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory): is a directory, not a TOML file")
        }
    }

    // MARK: resolvePath

    func testResolvePath() throws {
        let store = (directory as NSString).appendingPathComponent("herd.db")
        let beside = (directory as NSString).appendingPathComponent("herd.toml")
        // No herd.toml beside the store: none.
        XCTAssertNil(HerdConfig.resolvePath(explicit: nil, storePath: store))
        // An explicit path wins, whether or not it exists.
        XCTAssertEqual(HerdConfig.resolvePath(explicit: "/elsewhere/custom.toml", storePath: store), "/elsewhere/custom.toml")
        _ = try write("[teacher]\n")
        XCTAssertEqual(HerdConfig.resolvePath(explicit: nil, storePath: store), beside)
        XCTAssertEqual(HerdConfig.resolvePath(explicit: "/elsewhere/custom.toml", storePath: store), "/elsewhere/custom.toml")
        // The store file itself need not exist; only its folder matters.
        XCTAssertEqual(HerdConfig.resolvePath(explicit: nil, storePath: (directory as NSString).appendingPathComponent("other.db")), beside)
        // A store in another folder does not see this herd.toml.
        let sub = (directory as NSString).appendingPathComponent("sub")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        XCTAssertNil(HerdConfig.resolvePath(explicit: nil, storePath: (sub as NSString).appendingPathComponent("herd.db")))
    }
}
