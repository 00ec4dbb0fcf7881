import Foundation

/// LaMini-LM's recipe as a herd.toml: the paper's seed sources, topic dump and subset sizes
/// (2.58M pairs at scale 1), scaled down for trial runs.
public enum LaMiniRecipe {
    /// Where the seed data comes from.
    public enum Data: String, CaseIterable, Sendable {
        /// The public datasets (Self-Instruct and Alpaca by URL; P3, FLAN and the Wikipedia dump from local folders).
        case `public`
        /// The samples bundled in the repository's fixtures/ (offline, small).
        case bundled
    }

    /// Which teacher the recipe names.
    public enum Teacher: String, CaseIterable, Sendable {
        /// gpt-3.5-turbo at api.openai.com, as the paper.
        case openai
        /// The built-in SmolLM2-135M-Instruct, in-process and offline.
        case local
    }

    /// The paper's subsets: name, size at scale 1, and for generated ones the pool, topics and
    /// instructions per prompt (20 for Self-Instruct, 10 for P3 and FLAN).
    public static let subsets: [(name: String, size: Int, pool: String?, topics: Bool, perPrompt: Int?)] = [
        ("self_instruct_without_topic", 270_000, "self_instruct", false, 20),
        ("self_instruct_with_topic", 280_000, "self_instruct", true, 20),
        ("generated_p3", 300_000, "p3", false, 10),
        ("generated_flan", 290_000, "flan", false, 10),
        ("alpaca", 50_000, nil, false, nil),
        ("original_p3", 460_000, nil, false, nil),
        ("original_flan", 930_000, nil, false, nil),
    ]

    /// The paper's t-SNE sample and the audit sample: 50K per subset at scale 1.
    public static let samplePerSubset = 50_000

    /// A size at `scale`: rounded, at least 1.
    public static func scaled(_ size: Int, _ scale: Double) -> Int { max(1, Int((Double(size) * scale).rounded())) }

    /// Writes `herd init DIR --recipe lamini` into an empty project: herd.toml and the store.
    @discardableResult
    public static func initialize(at directory: String, scale: Double, data: Data, teacher: Teacher, seed: UInt64 = 1,
                                  fixtures: String = "fixtures") throws -> (config: String, store: String) {
        let text = config(scale: scale, data: data, teacher: teacher, seed: seed,
                          fixtures: relativePath(from: directory, to: fixtures))
        return try Project.initialize(at: directory, configText: text)
    }

