import Foundation
import TOML

/// The `[teacher]` table of herd.toml. Absent keys are nil: the command's flags and defaults decide.
public struct TeacherConfig: Equatable, Sendable {
    public var endpoint: String?
    public var model: String?
    /// The environment variable holding the API key (the key itself never appears in the file).
    public var apiKeyEnv: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var concurrency: Int?
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var timeoutSeconds: Double?
    public var maxAttempts: Int?
    public var retryBaseSeconds: Double?

    public init() {}
}

/// A model's price in US dollars per million tokens (`[prices."MODEL"]`).
public struct ModelPrice: Equatable, Sendable {
    public var promptPerMillion: Double
    public var completionPerMillion: Double

    public init(promptPerMillion: Double, completionPerMillion: Double) {
        self.promptPerMillion = promptPerMillion; self.completionPerMillion = completionPerMillion
    }
}

/// The settings of a project's herd.toml that commands read.
public struct HerdConfig: Equatable, Sendable {
    public var teacher = TeacherConfig()
    public var prices: [String: ModelPrice] = [:]
    /// Where it was read from (nil: no file, built-in defaults).
    public var path: String?

    public init() {}

    /// The file commands use: `explicit` when given (it must exist), else `herd.toml` beside the
    /// store when there is one, else none.
    public static func resolvePath(explicit: String?, storePath: String) -> String? {
        if let explicit { return explicit }
        let beside = ((storePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("herd.toml")
        return FileManager.default.fileExists(atPath: beside) ? beside : nil
    }

    /// Reads and checks a herd.toml: unknown keys and wrong types are errors naming the key's
    /// path, line and column.
    public static func load(path: String) throws -> HerdConfig {
        let root = TOMLSection(try TOML.parse(contentsOfFile: path), path: "", file: path)
        try root.checkKnownKeys(sectionKeys.keys.sorted())
        // In file order, so the first unknown key written is the one reported, on every run.
        for name in root.keys where name != "prices" && name != "subsets" {
            try root.section(name)?.checkKnownKeys(sectionKeys[name] ?? [])
        }
        var config = HerdConfig()
        config.path = path
        if let t = try root.section("teacher") {
            var c = TeacherConfig()
            c.endpoint = try t.string("endpoint")
            c.model = try t.string("model")
            c.apiKeyEnv = try t.string("api_key_env")
            c.temperature = try t.double("temperature")
            c.topP = try t.double("top_p")
            c.maxTokens = try t.int("max_tokens").map(Int.init)
            c.concurrency = try t.int("concurrency").map(Int.init)
            c.requestsPerMinute = try t.double("requests_per_minute")
            c.tokensPerMinute = try t.double("tokens_per_minute")
            c.timeoutSeconds = try t.double("timeout_seconds")
            c.maxAttempts = try t.int("max_attempts").map(Int.init)
            c.retryBaseSeconds = try t.double("retry_base_seconds")
            if let v = c.concurrency, v < 1 { throw t.error("concurrency", "must be at least 1") }
            if let v = c.maxTokens, v < 1 { throw t.error("max_tokens", "must be at least 1") }
            if let v = c.maxAttempts, v < 1 { throw t.error("max_attempts", "must be at least 1") }
            for key in ["requests_per_minute", "tokens_per_minute", "timeout_seconds"] {
                if let v = try t.double(key), v <= 0 { throw t.error(key, "must be positive") }
            }
            config.teacher = c
        }
        if let p = try root.section("prices") {
            for model in p.keys {
                guard let m = try p.section(model) else { continue } // section() throws for a non-table
                try m.checkKnownKeys(["prompt_per_million", "completion_per_million"])
                guard let prompt = try m.double("prompt_per_million") else { throw m.error("prompt_per_million", "missing") }
                guard let completion = try m.double("completion_per_million") else { throw m.error("completion_per_million", "missing") }
                if prompt < 0 { throw m.error("prompt_per_million", "must not be negative") }
                if completion < 0 { throw m.error("completion_per_million", "must not be negative") }
                config.prices[model] = ModelPrice(promptPerMillion: prompt, completionPerMillion: completion)
            }
        }
        return config
    }

    /// Every table and key herd.toml may hold.
    static let sectionKeys: [String: [String]] = [
        "build": ["recipe", "scale", "seed", "max_rounds"],
        "store": ["path"],
        "ingest": ["format", "skip_bad", "sources"],
        "topics": ["category_dump", "page_dump", "page_props_dump", "fewer_words_than", "more_subcats_than", "more_pages_than"],
        "novelty": ["threshold", "strict_below", "stem", "scope"],
        "generate": ["max_tokens"],
        "responses": ["max_tokens"],
        "subsets": [],
        "embed": ["model", "sample_per_subset", "dtype"],
        "project": ["perplexity", "iterations"],
        "audit": ["per_subset"],
        "export": ["out", "shard_rows", "compression", "format", "val_fraction", "seed", "subsets", "include_duplicates"],
        "report": ["out", "title"],
        "teacher": ["endpoint", "model", "api_key_env", "temperature", "top_p", "max_tokens", "concurrency",
                    "requests_per_minute", "tokens_per_minute", "timeout_seconds", "max_attempts", "retry_base_seconds"],
        "prices": [],
    ]
}
