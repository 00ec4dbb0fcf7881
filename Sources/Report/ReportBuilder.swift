import Audit
import FastJSON
import Foundation
import Generate
import ReportPage
import Stats
import Store

/// What `herd report` wrote.
public struct ReportSummary: Sendable {
    public var html: String
    public var json: String
    public var projectionPoints: Int
    public var seconds: Double
}

/// `herd report OUT`: gathers LaMini's audit from the store into `OUT/report.json` and renders
/// it as `OUT/index.html`, one self-contained page. Read-only: the store is not changed.
public enum ReportBuilder {
    /// Word-count bin edges of the length histograms; the last bin holds everything longer.
    public static let lengthEdges = [0, 5, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200, 300, 500]

    public static func write(store: Store, storePath: String, to directory: String, title: String? = nil,
                             generator: String = "herd") throws -> ReportSummary {
        let start = Date()
        let report = try gather(store: store, storePath: storePath, title: title, generator: generator)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json = JSONWriter.string(report.value)
        let jsonPath = (directory as NSString).appendingPathComponent("report.json")
        let htmlPath = (directory as NSString).appendingPathComponent("index.html")
        try Data((json + "\n").utf8).write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        let page = ReportPage.html(reportJSON: json, title: report.title)
        try Data(page.utf8).write(to: URL(fileURLWithPath: htmlPath), options: .atomic)
        return ReportSummary(html: htmlPath, json: jsonPath, projectionPoints: report.projectionPoints,
                             seconds: Date().timeIntervalSince(start))
    }

    struct Gathered {
        var value: JSONValue
        var title: String
        var projectionPoints: Int
    }

    static func gather(store: Store, storePath: String, title: String?, generator: String) throws -> Gathered {
        let title = title ?? "Herd report: " + ((storePath as NSString).deletingLastPathComponent as NSString).lastPathComponent
        var sections: [(String, JSONValue)] = [("title", .string(title)), ("store", .string(storePath)), ("generated_by", .string(generator))]
        sections.append(("table1", try table1(store)))
        sections.append(("ledger", try ledger(store)))
        let (projection, points) = try latestProjection(store)
        if let projection { sections.append(("projection", projection)) }
        sections.append(("lengths", try lengths(store)))
        if let dedup = try dedup(store) { sections.append(("dedup", dedup)) }
        if let topics = try topics(store) { sections.append(("topics", topics)) }
        let ratings = try RatingSummary.compute(store: store)
        if !ratings.subsets.isEmpty { sections.append(("ratings", ratings.jsonValue)) }
        if let training = try training(store) { sections.append(("training", training)) }
        return Gathered(value: .object(sections), title: title, projectionPoints: points)
    }

    static func number(_ v: Int64) -> JSONValue { .number(String(v)) }
    static func number(_ v: Int) -> JSONValue { .number(String(v)) }
    static func number(_ v: Double, decimals: Int) -> JSONValue {
        v.isFinite ? .number(String(format: "%.\(decimals)f", v)) : .null
    }

    /// The curves of the training runs recorded in the store (`herd train --record`): per run,
    /// one point per step with its train loss and, where it was evaluated, validation loss and ROUGE-L.
    static func training(_ store: Store) throws -> JSONValue? {
        let runs = try store.trainingRuns()
        if runs.isEmpty { return nil }
        return .object([("runs", .array(runs.map { run in
            var byStep: [Int: [(String, JSONValue)]] = [:]
            for p in run.points {
                if p.split == "train" { byStep[p.step, default: []].append(("loss", number(p.loss, decimals: 5))) }
                else {
                    byStep[p.step, default: []].append(("val_loss", number(p.loss, decimals: 5)))
                    if let r = p.rougeL { byStep[p.step, default: []].append(("rouge_l", number(r, decimals: 4))) }
                }
            }
            let points: [JSONValue] = byStep.keys.sorted().map { .object([("step", number($0))] + byStep[$0]!) }
            return .object([("run", .string(run.name)), ("points", .array(points))])
        }))])
    }

    /// LaMini's Table 1: every subset, then the corpus subsets together.
    static func table1(_ store: Store) throws -> JSONValue {
        let stats = try StatsCalculator.compute(store: store)
        func row(_ name: String, _ s: SubsetStats) -> JSONValue {
            .object([("subset", .string(name)), ("count", number(s.count)), ("unique", number(s.uniqueInstructions)),
                     ("instruction_words", number(s.instructionWords)), ("instruction_words_avg", number(s.avgInstructionWords, decimals: 2)),
                     ("response_words", number(s.responseWords)), ("response_words_avg", number(s.avgResponseWords, decimals: 2)),
                     ("mattr_instruction", number(s.mattrInstruction, decimals: 2)), ("mattr_response", number(s.mattrResponse, decimals: 2))])
        }
        return .object([("subsets", .array(stats.subsets.map { row($0.name, $0.stats) })), ("total", row("total", stats.total))])
    }

