import ArgumentParser
import Build
import Config
import FastJSON
import Foundation
import Generate
import Llama
import LocalTeacher
import Store
import Teacher

extension SeedPool: ExpressibleByArgument {}

enum GenerationMode: String, ExpressibleByArgument, CaseIterable {
    case example, topic
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate instructions and responses with a teacher LLM (LaMini-LM's prompts).",
        subcommands: [GenerateInstructionsCommand.self, GenerateResponsesCommand.self, GenerateImportCommand.self,
                      GenerateStatusCommand.self])
}

/// The teacher, its limits and the run's rules: flags override herd.toml's [teacher], which
/// overrides the built-in defaults.
struct TeacherFlags: ParsableArguments {
    @Option(help: "The project settings (default: herd.toml beside the store, when there is one).")
    var config: String?

    @Option(help: "The teacher: local (the built-in SmolLM2-135M-Instruct, run in-process; the default when neither --endpoint nor herd.toml names an endpoint) or a model name at --endpoint (as --model).")
    var teacher: String?

    @Option(help: "Base URL of an OpenAI-compatible teacher, e.g. https://api.openai.com (part of each request's key).")
    var endpoint: String?

    @Option(help: "The teacher model (default gpt-3.5-turbo).")
    var model: String?

    @Option(help: "Sampling temperature (default 1).")
    var temperature: Double?

    @Option(help: "Nucleus sampling top_p (default 1).")
    var topP: Double?

    @Option(help: "Completion token limit per request (default 2048).")
    var maxTokens: Int?

    @Option(help: "Requests in flight at once (default 32).")
    var concurrency: Int?

    @Option(help: "Requests per minute, enforced before sending (default: no limit).")
    var rpm: Double?

    @Option(help: "Tokens per minute (prompt estimate plus max_tokens), enforced before sending (default: no limit).")
    var tpm: Double?

    @Option(help: "Seconds one attempt may take (default 600).")
    var timeout: Double?

    @Option(help: "Attempts per request before it fails (default 8).")
    var maxAttempts: Int?

    @Option(help: "Seconds before the first retry, doubled for each further one (default 1).")
    var retryBase: Double?

    @Option(help: "Requests the built-in teacher generates together (default 32).")
    var batchSize: Int?

    @Option(help: "Stop sending before the store's whole teacher spend could pass this many US dollars.")
    var budget: Double?

    @Flag(help: "Send failed requests again as well.")
    var retryFailed = false

