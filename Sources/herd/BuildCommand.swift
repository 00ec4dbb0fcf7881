import ArgumentParser
import Build
import Config
import FastJSON
import Foundation

extension BuildStage: ExpressibleByArgument {}

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Run a whole recipe from herd.toml: ingest → topics → instructions → dedup → responses → embed → project → audit → stats → report → export.",
        discussion: """
        Each stage resumes from what the store holds and records a fingerprint of its settings and \
        results when it finishes: a build stopped at any moment (Ctrl-C, kill -9) and started again \
        ends as an unbroken one would, and a finished build answers "nothing to do" at once. \
        Generated subsets are prompted in rounds until the novelty filter has kept their target, each \
        round asking for what is missing at the yield seen so far. --plan prints what remains \
        (requests, tokens, cost at [prices], time at the rate limits) without calling anyone. \
        Configuration errors (unknown keys, wrong types, missing files, an unreachable endpoint) \
        name the key and its line before any work starts.
        """)

    @Option(help: "The recipe (default: ./herd.toml).")
    var config = "herd.toml"

    @Option(help: "Start at this stage (it and later ones run even when done; earlier ones are left as they are).")
    var from: BuildStage?

    @Option(help: "Stop after this stage.")
    var until: BuildStage?

    @Flag(help: "Print what remains (requests, tokens, cost, time) and change nothing.")
    var plan = false

    @Option(help: "US dollars the store's whole teacher spend may reach: a build the plan says would pass it does not start, and sending stops before it could.")
    var budget: Double?

    @Flag(help: "Print the plan or the outcome as JSON.")
    var json = false

    func validate() throws {
        if let budget, budget < 0 { throw ValidationError("--budget must not be negative") }
        if let from, let until, from.number > until.number { throw ValidationError("--from \(from.rawValue) comes after --until \(until.rawValue)") }
    }

    func run() throws {
        let start = Date()
        try reportingErrors {
            let recipe = try BuildConfig.load(path: config)
            var options = BuildOptions()
            options.from = from
            options.until = until
            options.budget = budget
            if json { options.log = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) } }
            let builder = try Builder(config: recipe, options: options)
            if plan {
                let p = try builder.plan()
                if json { printJSON(JSONWriter.string(planJSON(p))) } else { print(planText(p, config: recipe), terminator: "") }
                if let budget, let cost = p.totalCostUSD, p.spentUSD + cost > budget {
                    FileHandle.standardError.write(Data(String(format: "herd: the plan passes --budget $%.2f\n", budget).utf8))
                    throw ExitCode(1)
                }
                return
            }
            let outcome = try builder.run()
            if json {
                printJSON(JSONWriter.string(.object([
                    ("nothing_to_do", .bool(outcome.nothingToDo)), ("ran", .array(outcome.ran.map { .string($0.rawValue) })),
                    ("skipped", .array(outcome.skipped.map { .string($0.rawValue) })), ("store", .string(outcome.storePath)),
                    ("report", .string(outcome.reportPath)), ("export", .string(outcome.exportPath)),
                    ("failed_requests", .number(String(outcome.failedRequests))),
                    ("spent_usd", .number(String(format: "%.6f", outcome.spentUSD))),
                ])))
                return
            }
            let seconds = Date().timeIntervalSince(start)
            if outcome.nothingToDo {
                print(String(format: "nothing to do: all %d stages are done and nothing they read has changed (%.2f s)", outcome.skipped.count, seconds))
            } else {
                print(String(format: "build done in %.1f s: %d stages ran, %d were already done; teacher spend $%.4f",
                             seconds, outcome.ran.count, outcome.skipped.count, outcome.spentUSD))
                if outcome.failedRequests > 0 { print("\(outcome.failedRequests) teacher requests failed for good: `herd generate status --store \(outcome.storePath)` lists why") }
            }
            if until == nil || until == .export {
                print("report: \((outcome.reportPath as NSString).appendingPathComponent("index.html"))")
                print("shards: \(outcome.exportPath) (manifest.json, README.md)")
            }
        }
    }
}

private func money(_ x: Double?) -> String { x.map { String(format: "$%.2f", $0) } ?? "no price" }