    /// Requests, answers, failures, tokens and cost per stage and model.
    static func ledger(_ store: Store) throws -> JSONValue {
        .array(TeacherLedgerTotal.totals(try store.teacherLedger()).map { r in
            .object([("stage", .string(r.stage)), ("model", .string(r.model)), ("requests", number(r.requests)),
                     ("answered", number(r.answered)), ("failed", number(r.failed)), ("prompt_tokens", number(r.promptTokens)),
                     ("completion_tokens", number(r.completionTokens)), ("cost_usd", number(r.costUSD, decimals: 6))])
        })
    }

    /// The newest projection's points, coordinates to 3 decimals (the page draws them at a few
    /// hundred pixels; full doubles would double the page).
    static func latestProjection(_ store: Store) throws -> (JSONValue?, Int) {
        guard let p = try store.projections().last else { return (nil, 0) }
        let points = try store.projectionPoints(projectionID: p.id)
        var subsetIndex: [String: Int] = [:]
        var names: [String] = []
        for point in points where subsetIndex[point.subset] == nil { subsetIndex[point.subset] = 0; names.append(point.subset) }
        names.sort()
        for (k, name) in names.enumerated() { subsetIndex[name] = k }
        let value: JSONValue = .object([
            ("model", .string(p.model)), ("field", .string(p.field)), ("points", number(points.count)),
            ("kl_divergence", number(p.klDivergence, decimals: 4)), ("settings", .string(p.settings)),
            ("subsets", .array(names.map { .string($0) })),
            ("subset_index", .array(points.map { number(subsetIndex[$0.subset]!) })),
            ("x", .array(points.map { number($0.x, decimals: 3) })),
            ("y", .array(points.map { number($0.y, decimals: 3) })),
        ])
        return (value, points.count)
    }

    /// Instruction (with its input) and response word counts per subset, in `lengthEdges` bins.
    static func lengths(_ store: Store) throws -> JSONValue {
        let edges = lengthEdges
        func bin(_ words: Int64) -> Int {
            var b = 0
            while b + 1 < edges.count && Int64(edges[b + 1]) <= words { b += 1 }
            return b
        }
        var instruction: [(String, JSONValue)] = [], response: [(String, JSONValue)] = []
        var counter = WordCounter()
        for subset in try store.subsets().map(\.name) {
            var a = [Int64](repeating: 0, count: edges.count), r = [Int64](repeating: 0, count: edges.count)
            var responses = 0
            try store.forEachInstruction(subset: subset) { row in
                var words = counter.count(row.instruction)
                if !row.input.isEmpty { words += counter.count(row.input) }
                a[bin(words)] += 1
                if row.hasOutput {
                    r[bin(counter.count(row.output))] += 1
                    responses += 1
                }
            }
            instruction.append((subset, .array(a.map(number))))
            if responses > 0 { response.append((subset, .array(r.map(number)))) }
        }
        let edgeValues = JSONValue.array(edges.map(number))
        return .object([("instruction", .object([("edges", edgeValues), ("subsets", .object(instruction))])),
                        ("response", .object([("edges", edgeValues), ("subsets", .object(response))]))])
    }

    /// The novelty filter's settings, kept and dropped per subset, and the best-match histogram.
    static func dedup(_ store: Store) throws -> JSONValue? {
        guard let settings = try store.noveltySettings() else { return nil }
        let counts = try store.noveltyCounts()
        let kept = counts.reduce(Int64(0)) { $0 + $1.kept }, dropped = counts.reduce(Int64(0)) { $0 + $1.dropped }
        return .object([
            ("threshold", number(settings.threshold, decimals: 4)), ("report_floor", number(settings.reportFloor, decimals: 4)),
            ("kept", number(kept)), ("dropped", number(dropped)),
            ("histogram", .array(try store.noveltyScoreHistogram(bins: 10).map(number))),
            ("subsets", .array(counts.map { .object([("subset", .string($0.subset)), ("kept", number($0.kept)), ("dropped", number($0.dropped))]) })),
        ])
    }

    /// Mined topics and how often topic-guided prompts asked for each.
    static func topics(_ store: Store) throws -> JSONValue? {
        let uses = try TopicUsage.count(store: store)
        guard !uses.isEmpty else { return nil }
        let ranked = uses.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        func list(_ items: ArraySlice<(key: String, value: Int)>) -> JSONValue {
            .array(items.map { .object([("topic", .string($0.key)), ("uses", number($0.value))]) })
        }
        return .object([("total", number(uses.count)), ("used", number(uses.values.filter { $0 > 0 }.count)),
                        ("most_used", list(ranked.prefix(10))), ("least_used", list(ranked.reversed().prefix(10)))])
    }
}