    func validate() throws {
        if teacher == "local", endpoint != nil { throw ValidationError("--teacher local runs the built-in model; it takes no --endpoint") }
        if teacher != nil, model != nil { throw ValidationError("--teacher and --model name the same thing; give one") }
        for (name, v) in [("--max-tokens", maxTokens), ("--concurrency", concurrency), ("--max-attempts", maxAttempts), ("--batch-size", batchSize)] {
            if let v, v < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        for (name, v) in [("--rpm", rpm), ("--tpm", tpm), ("--timeout", timeout)] {
            if let v, v <= 0 { throw ValidationError("\(name) must be positive") }
        }
        if let retryBase, retryBase < 0 { throw ValidationError("--retry-base must not be negative") }
        if let budget, budget < 0 { throw ValidationError("--budget must not be negative") }
    }

    func loadConfig(storePath: String) throws -> HerdConfig {
        guard let path = HerdConfig.resolvePath(explicit: config, storePath: storePath) else { return HerdConfig() }
        return try HerdConfig.load(path: path)
    }

    /// Flags over herd.toml over the defaults (the library's one rule for it).
    func setup(_ c: HerdConfig) -> TeacherSetup {
        var o = TeacherOverrides()
        o.teacher = teacher; o.endpoint = endpoint; o.model = model
        o.temperature = temperature; o.topP = topP; o.maxTokens = maxTokens
        o.concurrency = concurrency; o.requestsPerMinute = rpm; o.tokensPerMinute = tpm
        o.timeout = timeout; o.maxAttempts = maxAttempts; o.retryBase = retryBase
        o.batchSize = batchSize; o.budget = budget; o.retryFailed = retryFailed
        return TeacherSetup(config: c, overrides: o)
    }

    func settings(_ c: HerdConfig) -> TeacherSettings { setup(c).settings() }

    func runOptions(_ c: HerdConfig, settings: TeacherSettings, stage: String, subset: String?) throws -> TeacherRunOptions {
        try setup(c).runOptions(settings: settings, stage: stage, subset: subset)
    }
}

struct GenerateInstructionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instructions",
        abstract: "Generate instructions from LaMini-LM's prompts: 3 examples from a seed pool (and 3 topics).",
        discussion: """
        Example-guided prompts draw 3 distinct examples from one pool: self_instruct (the Self-Instruct \
        seeds; 20 instructions per prompt → self_instruct_without_topic), p3 (original_p3; 10 → \
        generated_p3) or flan (original_flan; 10 → generated_flan). Topic-guided prompts add 3 distinct \
        mined topics (self_instruct only → self_instruct_with_topic). Prompt k draws from SplitMix64 \
        seeded with the k-th output of SplitMix64(--seed), so any prompt is reproducible on its own. \
        Every prompt is queued in the store first, keyed by the sha256 of endpoint and body: a prompt \
        already answered is never asked again. Then the unanswered ones go to the teacher (or, with \
        --batch-out, to an OpenAI Batch API input file; `herd generate import` loads the results). \
        Replies become instructions in prompt order, whatever order they arrive in. --dry-run only \
        prints the prompts.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "example: examples only; topic: examples and 3 Wikipedia topics.")
    var mode: GenerationMode = .example

    @Option(help: "The seed pool: self_instruct, p3 or flan.")
    var pool: SeedPool = .selfInstruct

    @Option(help: "How many prompts.")
    var prompts: Int

    @Option(help: "Seed of the draws.")
    var seed: UInt64 = 0

    @Option(help: "Instructions asked for per prompt (default: 20 for self_instruct, 10 for p3 and flan).")
    var perPrompt: Int?

    @Flag(help: "Print the prompts instead of sending them.")
    var dryRun = false

    @Option(help: "Queue the prompts and write the unanswered ones here as OpenAI Batch API input (JSONL) instead of sending.")
    var batchOut: String?

    @OptionGroup var teacher: TeacherFlags

    @Flag(help: "Apply Alpaca's filters to generated instructions (counted per reason).")
    var alpacaFilters = false

    @Flag(help: "Print JSON: the prompts with --dry-run ({number, subset, examples, topics, prompt} per line), else the report.")
    var json = false

    func validate() throws {
        if prompts < 0 { throw ValidationError("--prompts must not be negative") }
        if let perPrompt, perPrompt < 1 { throw ValidationError("--per-prompt must be at least 1") }
        if mode == .topic, pool != .selfInstruct {
            throw ValidationError("--mode topic uses the Self-Instruct seeds only (--pool self_instruct), as LaMini-LM did")
        }
        if dryRun, batchOut != nil { throw ValidationError("--dry-run and --batch-out exclude each other") }
    }

    func run() throws {
        var options = InstructionGenerationOptions(pool: pool, topicGuided: mode == .topic, prompts: prompts, seed: seed)
        options.perPrompt = perPrompt
        let storePath = Store.resolvePath(explicit: storeOptions.store)
        if dryRun {
            let plan = try reportingErrors { try InstructionPlan(store: try Store.open(storePath), options: options) }
            for k in 0..<prompts {
                let p = plan.prompt(k)
                if json {
                    printJSON(JSONWriter.string(.object([
                        ("number", .number(String(p.number))), ("subset", .string(options.subset)),
                        ("examples", .array(p.exampleIndices.map { .number(String($0)) })),
                        ("topics", p.topicIndices.map { .array($0.map { .number(String($0)) }) } ?? .null),
                        ("prompt", .string(p.text)),
                    ])))
                } else {
                    print("--- prompt \(p.number) → \(options.subset)")
                    print(p.text)
                }
            }
            return
        }
        try reportingErrors {
            let store = try Store.open(storePath)
            let config = try teacher.loadConfig(storePath: storePath)
            let settings = teacher.settings(config)
            let plan = try InstructionPlan(store: store, options: options)
            let queued = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
            if let batchOut {
                try writeBatch(store: store, keys: queued.open, to: batchOut)
                print("\(prompts) prompts → \(options.subset): \(queued.added) newly queued, \(queued.open.count) unanswered written to \(batchOut)")
                return
            }
            var run = try teacher.runOptions(config, settings: settings, stage: "instructions", subset: options.subset)
            run.alpacaFilters = alpacaFilters
            let report = try TeacherQueueRunner.run(store: store, options: run)
            printRunReport(report, queued: queued.added, json: json)
        }
    }
}

struct GenerateResponsesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responses",
        abstract: "Ask the teacher to answer every instruction, under LaMini-LM's system message.",
        discussion: """
        Every instruction of the corpus subsets (not the seed pools) that is a first occurrence and \
        was kept by the novelty filter (when `herd dedup` ran) gets one request: the system message \
        "\(LaMiniPrompts.responseSystemMessage)" and the instruction (with its input after a colon). \
        Requests are queued first, keyed by the sha256 of endpoint and body; answers are stored per \
        instruction and model, and `herd export` writes them as the response column.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Only this subset (default: every corpus subset).")
    var subset: String?

