import ArgumentParser
import Audit
import AuditApp
import FastJSON
import Foundation
import Generate
import Store

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Rate sampled pairs A–D: draw the sample, rate in the browser, ask a judge model, move ratings as CSV.",
        discussion: """
        The grades of LaMini-LM's human evaluation: A valid and acceptable, B minor errors, C significant \
        errors, D invalid. `herd report` shows them per subset, people's and the judge's side by side.
        """,
        subcommands: [AuditSampleCommand.self, AuditServeCommand.self, AuditJudgeCommand.self, AuditExportCommand.self,
                      AuditImportCommand.self, AuditStatusCommand.self])
}

struct AuditSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw the pairs to rate: N per corpus subset, reproducibly from the seed.",
        discussion: """
        Pairs are drawn from the corpus as exported (first occurrences kept by the novelty filter) \
        that have a response, by a keyed hash of the seed: the same seed draws the same pairs, and a \
        larger N keeps every pair of a smaller one (and its ratings). LaMini-LM rated 400 per subset. \
        Drawing again replaces the sample; ratings of pairs it would leave out stop the draw unless \
        --drop-ratings.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Pairs per subset.")
    var perSubset: Int

    @Option(help: "Seed of the draw.")
    var seed: UInt64 = 0

    @Flag(help: "Delete ratings of pairs the new sample leaves out (export them first).")
    var dropRatings = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if perSubset < 1 { throw ValidationError("--per-subset must be at least 1") }
    }

    func run() throws {
        let r = try reportingErrors {
            try AuditSampler.draw(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)), perSubset: perSubset,
                                  seed: seed, dropRatings: dropRatings)
        }
        if json {
            printJSON(JSONWriter.string(.object([
                ("pairs", .number(String(r.pairs))), ("dropped_ratings", .number(String(r.droppedRatings))),
                ("subsets", .array(r.perSubset.map {
                    .object([("subset", .string($0.subset)), ("pairs", .number(String($0.pairs))), ("available", .number(String($0.available)))])
                })),
            ])))
            return
        }
        for s in r.perSubset {
            print("\(s.subset): \(s.pairs) pairs" + (s.pairs < perSubset ? " (all it has)" : "") + " of \(s.available)")
        }
        print("audit sample: \(r.pairs) pairs (seed \(seed))" + (r.droppedRatings > 0 ? "; \(r.droppedRatings) ratings dropped" : ""))
    }
}

struct AuditServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the rating app on 127.0.0.1: read each pair, grade it A–D with the keyboard.",
        discussion: """
        Keys: A–D (or 1–4) rate and go to the next unrated pair, U or Ctrl+Z undo, ← → move, Space \
        next unrated, N write a note. Every rating is committed to the store before the page moves \
        on, so closing the browser or stopping the app (Ctrl-C) loses nothing. The app listens on \
        127.0.0.1 only.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Port to listen on (0: any free port).")
    var port: UInt16 = 8765

    @Option(help: "The reviewer's name: ratings are kept per reviewer.")
    var rater = "reviewer"

    func validate() throws {
        if rater.isEmpty { throw ValidationError("--rater must not be empty") }
    }

    func run() throws {
        let reviewer = rater
        let server = try reportingErrors { try AuditServer(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)),
                                                             rater: reviewer, port: port) }
        try serveUntilStopped(run: { try await server.run() }, port: { try await server.waitForPort() }) { port in
            "rating app for \(reviewer): http://127.0.0.1:\(port)/  (Ctrl-C to stop; every rating is already saved)"
        }
    }
}

