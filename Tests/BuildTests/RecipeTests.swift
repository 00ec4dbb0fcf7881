import Build
import Config
import Foundation
import Project
import TOML
import XCTest

/// `herd init --recipe lamini`: the paper's targets at any scale, a config every key of which the
/// schema describes, and errors that name the key and line.
final class RecipeTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-recipe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ text: String, _ name: String = "herd.toml") throws -> String {
        let path = "\(dir!)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func targets(scale: Double) throws -> [String: Int] {
        let c = try BuildConfig.load(path: try write(LaMiniRecipe.config(scale: scale, data: .public, teacher: .openai, seed: 1), "s\(scale).toml"))
        return Dictionary(uniqueKeysWithValues: c.subsets.map { ($0.name, $0.target) })
    }

    func testTargetsFollowThePapersProportions() throws {
        XCTAssertEqual(try targets(scale: 1.0), [
            "self_instruct_without_topic": 270_000, "self_instruct_with_topic": 280_000, "generated_p3": 300_000,
            "generated_flan": 290_000, "alpaca": 50_000, "original_p3": 460_000, "original_flan": 930_000])
        XCTAssertEqual(try targets(scale: 0.001), [
            "self_instruct_without_topic": 270, "self_instruct_with_topic": 280, "generated_p3": 300,
            "generated_flan": 290, "alpaca": 50, "original_p3": 460, "original_flan": 930])
        XCTAssertEqual(try targets(scale: 0.0001).values.reduce(0, +), 27 + 28 + 30 + 29 + 5 + 46 + 93)
    }

    func testRecipeReadsBackWithEverySetting() throws {
        let c = try BuildConfig.load(path: try write(LaMiniRecipe.config(scale: 1.0, data: .public, teacher: .openai, seed: 7)))
        XCTAssertEqual(c.recipe, "lamini")
        XCTAssertEqual(c.scale, 1.0)
        XCTAssertEqual(c.seed, 7)
        XCTAssertEqual(c.sources.map(\.written), [
            "https://raw.githubusercontent.com/yizhongw/self-instruct/main/data/seed_tasks.jsonl",
            "https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json", "data/P3", "data/flan"])
        XCTAssertEqual(c.topics?.categoryDump, "\(dir!)/data/enwiki-latest-category.sql.gz")
        XCTAssertEqual(c.subsets.filter { $0.kind == .generated }.map { $0.perPrompt! }, [20, 20, 10, 10])
        XCTAssertEqual(c.subsets.filter { $0.topics }.map(\.name), ["self_instruct_with_topic"])
        XCTAssertEqual(c.novelty, NoveltySpec())
        XCTAssertEqual(c.auditPerSubset, 50_000)
        XCTAssertEqual(c.diversity.samplePerSubset, 50_000)
        XCTAssertEqual(c.herd.teacher.model, "gpt-3.5-turbo")
        XCTAssertEqual(c.herd.prices["gpt-3.5-turbo"]?.completionPerMillion, 1.5)
        XCTAssertEqual(c.export.seed, 7)
        let small = try BuildConfig.load(path: try write(LaMiniRecipe.config(scale: 0.0001, data: .bundled, teacher: .local, seed: 1), "small.toml"))
        XCTAssertEqual(small.herd.teacher.endpoint, "local")
        XCTAssertEqual(small.auditPerSubset, 5)
        XCTAssertEqual(small.diversity.samplePerSubset, 100)
        XCTAssertEqual(small.sources.count, 7)
    }

    /// Every recipe validates against schemas/herd-toml.schema.json, and the schema rejects what the reader rejects.
    func testSchemaDescribesTheRecipes() throws {
        let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schemas/herd-toml.schema.json").path
        var files: [String] = []
        for data in LaMiniRecipe.Data.allCases {
            for teacher in LaMiniRecipe.Teacher.allCases {
                files.append(try write(LaMiniRecipe.config(scale: 0.01, data: data, teacher: teacher, seed: 3), "\(data)-\(teacher).toml"))
            }
        }
        files.append(try write(Project.defaultConfig, "defaults.toml"))
        let bad = try write(LaMiniRecipe.config(scale: 0.01, data: .bundled, teacher: .local, seed: 3)
            .replacingOccurrences(of: "threshold = 0.7", with: "threshold = 0.7\nthreshhold = 0.6"), "bad.toml")
        let script = """
            import json, sys, tomllib, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                errors = sorted(e.message for e in v.iter_errors(tomllib.load(open(path, "rb"))))
                print(path.rsplit("/", 1)[-1], len(errors))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, schema] + files + [bad]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("python3 with jsonschema and tomllib is not available (make test installs it)") }
        XCTAssertEqual(text, """
            public-openai.toml 0
            public-local.toml 0
            bundled-openai.toml 0
            bundled-local.toml 0
            defaults.toml 0
            bad.toml 1

            """)
        XCTAssertThrowsError(try BuildConfig.load(path: bad)) { error in
            XCTAssertTrue("\(error)".contains("unknown key novelty.threshhold (did you mean threshold?)"), "\(error)")
        }
    }

    func testErrorsNameTheKeyAndItsLine() throws {
        func message(_ text: String) -> String {
            do { _ = try BuildConfig.load(path: try write(text, "e.toml")); return "no error" } catch { return "\(error)" }
        }
        let path = "\(dir!)/e.toml"
        XCTAssertEqual(message("[build]\nscale = 2.0\n"), "\(path):2:1: build.scale: must be in (0, 1]")
        XCTAssertEqual(message("[subsets.alpaca]\nkind = \"original\"\ntarget = \"many\"\n"),
                       "\(path):3:1: subsets.alpaca.target: expected an integer, found a string")
        XCTAssertEqual(message("[subsets.alpaca]\nkind = \"original\"\ntarget = 5\npool = \"p3\"\n"),
                       "\(path):4:1: subsets.alpaca.pool: applies to generated subsets only")
        XCTAssertEqual(message("[[ingest.sources]]\nformat = \"alpaca\"\n"),
                       "\(path):1:1: ingest.sources[0].path: missing: every source needs a path or URL")
        XCTAssertEqual(message("[export]\nshards = 3\n"),
                       "\(path):2:1: unknown key export.shards (known keys: out, shard_rows, compression, format, val_fraction, seed, subsets, include_duplicates)")
        XCTAssertEqual(message("[teacher]\ntemperature = \"hot\"\n"), "\(path):2:1: teacher.temperature: expected a float, found a string")
    }
}