    @Option(help: "Queue the requests and write the unanswered ones here as OpenAI Batch API input (JSONL) instead of sending.")
    var batchOut: String?

    @OptionGroup var teacher: TeacherFlags

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let storePath = Store.resolvePath(explicit: storeOptions.store)
        try reportingErrors {
            let store = try Store.open(storePath)
            let config = try teacher.loadConfig(storePath: storePath)
            let settings = teacher.settings(config)
            let queued = try TeacherRequestQueue.enqueueResponses(subset: subset, settings: settings, store: store)
            if let batchOut {
                try writeBatch(store: store, keys: queued.open, to: batchOut)
                print("responses: \(queued.added) newly queued, \(queued.open.count) unanswered written to \(batchOut)")
                return
            }
            let run = try teacher.runOptions(config, settings: settings, stage: "responses", subset: subset)
            let report = try TeacherQueueRunner.run(store: store, options: run)
            printRunReport(report, queued: queued.added, json: json)
        }
    }
}

private func writeBatch(store: Store, keys: [String], to path: String) throws {
    let requests = try keys.compactMap { try store.teacherRequest(key: $0) }
    try BatchFiles.writeInput(requests, to: path)
    try store.markTeacherRequestsExported(keys: keys, batchFile: path)
}

private func countsJSON(_ g: GenerationCounts) -> [(key: String, value: JSONValue)] {
    func num(_ v: Int) -> JSONValue { .number(String(v)) }
    return [("instructions", num(g.instructions)), ("duplicates", num(g.duplicates)), ("empty_examples", num(g.emptyExamples)),
            ("truncated_examples", num(g.truncatedExamples)),
            ("filtered", .object(AlpacaFilterReason.allCases.map { ($0.rawValue, num(g.filtered[$0] ?? 0)) }))]
}

private func countsText(_ g: GenerationCounts, filters: Bool) -> String {
    "\(g.instructions) instructions (\(g.duplicates) exact duplicates), \(g.emptyExamples) empty and "
        + "\(g.truncatedExamples) cut examples dropped"
        + (filters ? ", filtered: " + AlpacaFilterReason.allCases.map { "\($0.rawValue) \(g.filtered[$0] ?? 0)" }.joined(separator: ", ") : "")
}

private func printRunReport(_ r: TeacherRunReport, queued: Int, json: Bool) {
    func num(_ v: Int) -> JSONValue { .number(String(v)) }
    if json {
        var members: [(key: String, value: JSONValue)] = [
            ("queued", num(queued)), ("resumed_in_flight", num(r.resumedInFlight)), ("retried_failed", num(r.retriedFailed)),
            ("answered", num(r.answered)), ("failed", num(r.failed)), ("attempts", num(r.attempts)), ("retries", num(r.retries)),
            ("responses", num(r.responses)),
            ("spent_usd", .number(String(format: "%.6f", r.spentUSD))), ("total_spent_usd", .number(String(format: "%.6f", r.totalSpentUSD))),
            ("stopped_by_budget", .bool(r.stoppedByBudget)), ("remaining", .number(String(r.remaining))),
        ]
        members += countsJSON(r.generation)
        printJSON(JSONWriter.string(.object(members)))
        return
    }
    var line = "\(queued) newly queued; \(r.answered) answered, \(r.failed) failed (\(r.attempts) attempts, \(r.retries) retries)"
    if r.resumedInFlight > 0 { line += "; \(r.resumedInFlight) left in flight by an earlier run sent again" }
    if r.retriedFailed > 0 { line += "; \(r.retriedFailed) failed ones retried" }
    print(line)
    if r.generation != GenerationCounts() { print(countsText(r.generation, filters: r.generation.filteredTotal > 0)) }
    if r.responses > 0 { print("\(r.responses) responses stored") }
    print(String(format: "spent $%.4f this run, $%.4f in all", r.spentUSD, r.totalSpentUSD))
    if r.stoppedByBudget { print("stopped: the next request could have passed the budget; \(r.remaining) requests still pending") }
    else if r.remaining > 0 { print("\(r.remaining) requests still pending") }
}