private func tokens(_ x: Double) -> String {
    x >= 1e9 ? String(format: "%.2fB", x / 1e9) : x >= 1e6 ? String(format: "%.1fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fK", x / 1e3) : String(format: "%.0f", x)
}

private func duration(_ minutes: Double?, local: Bool) -> String {
    guard let minutes else { return local ? "local" : "no limit set" }
    return minutes >= 60 ? String(format: "%.1f h", minutes / 60) : String(format: "%.1f min", minutes)
}

func planText(_ p: BuildPlan, config: BuildConfig) -> String {
    var out = "plan for \(config.path)"
    if let scale = config.scale { out += " (\(config.recipe ?? "recipe") at scale \(scale))" }
    out += ": teacher \(p.model) at \(p.endpoint)"
    if let price = p.price { out += String(format: ", $%.2f / $%.2f per million prompt / completion tokens", price.promptPerMillion, price.completionPerMillion) }
    out += "\n"
    if !p.isLocal {
        out += "rate limits: " + [p.requestsPerMinute.map { String(format: "%.0f requests/min", $0) }, p.tokensPerMinute.map { String(format: "%.0f tokens/min", $0) }]
            .compactMap { $0 }.joined(separator: ", ") + "\n"
    }
    out += "\nstage          subset                          requests   prompt tok  complet. tok     cost USD        time  basis     what is there\n"
    for r in p.rows {
        out += r.stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) + " "
            + r.subset.padding(toLength: 30, withPad: " ", startingAt: 0)
            + String(r.requests).leftPadded(10) + tokens(r.promptTokens).leftPadded(13) + tokens(r.completionTokens).leftPadded(14)
            + money(r.costUSD).leftPadded(13) + duration(r.minutes, local: p.isLocal).leftPadded(12) + "  "
            + r.basis.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + r.detail + "\n"
    }
    out += "\n"
    for stage in [BuildStage.instructions, .responses] {
        let t = p.stageTotals(stage)
        out += (stage.rawValue + " total").padding(toLength: 45, withPad: " ", startingAt: 0) + String(t.requests).leftPadded(10)
            + tokens(t.prompt).leftPadded(13) + tokens(t.completion).leftPadded(14) + money(t.cost).leftPadded(13)
            + duration(t.minutes, local: p.isLocal).leftPadded(12) + "\n"
    }
    out += "total".padding(toLength: 45, withPad: " ", startingAt: 0) + String(p.totalRequests).leftPadded(10)
        + tokens(p.totalPromptTokens).leftPadded(13) + tokens(p.totalCompletionTokens).leftPadded(14)
        + money(p.totalCostUSD).leftPadded(13) + duration(p.totalMinutes, local: p.isLocal).leftPadded(12) + "\n"
    out += String(format: "already spent: $%.4f; embed and project: about %lld texts (local work, no cost)\n", p.spentUSD, p.embedTexts)
    for n in p.notes { out += "note: \(n)\n" }
    return out
}

func planJSON(_ p: BuildPlan) -> JSONValue {
    func num(_ x: Double) -> JSONValue { .number(String(format: "%.6f", x)) }
    func opt(_ x: Double?) -> JSONValue { x.map(num) ?? .null }
    return .object([
        ("endpoint", .string(p.endpoint)), ("model", .string(p.model)), ("local", .bool(p.isLocal)),
        ("rows", .array(p.rows.map { r in
            .object([("stage", .string(r.stage.rawValue)), ("subset", .string(r.subset)), ("requests", .number(String(r.requests))),
                     ("prompt_tokens", num(r.promptTokens)), ("completion_tokens", num(r.completionTokens)),
                     ("cost_usd", opt(r.costUSD)), ("minutes", opt(r.minutes)), ("basis", .string(r.basis)), ("detail", .string(r.detail))])
        })),
        ("total_requests", .number(String(p.totalRequests))), ("total_prompt_tokens", num(p.totalPromptTokens)),
        ("total_completion_tokens", num(p.totalCompletionTokens)), ("total_cost_usd", opt(p.totalCostUSD)),
        ("total_minutes", opt(p.totalMinutes)), ("spent_usd", num(p.spentUSD)), ("embed_texts", .number(String(p.embedTexts))),
        ("notes", .array(p.notes.map { .string($0) })),
    ])
}