struct AuditJudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Ask a judge model for the same A–D grade of every sampled pair, through the teacher queue.",
        discussion: """
        Each pair goes to the model with the rubric as the system message ("\(Grade.allCases.map { "\($0.rawValue): \($0.meaning)" }.joined(separator: "; "))") \
        and the instruction, input and response as the user message. Requests are queued in the store \
        (stage judge) like generation requests: keyed by endpoint and body, sent again only if \
        unanswered, counted in the ledger at herd.toml's prices. A reply must start with \
        "Grade: X"; one that does not is recorded with no grade, never guessed. Judging uses \
        temperature 0 and 256 completion tokens unless --temperature and --max-tokens say otherwise.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var flags: TeacherFlags

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let storePath = Store.resolvePath(explicit: storeOptions.store)
        try reportingErrors {
            let store = try Store.open(storePath)
            let config = try flags.loadConfig(storePath: storePath)
            var settings = flags.settings(config)
            settings.temperature = flags.temperature ?? 0
            settings.maxTokens = flags.maxTokens ?? 256
            // The built-in model is given the start of the rubric's answer; remote judges are not.
            settings.assistantPrefill = flags.setup(config).isLocal ? "Grade:" : nil
            let queued = try AuditJudge.enqueue(store: store, settings: settings)
            // Replies answered by an earlier run that stopped before recording them.
            var taken = try AuditJudge.takeReplies(store: store, model: settings.model)
            let run = try flags.runOptions(config, settings: settings, stage: "judge", subset: nil)
            let report = try TeacherQueueRunner.run(store: store, options: run)
            let more = try AuditJudge.takeReplies(store: store, model: settings.model)
            taken.graded += more.graded
            taken.unparsable += more.unparsable
            if json {
                func num(_ v: Int) -> JSONValue { .number(String(v)) }
                printJSON(JSONWriter.string(.object([
                    ("queued", num(queued.added)), ("answered", num(report.answered)), ("failed", num(report.failed)),
                    ("graded", num(taken.graded)), ("unparsable", num(taken.unparsable)),
                    ("spent_usd", .number(String(format: "%.6f", report.spentUSD))), ("remaining", .number(String(report.remaining))),
                ])))
                return
            }
            print("judge \(settings.model): \(queued.added) newly queued; \(report.answered) answered, \(report.failed) failed; "
                  + "\(taken.graded) graded, \(taken.unparsable) replies with no grade (recorded as such)")
            print(String(format: "spent $%.4f this run", report.spentUSD) + (report.remaining > 0 ? "; \(report.remaining) requests still pending" : ""))
        }
    }
}

struct AuditExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the ratings as CSV (RFC 4180): position, instruction_id, subset, kind, rater, grade, note.",
        discussion: "In position order, then kind and rater. A judge reply with no grade has an empty grade and the reply as its note.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Write here (default: standard output).")
    var out: String?

    @Flag(help: "Add the instruction, input and response columns (for reading in a spreadsheet; import ignores them).")
    var withTexts = false

    func run() throws {
        let csv = try reportingErrors {
            try RatingsCSV.export(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)), withTexts: withTexts)
        }
        if let out {
            try reportingErrors { try Data(csv.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) }
        } else {
            FileHandle.standardOutput.write(Data(csv.utf8))
        }
    }
}

struct AuditImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load ratings from CSV (as `herd audit export` writes it) into the store, in one transaction.",
        discussion: """
        Columns are found by the header: instruction_id, kind (human or judge), rater, grade (A–D; \
        empty for a judge reply with no grade) and optionally note; others are ignored. A rating of the \
        same pair, kind and rater is replaced. A bad row stops the import with its file and line, and \
        nothing is recorded, unless --skip-bad skips and counts it.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The CSV file.")
    var file: String

    @Flag(help: "Skip bad rows (and count them) instead of stopping.")
    var skipBad = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let r = try reportingErrors {
            try RatingsCSV.importFile(file, store: try Store.open(Store.resolvePath(explicit: storeOptions.store)), skipBad: skipBad)
        }
        if json {
            func num(_ v: Int) -> JSONValue { .number(String(v)) }
            printJSON(JSONWriter.string(.object([
                ("rows", num(r.rows)), ("added", num(r.added)), ("changed", num(r.changed)), ("unchanged", num(r.unchanged)),
                ("skipped", num(r.skipped)), ("skip_reasons", .array(r.skipReasons.map { .string($0) })),
            ])))
            return
        }
        print("\(file): \(r.rows) ratings: \(r.added) added, \(r.changed) changed, \(r.unchanged) unchanged"
              + (r.skipped > 0 ? ", \(r.skipped) bad rows skipped" : ""))
        for reason in r.skipReasons { print("  skipped: \(reason)") }
    }
}

struct AuditStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The sample and its ratings per subset: human and judge grades, and their agreement.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let (sample, summary) = try reportingErrors { () -> (AuditSampleInfo?, RatingSummary) in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            return (try store.auditSample(), try RatingSummary.compute(store: store))
        }
        if json {
            printJSON(JSONWriter.string(.object([
                ("sample", sample.map { .object([("seed", .number(String($0.seed))), ("per_subset", .number(String($0.perSubset))),
                                                  ("pairs", .number(String($0.pairs)))]) } ?? .null),
                ("ratings", summary.jsonValue),
            ])))
            return
        }
        guard let sample else { print("no audit sample yet (herd audit sample --per-subset N)"); return }
        print("audit sample: \(sample.pairs) pairs, \(sample.perSubset) per subset, seed \(sample.seed)")
        print("  subset                          pairs   human A/B/C/D          judge A/B/C/D (none)      agreement")
        for s in summary.subsets {
            func grades(_ g: [String: Int]) -> String { ["A", "B", "C", "D"].map { String(g[$0] ?? 0) }.joined(separator: "/") }
            let agreement = s.agreement.map { String(format: "%.1f%% of %d", $0 * 100, s.both) } ?? "—"
            print("  " + s.subset.padding(toLength: 30, withPad: " ", startingAt: 0) + String(s.pairs).leftPadded(7) + "   "
                  + grades(s.human).padding(toLength: 22, withPad: " ", startingAt: 0) + " "
                  + (grades(s.judge) + " (\(s.judgeUnparsable))").padding(toLength: 25, withPad: " ", startingAt: 0) + " " + agreement)
        }
    }
}