    /// The herd.toml text. `fixtures` is the bundled samples' folder as seen from the project folder.
    public static func config(scale: Double, data: Data, teacher: Teacher, seed: UInt64, fixtures: String = "../fixtures") -> String {
        let total = subsets.reduce(0) { $0 + scaled($1.size, scale) }
        let sample = max(100, scaled(samplePerSubset, scale))
        var t = """
        # Herd project: LaMini-LM's recipe (Wu et al., 2023) at scale \(format(scale)): \(grouped(total)) pairs
        # (2,580,000 at scale 1). `herd build` runs it: ingest → topics → instructions → dedup →
        # responses → embed → project → audit → stats → report → export; `herd build --plan` prices
        # what remains without calling anyone. Paths are relative to this file. Every key is
        # described in schemas/herd-toml.schema.json.

        [build]
        recipe = "lamini"
        # Sizes below are the paper's times this scale (rounded, at least 1).
        scale = \(format(scale))
        # Seed of the generation prompts' draws, the original subsets' samples, the embedding,
        # projection and audit samples and the export's shuffle.
        seed = \(seed)
        # Generation rounds per subset before the build gives up on a target (each round asks for
        # what is missing, at the yield seen so far).
        max_rounds = 50

        [store]
        path = "herd.db"

        [ingest]
        # Malformed records stop the build with FILE:LINE unless skip_bad (then they are counted).
        skip_bad = false
        # The seed sources, in order: path (file, folder, archive or http(s) URL), and optionally
        # format (auto | alpaca | self-instruct | instruction-jsonl | prompt-completion | p3 | flan |
        # flan-cot | lamini), subset (default by format: self_instruct_seed, alpaca, original_p3,
        # original_flan) and sha256 (the content it must have).

        """
        switch data {
        case .bundled:
            t += """
            [[ingest.sources]]
            path = "\(fixtures)/self-instruct/seed_tasks.jsonl"

            [[ingest.sources]]
            path = "\(fixtures)/alpaca/alpaca_data_first200.json"

            [[ingest.sources]]
            path = "\(fixtures)/p3/P3"

            [[ingest.sources]]
            path = "\(fixtures)/p3-jsonl"
            format = "prompt-completion"
            subset = "original_p3"

            [[ingest.sources]]
            path = "\(fixtures)/flan/cot_qasc_train.tsv"

            [[ingest.sources]]
            path = "\(fixtures)/flan/cot_strategyqa_train.tsv"

            [[ingest.sources]]
            path = "\(fixtures)/archives/flan-jsonl.zip"

            [topics]
            # An excerpt of enwiki's category table (the real dump's format).
            category_dump = "\(fixtures)/wikipedia/enwiki-2024-category-excerpt.sql.gz"

            """
        case .public:
            t += """
            # Self-Instruct's 175 seed tasks (the pool of both self_instruct subsets).
            [[ingest.sources]]
            path = "https://raw.githubusercontent.com/yizhongw/self-instruct/main/data/seed_tasks.jsonl"

            # Stanford Alpaca's 52K (the alpaca subset).
            [[ingest.sources]]
            path = "https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json"

            # bigscience/P3's train TFRecords (data/*/train.tfrecord-*), copied into this folder.
            [[ingest.sources]]
            path = "data/P3"
            format = "p3"

            # A FLAN collection export (JSONL of inputs/targets), copied into this folder.
            [[ingest.sources]]
            path = "data/flan"
            format = "flan"

            [topics]
            # https://dumps.wikimedia.org/enwiki/latest/enwiki-latest-category.sql.gz; add page_dump and
            # page_props_dump (enwiki-latest-page.sql.gz, enwiki-latest-page_props.sql.gz) to drop
            # hidden categories by their flag as well as by name.
            category_dump = "data/enwiki-latest-category.sql.gz"

            """
        }
        t += """
        # The paper's rules: titles of fewer than 3 words, more than 10 subcategories, more than 50 pages.
        fewer_words_than = 3
        more_subcats_than = 10
        more_pages_than = 50

        [novelty]
        # Drop an instruction whose ROUGE-L F1 with one kept before it is above the threshold
        # (rouge_score's rougeL, no stemming), seeds first: Self-Instruct's and Alpaca's filter.
        threshold = 0.7
        strict_below = false
        stem = false
        # all: one pool for the store; subset: each subset against itself.
        scope = "all"

        [generate]
        # Completion token limit of a generation request (\(teacher == .local ? "the built-in teacher is slow: kept short" : "20 examples fit easily")).
        max_tokens = \(teacher == .local ? 512 : 2048)

        [responses]
        # Completion token limit of a response request (LaMini asks for concise answers).
        max_tokens = \(teacher == .local ? 128 : 1024)

        # The corpus, in the paper's proportions. generated: prompts of 3 pool examples (and 3 topics)
        # are sent until the novelty filter has kept `target` instructions; original: `target`
        # instructions are sampled from the ingested subset (the rest are removed from the store).

        """
        for s in subsets {
            t += "[subsets.\(s.name)]\n"
            if let pool = s.pool {
                t += "kind = \"generated\"\ntarget = \(scaled(s.size, scale))          # \(grouped(s.size)) at scale 1\n"
                t += "pool = \"\(pool)\"\ntopics = \(s.topics)\nper_prompt = \(s.perPrompt!)\n\n"
            } else {
                t += "kind = \"original\"\ntarget = \(scaled(s.size, scale))          # \(grouped(s.size)) at scale 1\n\n"
            }
        }
        switch teacher {
        case .openai:
            t += """
            [teacher]
            # Any OpenAI-compatible chat-completions server; "local" runs the built-in SmolLM2-135M-Instruct.
            endpoint = "https://api.openai.com"
            model = "gpt-3.5-turbo"
            # The environment variable holding the API key (the key never goes in this file, the
            # store, the logs or an export).
            api_key_env = "OPENAI_API_KEY"
            temperature = 1.0
            top_p = 1.0
            concurrency = 32
            # Client-side limits: set them to your account's (they also time the plan).
            requests_per_minute = 3500
            tokens_per_minute = 90000
            timeout_seconds = 600.0
            max_attempts = 8
            retry_base_seconds = 1.0

            [prices]
            # US dollars per million tokens: costs are recorded, planned and held to --budget.
            # Check your provider's current prices.
            "gpt-3.5-turbo" = { prompt_per_million = 0.5, completion_per_million = 1.5 }

            """
        case .local:
            t += """
            [teacher]
            # "local" runs the built-in SmolLM2-135M-Instruct in-process (offline, free); any
            # OpenAI-compatible URL sends requests there instead.
            endpoint = "local"
            temperature = 1.0
            top_p = 1.0

            """
        }
        t += """

        [embed]
        # The sentence encoder (a folder under $HERD_MODELS) and the sample embedded per subset
        # (the paper's t-SNE used 50,000 per subset; at least 100 here so t-SNE has points).
        model = "all-MiniLM-L6-v2"
        sample_per_subset = \(sample)
        dtype = "float32"

        [project]
        # t-SNE of the embedded sample: perplexity, and iterations after the 250 of early exaggeration.
        perplexity = 30.0
        iterations = 500

        [audit]
        # Pairs per subset drawn for human rating (`herd audit serve`): 50,000 at scale 1.
        per_subset = \(scaled(samplePerSubset, scale))

        [export]
        out = "export"
        shard_rows = 100000
        compression = "gzip"          # gzip | zstd | none
        format = "jsonl"              # jsonl | parquet
        val_fraction = 0.0
        seed = \(seed)
        # Subsets to export; empty: every corpus subset.
        subsets = []
        include_duplicates = false

        [report]
        out = "report"

        """
        return t
    }

    static func format(_ x: Double) -> String {
        var s = String(format: "%.6f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s += "0" }
        return s
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }

    /// `to` as seen from the folder `from` (both made absolute against the current folder).
    static func relativePath(from: String, to: String) -> String {
        func components(_ p: String) -> [String] {
            let absolute = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
            return (absolute as NSString).standardizingPath.split(separator: "/").map(String.init)
        }
        let a = components(from), b = components(to)
        var common = 0
        while common < min(a.count, b.count), a[common] == b[common] { common += 1 }
        let up = Array(repeating: "..", count: a.count - common)
        let path = (up + b[common...]).joined(separator: "/")
        return path.isEmpty ? "." : path
    }
}