struct GenerateImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load OpenAI Batch API (or vllm run-batch) results into the store by custom_id.",
        discussion: """
        Each line's request gets its reply (or, for an error line, its failure with the server's message); \
        the instructions in a generation reply (every <example>…</example>) join the request's subset, \
        exact duplicates marked; a response reply becomes the instruction's response. Costs are recorded \
        at herd.toml's prices times --price-factor. All in one transaction; importing the same files \
        again changes nothing.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The batch output file, then optionally the errors file.")
    var files: [String]

    @Option(help: "The project settings, for the prices (default: herd.toml beside the store, when there is one).")
    var config: String?

    @Option(help: "Share of the listed prices paid (0.5: the OpenAI Batch API's discount; 0 for your own cluster).")
    var priceFactor = 0.5

    @Flag(help: "Apply Alpaca's filters to generated instructions (counted per reason).")
    var alpacaFilters = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if files.isEmpty || files.count > 2 { throw ValidationError("give the output file and optionally the errors file") }
        if priceFactor < 0 { throw ValidationError("--price-factor must not be negative") }
    }

    func run() throws {
        let storePath = Store.resolvePath(explicit: storeOptions.store)
        let r = try reportingErrors { () -> BatchImportReport in
            let configPath = HerdConfig.resolvePath(explicit: config, storePath: storePath)
            let prices = try configPath.map { try HerdConfig.load(path: $0).prices } ?? [:]
            return try BatchFiles.importResults(files, store: try Store.open(storePath), alpacaFilters: alpacaFilters,
                                                prices: TeacherSetup.priceTable(prices), priceFactor: priceFactor)
        }
        if json {
            func num(_ v: Int) -> JSONValue { .number(String(v)) }
            printJSON(JSONWriter.string(.object([
                ("already_imported", .bool(r.alreadyImported)), ("lines", num(r.lines)), ("answered", num(r.answered)),
                ("failed", num(r.failed)), ("already_done", num(r.alreadyDone)), ("responses", num(r.responses)),
            ] + countsJSON(r.generation))))
            return
        }
        if r.alreadyImported {
            print("\(files.joined(separator: " ")): already imported, nothing to do")
            return
        }
        print("\(r.lines) result lines: \(r.answered) answered, \(r.failed) failed, \(r.alreadyDone) already answered; "
              + countsText(r.generation, filters: alpacaFilters) + (r.responses > 0 ? "; \(r.responses) responses" : ""))
    }
}

struct GenerateStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Teacher requests by status: pending, in flight, done, failed (with reasons), and the spend.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let (counts, failed, ledger) = try reportingErrors { () -> ([String: Int64], [TeacherRequestInfo], [TeacherLedgerRow]) in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            return (try store.teacherRequestCounts(), try store.teacherRequests(status: "failed"), try store.teacherLedger())
        }
        var reasons: [String: Int] = [:]
        for f in failed { reasons[f.error ?? "", default: 0] += 1 }
        let sortedReasons = reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        if json {
            func num(_ v: Int64) -> JSONValue { .number(String(v)) }
            printJSON(JSONWriter.string(.object([
                ("pending", num(counts["pending"] ?? 0)), ("in_flight", num(counts["in_flight"] ?? 0)),
                ("done", num(counts["done"] ?? 0)), ("failed", num(counts["failed"] ?? 0)),
                ("failure_reasons", .array(sortedReasons.map { .object([("error", .string($0.key)), ("requests", num(Int64($0.value)))]) })),
                ("ledger", ledgerJSON(ledger)),
            ])))
            return
        }
        print("pending \(counts["pending"] ?? 0), in flight \(counts["in_flight"] ?? 0), done \(counts["done"] ?? 0), failed \(counts["failed"] ?? 0)")
        for (reason, n) in sortedReasons.prefix(20) { print("  failed \(n)× \(reason)") }
        if !ledger.isEmpty { print(ledgerTable(ledger), terminator: "") }
    }
}

/// The spend table `herd generate status` and `herd stats` print: per stage and model.
func ledgerTable(_ rows: [TeacherLedgerRow]) -> String {
    var out = "teacher spend:\n"
    out += "  stage         model                      requests      done    failed   prompt tok  complet. tok     cost USD\n"
    for v in TeacherLedgerTotal.totals(rows) {
        let cost = v.priced == 0 && v.answered > 0 ? "no price" : String(format: "%.4f", v.costUSD)
        out += "  " + v.stage.padding(toLength: 13, withPad: " ", startingAt: 0) + " "
            + v.model.padding(toLength: 26, withPad: " ", startingAt: 0)
            + [String(v.requests), String(v.answered), String(v.failed)].map { $0.leftPadded(9) }.joined(separator: " ")
            + String(v.promptTokens).leftPadded(13) + String(v.completionTokens).leftPadded(14) + cost.leftPadded(13) + "\n"
    }
    return out
}

func ledgerJSON(_ rows: [TeacherLedgerRow]) -> JSONValue {
    .array(rows.map { r in
        .object([("stage", .string(r.stage)), ("model", .string(r.model)), ("status", .string(r.status)),
                 ("requests", .number(String(r.requests))), ("attempts", .number(String(r.attempts))),
                 ("prompt_tokens", .number(String(r.promptTokens))), ("completion_tokens", .number(String(r.completionTokens))),
                 ("cost_usd", r.priced == 0 ? .null : .number(String(format: "%.6f", r.costUSD)))])
    })
}
