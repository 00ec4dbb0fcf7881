import ArgumentParser
import Dedup
import FastJSON
import Foundation
import Progress
import Store

enum NoveltyScope: String, ExpressibleByArgument, CaseIterable {
    case all, subset
}

struct DedupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Drop near-duplicate instructions by ROUGE-L, exactly as the rouge_score loop of Self-Instruct and Alpaca does.",
        discussion: """
        Instructions are visited in corpus order, seed subsets first; one is dropped when its ROUGE-L F1 \
        (rouge_score's rougeL, no stemming unless --stem) with an instruction kept before it is above the \
        threshold (at or above it with --strict-below, Lion's variant). The verdicts, identical to the \
        naive quadratic loop, are found with length and prefix filtering and a bit-parallel LCS. \
        Every instruction's verdict, most similar kept instruction and score are stored; a rerun \
        resumes where the last one stopped, and other settings start over. \
        With --input, filters a plain text file (one text per line, or a JSONL field with --field) \
        outside any store and writes one JSON line per input line to --out.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "ROUGE-L F1 above which an instruction is a near-duplicate.")
    var threshold = 0.7

    @Flag(help: "Drop at F1 >= threshold (Lion: kept only when below the threshold against every kept one).")
    var strictBelow = false

    @Flag(help: "Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer=True).")
    var stem = false

    @Option(help: "all: one pool for the store; subset: each subset against itself.")
    var scope: NoveltyScope = .all

    @Option(help: "Best matches are exact from this score up (lower costs time).")
    var reportFloor = NoveltyIndex.defaultReportFloor

    @Option(help: "Verdicts written per transaction (a kill loses at most one batch).")
    var batchSize = 20_000

    @Option(help: "A text file to filter instead of the store (one text per line; .gz/.zst/… read too).")
    var input: String?

    @Option(help: "Where --input's verdicts go (JSONL).")
    var out: String?

    @Option(help: "With --input: read this string field of JSONL lines instead of whole lines.")
    var field: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold must be in (0, 1]") }
        guard reportFloor > 0, reportFloor <= threshold else { throw ValidationError("--report-floor must be in (0, threshold]") }
        if (input == nil) != (out == nil) { throw ValidationError("--input and --out go together") }
        if field != nil, input == nil { throw ValidationError("--field applies to --input") }
        if input != nil, scope == .subset { throw ValidationError("--scope subset applies to a store") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        var options = NoveltyRunOptions()
        options.threshold = threshold
        options.strictBelow = strictBelow
        options.stem = stem
        options.perSubset = scope == .subset
        options.reportFloor = reportFloor
        options.batchSize = batchSize
        if let input, let out {
            let summary = try reportingErrors { try FileNoveltyFilter.run(input: input, output: out, field: field, options: options) }
            if json {
                printJSON(JSONWriter.string(.object([("lines", .number(String(summary.lines))), ("kept", .number(String(summary.kept))),
                                                     ("dropped", .number(String(summary.lines - summary.kept)))])))
            } else {
                print("\(input): \(summary.lines) lines, \(summary.kept) kept, \(summary.lines - summary.kept) dropped → \(out)")
            }
            return
        }
        let report = try reportingErrors { () -> NoveltyRunReport in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            defer { store.checkpoint() }
            var meter: ProgressMeter?
            defer { meter?.finish() }
            return try StoreNoveltyFilter.run(store: store, options: options) { done, total in
                if meter == nil { meter = ProgressMeter(label: "dedup", unit: "instructions", total: Double(total)) }
                meter?.update(Double(done))
            }
        }
        if json {
            printJSON(JSONWriter.string(report.jsonValue))
            return
        }
        let ruleText = "ROUGE-L F1 \(strictBelow ? ">=" : ">") \(threshold)\(stem ? ", stemmed" : "")"
        print("dedup (\(ruleText), scope \(scope.rawValue)): \(report.instructions) instructions, \(report.judged) judged now, "
              + "\(report.resumed) already judged\(report.restarted ? " (earlier verdicts discarded: other settings or order)" : "")")
        let width = max(6, report.counts.map(\.subset.count).max() ?? 6)
        print("subset".padding(toLength: width, withPad: " ", startingAt: 0) + "      kept   dropped")
        var kept: Int64 = 0, dropped: Int64 = 0
        for c in report.counts {
            print(c.subset.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(c.kept).leftPadded(8)
                  + "  " + String(c.dropped).leftPadded(8))
            kept += c.kept
            dropped += c.dropped
        }
        print("total".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(kept).leftPadded(8) + "  " + String(dropped).leftPadded(8))
        print("best-match ROUGE-L F1 (instructions with a kept match scoring at least \(reportFloor)):")
        let most = max(report.histogram.max() ?? 1, 1)
        for (i, n) in report.histogram.enumerated() where Double(i + 1) / 10 > reportFloor {
            let bar = String(repeating: "#", count: Int((Double(n) / Double(most) * 40).rounded(.up)))
            print(String(format: "  %.1f–%.1f %9lld %@", Double(i) / 10, Double(i + 1) / 10, n, bar))
        }
    }
}

extension NoveltyRunReport {
    var jsonValue: JSONValue {
        func num(_ v: Int64) -> JSONValue { .number(String(v)) }
        return .object([
            ("instructions", num(Int64(instructions))), ("judged", num(Int64(judged))), ("resumed", num(Int64(resumed))),
            ("restarted", .bool(restarted)),
            ("subsets", .object(counts.map { ($0.subset, .object([("kept", num($0.kept)), ("dropped", num($0.dropped))])) })),
            ("best_match_histogram", .array(histogram.map(num))),
        ])
    }
}
