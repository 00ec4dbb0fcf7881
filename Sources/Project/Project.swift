import Foundation
import Store

/// A Herd project folder: `herd.toml` (settings) beside `herd.db` (the store).
public enum Project {
    public static let configFileName = "herd.toml"
    public static let storeFileName = "herd.db"

    /// Creates `directory` if needed, writes the commented default `herd.toml` and creates the store.
    /// Refuses to touch a folder that already holds a store or a config.
    @discardableResult
    public static func initialize(at directory: String, configText: String = defaultConfig) throws -> (config: String, store: String) {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = (directory as NSString).appendingPathComponent(configFileName)
        let store = (directory as NSString).appendingPathComponent(storeFileName)
        for path in [config, store] where fm.fileExists(atPath: path) {
            throw ProjectError.exists(path)
        }
        try Store.create(at: store).checkpoint()
        try Data(configText.utf8).write(to: URL(fileURLWithPath: config))
        return (config, store)
    }

    /// The commented defaults `herd init` writes. Every key is the built-in default, so an
    /// untouched file changes nothing.
    public static let defaultConfig = """
    # Herd project settings. Every value below is the built-in default.
    # Commands read [teacher] and [prices] from this file beside the store (or --config PATH);
    # flags override it. `herd build` reads every table (`herd init DIR --recipe lamini` writes
    # a whole recipe; schemas/herd-toml.schema.json describes every key). Commands find the
    # store by --store PATH, then $HERD_STORE, then ./herd.db.

    [store]
    # path = "herd.db"

    [ingest]
    # Format of inputs: auto | alpaca | self-instruct | instruction-jsonl | prompt-completion |
    #                   p3 | flan | flan-cot | lamini
    # format = "auto"
    # Skip, count and list malformed records instead of stopping at the first one.
    # skip_bad = false
    # Default subsets follow LaMini-instruction's instruction_source names:
    #   alpaca -> "alpaca", p3 -> "original_p3", flan and flan-cot -> "original_flan",
    #   self-instruct -> "self_instruct_seed" (the seed pool for generation),
    #   lamini rows -> their own instruction_source. instruction-jsonl and
    #   prompt-completion need --subset.

    [export]
    # out = "export"
    # shard_rows = 100000
    # compression = "gzip"        # gzip | zstd | none
    # val_fraction = 0.0
    # seed = 0
    # Subsets to export; empty means every corpus subset (seed subsets are never exported by default).
    # subsets = []
    # include_duplicates = false

    [teacher]
    # Any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, Ollama …).
    # endpoint = "https://api.openai.com"
    # model = "gpt-3.5-turbo"
    # The environment variable holding the API key. The key itself never goes in this file,
    # the store, the logs or an export.
    # api_key_env = "OPENAI_API_KEY"
    # temperature = 1.0
    # top_p = 1.0
    # max_tokens = 2048
    # Requests in flight at once.
    # concurrency = 32
    # Client-side limits (no limit when absent); set them to your account's.
    # requests_per_minute = 3500
    # tokens_per_minute = 90000
    # Seconds one attempt may take; attempts per request; seconds before the first retry.
    # timeout_seconds = 600.0
    # max_attempts = 8
    # retry_base_seconds = 1.0

    [prices]
    # US dollars per million tokens, per model: costs are recorded and --budget needs them.
    # Check your provider's current prices.
    # "gpt-3.5-turbo" = { prompt_per_million = 0.5, completion_per_million = 1.5 }

    """
}

public enum ProjectError: Error, CustomStringConvertible {
    case exists(String)
    public var description: String {
        switch self {
        case let .exists(p): return "\(p) already exists: `herd init` never overwrites a project"
        }
    }
}
