import ArgumentParser
import FastJSON
import Foundation
import Generate
import Store

extension SeedPool: ExpressibleByArgument {}

enum GenerationMode: String, ExpressibleByArgument, CaseIterable {
    case example, topic
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate instructions and responses with a teacher LLM (LaMini-LM's prompts).",
        subcommands: [GenerateInstructionsCommand.self, GenerateImportCommand.self, GenerateStatusCommand.self])
}

struct GenerateInstructionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instructions",
        abstract: "Plan instruction-generation prompts: 3 examples from a seed pool (and 3 topics), LaMini-LM's wording.",
        discussion: """
        Example-guided prompts draw 3 distinct examples from one pool: self_instruct (the Self-Instruct \
        seeds; 20 instructions per prompt → self_instruct_without_topic), p3 (original_p3; 10 → \
        generated_p3) or flan (original_flan; 10 → generated_flan). Topic-guided prompts add 3 distinct \
        mined topics (self_instruct only → self_instruct_with_topic). Prompt k draws from SplitMix64 \
        seeded with the k-th output of SplitMix64(--seed), so any prompt is reproducible on its own. \
        --dry-run prints the prompts; --batch-out queues them in the store (keyed by the sha256 of \
        endpoint and body: a prompt already answered is never asked again) and writes the unanswered \
        ones as OpenAI Batch API input, for the Batch API or `vllm run-batch`; `herd generate import` \
        loads the results. Calling a teacher over HTTP directly comes next.
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

    @Option(help: "Queue the prompts and write the unanswered ones here as OpenAI Batch API input (JSONL).")
    var batchOut: String?

    @Option(help: "Base URL of the OpenAI-compatible teacher (part of each request's key).")
    var endpoint = TeacherSettings().endpoint

    @Option(help: "The teacher model.")
    var model = TeacherSettings().model

    @Option(help: "Sampling temperature.")
    var temperature = TeacherSettings().temperature

    @Option(help: "Nucleus sampling top_p.")
    var topP = TeacherSettings().topP

    @Option(help: "Completion token limit per request.")
    var maxTokens = TeacherSettings().maxTokens

    @Flag(help: "With --dry-run: print JSON lines {number, subset, examples, topics, prompt}.")
    var json = false

    func validate() throws {
        if prompts < 0 { throw ValidationError("--prompts must not be negative") }
        if let perPrompt, perPrompt < 1 { throw ValidationError("--per-prompt must be at least 1") }
        if mode == .topic, pool != .selfInstruct {
            throw ValidationError("--mode topic uses the Self-Instruct seeds only (--pool self_instruct), as LaMini-LM did")
        }
        if !dryRun, batchOut == nil {
            throw ValidationError("calling a teacher over HTTP is not built yet: use --dry-run to print the prompts or --batch-out FILE to write a batch file")
        }
        if dryRun, batchOut != nil { throw ValidationError("--dry-run and --batch-out exclude each other") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() throws {
        var options = InstructionGenerationOptions(pool: pool, topicGuided: mode == .topic, prompts: prompts, seed: seed)
        options.perPrompt = perPrompt
        let subset = pool.generatedSubset(topicGuided: mode == .topic)
        if let batchOut {
            var settings = TeacherSettings()
            settings.endpoint = endpoint
            settings.model = model
            settings.temperature = temperature
            settings.topP = topP
            settings.maxTokens = maxTokens
            let (added, open) = try reportingErrors { () -> (Int, [TeacherRequestInfo]) in
                let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
                let planned = try InstructionPlan.prompts(store: store, options: options)
                let queued = try InstructionRequests.enqueue(planned, subset: subset, settings: settings, store: store)
                try BatchFiles.writeInput(queued.open, to: batchOut)
                try store.markTeacherRequestsExported(keys: queued.open.map(\.key), batchFile: batchOut)
                return queued
            }
            print("\(prompts) prompts → \(subset): \(added) newly queued, \(open.count) unanswered written to \(batchOut)")
            return
        }
        let planned = try reportingErrors {
            try InstructionPlan.prompts(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)), options: options)
        }
        for p in planned {
            if json {
                printJSON(JSONWriter.string(.object([
                    ("number", .number(String(p.number))), ("subset", .string(subset)),
                    ("examples", .array(p.exampleIndices.map { .number(String($0)) })),
                    ("topics", p.topicIndices.map { .array($0.map { .number(String($0)) }) } ?? .null),
                    ("prompt", .string(p.text)),
                ])))
            } else {
                print("--- prompt \(p.number) → \(subset)")
                print(p.text)
            }
        }
    }
}

struct GenerateImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load OpenAI Batch API (or vllm run-batch) results into the store by custom_id.",
        discussion: """
        Each line's request gets its reply (or, for an error line, its failure with the server's message); \
        the instructions in a generation reply (every <example>…</example>) join the request's subset, \
        exact duplicates marked. All in one transaction; importing the same files again changes nothing.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The batch output file, then optionally the errors file.")
    var files: [String]

    @Flag(help: "Apply Alpaca's filters to generated instructions (counted per reason).")
    var alpacaFilters = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if files.isEmpty || files.count > 2 { throw ValidationError("give the output file and optionally the errors file") }
    }

    func run() throws {
        let r = try reportingErrors {
            try BatchFiles.importResults(files, store: try Store.open(Store.resolvePath(explicit: storeOptions.store)),
                                         alpacaFilters: alpacaFilters)
        }
        if json {
            func num(_ v: Int) -> JSONValue { .number(String(v)) }
            printJSON(JSONWriter.string(.object([
                ("already_imported", .bool(r.alreadyImported)), ("lines", num(r.lines)), ("answered", num(r.answered)),
                ("failed", num(r.failed)), ("already_done", num(r.alreadyDone)), ("instructions", num(r.instructions)),
                ("duplicates", num(r.duplicates)), ("empty_examples", num(r.emptyExamples)),
                ("truncated_examples", num(r.truncatedExamples)),
                ("filtered", .object(AlpacaFilterReason.allCases.map { ($0.rawValue, num(r.filtered[$0] ?? 0)) })),
            ])))
            return
        }
        if r.alreadyImported {
            print("\(files.joined(separator: " ")): already imported, nothing to do")
            return
        }
        print("\(r.lines) result lines: \(r.answered) answered, \(r.failed) failed, \(r.alreadyDone) already answered; "
              + "\(r.instructions) instructions (\(r.duplicates) exact duplicates), \(r.emptyExamples) empty and "
              + "\(r.truncatedExamples) cut examples dropped"
              + (alpacaFilters ? ", filtered: " + AlpacaFilterReason.allCases.map { "\($0.rawValue) \(r.filtered[$0] ?? 0)" }.joined(separator: ", ") : ""))
    }
}

struct GenerateStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Teacher requests by status: pending, in flight, done, failed (with reasons).")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let (counts, failed) = try reportingErrors { () -> ([String: Int64], [TeacherRequestInfo]) in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            return (try store.teacherRequestCounts(), try store.teacherRequests(status: "failed"))
        }
        print("pending \(counts["pending"] ?? 0), in flight \(counts["in_flight"] ?? 0), done \(counts["done"] ?? 0), failed \(counts["failed"] ?? 0)")
        for f in failed.prefix(20) { print("  failed \(f.key.prefix(12))… (\(f.subset), prompt \(f.promptNumber.map(String.init) ?? "-")): \(f.error ?? "")") }
    }
}
