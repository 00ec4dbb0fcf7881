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
        subcommands: [GenerateInstructionsCommand.self])
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
        This version prints the prompts (--dry-run); sending them to a teacher comes next.
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

    @Flag(help: "With --dry-run: print JSON lines {number, subset, examples, topics, prompt}.")
    var json = false

    func validate() throws {
        if prompts < 0 { throw ValidationError("--prompts must not be negative") }
        if let perPrompt, perPrompt < 1 { throw ValidationError("--per-prompt must be at least 1") }
        if mode == .topic, pool != .selfInstruct {
            throw ValidationError("--mode topic uses the Self-Instruct seeds only (--pool self_instruct), as LaMini-LM did")
        }
        if !dryRun {
            throw ValidationError("sending prompts to a teacher is not built yet: add --dry-run to print them")
        }
    }

    func run() throws {
        var options = InstructionGenerationOptions(pool: pool, topicGuided: mode == .topic, prompts: prompts, seed: seed)
        options.perPrompt = perPrompt
        let planned = try reportingErrors {
            try InstructionPlan.prompts(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)), options: options)
        }
        let subset = pool.generatedSubset(topicGuided: mode == .topic)
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
