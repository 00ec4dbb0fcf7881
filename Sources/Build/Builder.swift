import Audit
import Checksums
import Config
import Dedup
import Embed
import Export
import Fetch
import Foundation
import Generate
import Ingest
import Llama
import Progress
import Projection
import Report
import Sampling
import Stats
import Store
import Topics

/// What `herd build` is asked to do beyond the config.
public struct BuildOptions: Sendable {
    /// Run from this stage (earlier ones are left as they are; this one and later ones run even
    /// when their fingerprints say they are done).
    public var from: BuildStage?
    /// Stop after this stage.
    public var until: BuildStage?
    /// Refuse to start when the plan's estimate passes it; stop sending before the spend could.
    public var budget: Double?
    public var environment = ProcessInfo.processInfo.environment
    /// One line per stage (started, finished, skipped).
    public var log: @Sendable (String) -> Void = { print($0) }

    public init() {}
}

/// What a build did.
public struct BuildOutcome: Sendable {
    public var ran: [BuildStage] = []
    public var skipped: [BuildStage] = []
    /// Every stage's fingerprint matched: nothing ran.
    public var nothingToDo = false
    public var reportPath: String
    public var exportPath: String
    public var storePath: String
    /// Teacher requests that failed for good (they stay in the store; `herd generate status` lists them).
    public var failedRequests: Int64 = 0
    public var spentUSD = 0.0
}

/// Runs the recipe's stages over the store. Each stage resumes from what the store holds, so a
/// build killed at any moment and started again ends as an unbroken one would; a finished stage
/// records its fingerprint and is skipped while nothing it depends on changed.
public final class Builder {
    public let config: BuildConfig
    public let options: BuildOptions
    public let teacher: TeacherSetup
    public let storePath: String
    let store: Store

    public init(config: BuildConfig, options: BuildOptions = BuildOptions()) throws {
        self.config = config
        self.options = options
        var overrides = TeacherOverrides()
        overrides.budget = options.budget
        teacher = TeacherSetup(config: config.herd, overrides: overrides)
        storePath = config.resolve(config.store)
        if !FileManager.default.fileExists(atPath: storePath) {
            try FileManager.default.createDirectory(atPath: (storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Store.create(at: storePath).checkpoint()
        }
        store = try Store.open(storePath)
    }

    public var reportPath: String { config.resolve(config.reportOut) }
    public var exportPath: String { config.resolve(config.export.out) }
    var statsPath: String { (config.directory as NSString).appendingPathComponent("stats.json") }

    var selectedStages: [BuildStage] {
        let all = BuildStage.allCases
        let last = options.until.map { all.firstIndex(of: $0)! } ?? all.count - 1
        return Array(all[...last])
    }

    /// Checks what can be checked before any work: files, formats, pools, the teacher, models.
    public func validate(forPlan: Bool = false) throws {
        try BuildChecks.validate(config, teacher: teacher, forPlan: forPlan, environment: options.environment)
    }

    public func run() throws -> BuildOutcome {
        try validate()
        defer { store.checkpoint(); ProgressMeter.context = "" }
        var outcome = BuildOutcome(reportPath: reportPath, exportPath: exportPath, storePath: storePath)
        let stages = selectedStages
        let forcedFrom = options.from.map { BuildStage.allCases.firstIndex(of: $0)! }

        var previous = ""
        var counts = try store.buildStateCounts()
        for (index, stage) in stages.enumerated() {
            let settings = try stageSettings(stage)
            let before = StageFingerprint.make(stage, previous: previous, settings: settings, counts: counts)
            let forced = forcedFrom.map { index >= $0 } ?? false
            let beforeFrom = forcedFrom.map { index < $0 } ?? false
            let recorded = try store.buildStageFingerprint(stage.rawValue)
            if beforeFrom || (!forced && recorded == before && outputsExist(stage)) {
                outcome.skipped.append(stage)
                previous = before
                continue
            }
            // Before the first stage that runs: what the rest needs beyond the config.
            if outcome.ran.isEmpty { try preflight(Array(stages[index...])) }
            let label = "[\(stage.number)/\(BuildStage.allCases.count) \(stage.rawValue)]"
            ProgressMeter.context = label + " "
            let start = Date()
            let summary = try runStage(stage)
            ProgressMeter.context = ""
            counts = try store.buildStateCounts()
            let after = StageFingerprint.make(stage, previous: previous, settings: settings, counts: counts)
            try store.recordBuildStage(stage.rawValue, fingerprint: after)
            previous = after
            outcome.ran.append(stage)
            options.log(String(format: "%@ %@ (%.1f s)", label, summary, Date().timeIntervalSince(start)))
        }
        // Every fingerprint matched: a finished build answers from them alone.
        outcome.nothingToDo = outcome.ran.isEmpty
        outcome.spentUSD = try store.teacherSpendUSD()
        outcome.failedRequests = try store.teacherRequestCounts()["failed"] ?? 0
        return outcome
    }

    /// A remote teacher must answer when a teacher stage is ahead, and the plan must fit the budget.
    func preflight(_ pending: [BuildStage]) throws {
        if !teacher.isLocal, pending.contains(.instructions) || pending.contains(.responses) {
            try BuildChecks.probeTeacher(config, teacher: teacher)
        }
        if let budget = options.budget {
            let plan = try BuildPlanner(builder: self).plan()
            guard let remaining = plan.totalCostUSD else {
                throw BuildError("--budget needs a price for \(plan.model): add [prices.\"\(plan.model)\"] to herd.toml")
            }
            if plan.spentUSD + remaining > budget {
                throw BuildError(String(format: "the plan estimates $%.2f more (after $%.2f spent), which passes --budget $%.2f; "
                                        + "nothing was started (see `herd build --plan`)", remaining, plan.spentUSD, budget))
            }
        }
    }

    /// A teacher run the budget stopped ends the build.
    func checkBudget(_ r: TeacherRunReport) throws {
        if r.stoppedByBudget {
            throw BuildError(String(format: "stopped by --budget after $%.4f; \(r.remaining) requests still pending", r.totalSpentUSD))
        }
    }

    func outputsExist(_ stage: BuildStage) -> Bool {
        let fm = FileManager.default
        switch stage {
        case .stats: return fm.fileExists(atPath: statsPath)
        case .report: return fm.fileExists(atPath: (reportPath as NSString).appendingPathComponent("index.html"))
        case .export: return fm.fileExists(atPath: (exportPath as NSString).appendingPathComponent(Exporter.manifestName))
        default: return true
        }
    }

    /// The settings a stage's work depends on, as text (paths as written in herd.toml).
    func stageSettings(_ stage: BuildStage) throws -> String {
        let c = config
        switch stage {
        case .ingest:
            var lines = c.sources.map { s in
                "\(s.written)|\(s.format)|\(s.subset ?? "")|\(s.sha256 ?? "")|\(s.isURL ? "url" : String(BuildChecks.byteSize(s.location)))"
            }
            lines.append("skip_bad=\(c.skipBad) seed=\(c.seed)")
            lines += c.subsets.filter { $0.kind == .original }.map { "\($0.name)=\($0.target)" }
            return lines.joined(separator: "\n")
        case .topics:
            guard let t = c.topics else { return "none" }
            return [t.categoryDump, t.pageDump ?? "", t.pagePropsDump ?? ""].map { "\($0)|\($0.isEmpty ? 0 : BuildChecks.byteSize($0))" }
                .joined(separator: "\n") + "\n\(t.fewerWordsThan) \(t.moreSubcatsThan) \(t.morePagesThan)"
        case .instructions:
            let s = teacher.settings(maxTokens: c.generationMaxTokens)
            return "\(teacherText(s)) seed=\(c.seed)\n\(noveltyText)\n"
                + c.subsets.filter { $0.kind == .generated }.map { "\($0.name) \($0.target) \($0.pool ?? "") \($0.topics) \($0.perPrompt ?? 0)" }
                .joined(separator: "\n")
        case .dedup:
            return noveltyText
        case .responses:
            return teacherText(teacher.settings(maxTokens: c.responseMaxTokens))
        case .embed:
            return "\(c.diversity.model) \(c.diversity.samplePerSubset) \(c.diversity.dtype) seed=\(c.seed)"
        case .project:
            return "\(c.diversity.model) \(c.diversity.samplePerSubset) \(c.diversity.perplexity) \(c.diversity.iterations) seed=\(c.seed)"
        case .audit:
            return "\(c.auditPerSubset) seed=\(c.seed)"
        case .stats:
            return ""
        case .report:
            return "\(c.reportOut) \(c.reportTitle ?? "")"
        case .export:
            let e = c.export
            return "\(e.out) \(e.shardRows) \(e.compression) \(e.format) \(e.valFraction) \(e.seed) \(e.subsets ?? []) \(e.includeDuplicates)"
        }
    }

    var noveltyText: String {
        let n = config.novelty
        return "novelty \(n.threshold) \(n.strictBelow) \(n.stem) \(n.scope)"
    }

    func teacherText(_ s: TeacherSettings) -> String {
        "\(s.storedEndpoint) \(s.model) \(s.temperature) \(s.topP) \(s.maxTokens)"
    }

    var noveltyOptions: NoveltyRunOptions {
        var o = NoveltyRunOptions()
        o.threshold = config.novelty.threshold
        o.strictBelow = config.novelty.strictBelow
        o.stem = config.novelty.stem
        o.perSubset = config.novelty.scope == "subset"
        return o
    }

    // MARK: - Stages

    func runStage(_ stage: BuildStage) throws -> String {
        switch stage {
        case .ingest: return try ingest()
        case .topics: return try mineTopics()
        case .instructions: return try generateInstructions()
        case .dedup: return try dedup()
        case .responses: return try answer()
        case .embed: return try embed()
        case .project: return try project()
        case .audit: return try audit()
        case .stats: return try stats()
        case .report: return try report()
        case .export: return try export()
        }
    }

    func ingest() throws -> String {
        var added = 0, known = 0
        var records: Int64 = 0, skipped: Int64 = 0
        for s in config.sources {
            var o = IngestOptions(downloadDirectory: (config.directory as NSString).appendingPathComponent("cache/downloads"))
            o.format = Format(rawValue: s.format)!
            o.subset = s.subset
            o.skipBad = config.skipBad
            o.expectedSHA256 = s.sha256
            for r in try Ingester(store: store, options: o).ingest([s.location]) {
                if r.alreadyIngested { known += 1 } else { added += 1; records += r.records; skipped += r.skipped }
            }
        }
        var sampled: [String] = []
        for spec in config.subsets where spec.kind == .original {
            // First occurrences in corpus order (exact duplicates follow their first in keepOnly).
            let ids = try store.exportableIDs(subsets: [spec.name], includeDuplicates: false)
            guard !ids.isEmpty else {
                throw config.error(spec.keyPath + ".target", "no instructions of \(spec.name) were ingested: add a source for it under [[ingest.sources]]")
            }
            if ids.count <= spec.target {
                sampled.append("\(spec.name) \(ids.count)" + (ids.count < spec.target ? " (all there is; target \(spec.target))" : ""))
                continue
            }
            let chosen = KeyedSample.select(ids: ids, n: spec.target, seed: config.seed).map { ids[$0] }
            try store.keepOnly(subset: spec.name, firstOccurrences: Set(chosen))
            sampled.append("\(spec.name) \(spec.target) of \(ids.count)")
        }
        return "\(added) sources read (\(records) records\(skipped > 0 ? ", \(skipped) bad skipped" : "")), \(known) already in the store"
            + (sampled.isEmpty ? "" : "; sampled " + sampled.joined(separator: ", "))
    }

    func mineTopics() throws -> String {
        guard let t = config.topics else { return "no [topics] dump configured" }
        var options = TopicMiningOptions(categoryDump: t.categoryDump, pageDump: t.pageDump, pagePropsDump: t.pagePropsDump)
        options.rules.fewerWordsThan = t.fewerWordsThan
        options.rules.moreSubcatsThan = t.moreSubcatsThan
        options.rules.morePagesThan = t.morePagesThan
        options.skipBad = config.skipBad
        if let latest = try store.latestTopicMining(), latest.categoryURI == t.categoryDump, latest.rules == options.rules.json,
           latest.pageURI == t.pageDump, latest.pagePropsURI == t.pagePropsDump,
           latest.categorySHA256 == (try SHA256.hexOfFile(atPath: t.categoryDump)) {
            return "\(latest.topics) topics already mined from this dump"
        }
        let m = try TopicMiner.mine(options, store: store)
        return "\(m.categories) categories → \(m.topics) topics"
    }

    /// Per generated subset: finish what is queued, filter, and while the target is not met ask
    /// for as many new prompts as the yield so far says are missing. Every decision is made on a
    /// store with no request open, so a resumed build decides as an unbroken one did.
    func generateInstructions() throws -> String {
        let settings = teacher.settings(maxTokens: config.generationMaxTokens)
        var lines: [String] = []
        for spec in config.subsets where spec.kind == .generated && spec.target > 0 {
            let pool = SeedPool(rawValue: spec.pool!)!
            let perPrompt = spec.perPrompt ?? pool.instructionsPerPrompt
            let seed = subsetSeed(config.seed, spec.name)
            let filter = TeacherQueueFilter(stage: "instructions", subset: spec.name, endpoint: settings.storedEndpoint, model: settings.model)
            var rounds = 0
            var stalled = 0
            var lastKept: Int64 = -1
            while true {
                if try store.openTeacherRequestCount(filter) > 0 {
                    let run = try teacher.runOptions(settings: settings, stage: "instructions", subset: spec.name,
                                                     environment: options.environment)
                    try checkBudget(try TeacherQueueRunner.run(store: store, options: run))
                } else {
                    try TeacherQueueRunner.takeReplies(store: store, filter: filter)
                }
                _ = try StoreNoveltyFilter.run(store: store, options: noveltyOptions)
                let kept = try store.judgedKeptCount(subset: spec.name)
                let prompts = try store.queuedPromptCount(filter)
                if kept >= spec.target {
                    lines.append("\(spec.name) \(kept)/\(spec.target) from \(prompts) prompts")
                    break
                }
                stalled = kept == lastKept ? stalled + 1 : 0
                lastKept = kept
                rounds += 1
                if stalled >= 3 || rounds > config.maxRounds {
                    let statuses = try store.teacherRequestCounts(filter)
                    throw config.error(spec.keyPath + ".target", "\(spec.name) has \(kept) of \(spec.target) instructions after \(prompts) prompts "
                                       + "(\(statuses["failed"] ?? 0) failed requests, \(stalled >= 3 ? "no new instruction in 3 rounds" : "\(config.maxRounds) rounds")); "
                                       + "see `herd generate status`, or lower the target")
                }
                // As many prompts as the yield so far (kept per instruction asked for; one half before
                // any answer) says are missing, but at most as many again as were asked: a small
                // round's yield is a noisy estimate, and a low one would overshoot the target.
                let missing = Double(Int64(spec.target) - kept)
                var more: Int
                if prompts == 0 {
                    more = Int((missing / (Double(perPrompt) * BuildPlanner.priorYield)).rounded(.up))
                } else if kept == 0 {
                    more = prompts
                } else {
                    more = Int((missing / Double(perPrompt) / (Double(kept) / Double(prompts * perPrompt))).rounded(.up))
                    more = min(more, max(prompts, 4))
                }
                more = max(1, more)
                var generation = InstructionGenerationOptions(pool: pool, topicGuided: spec.topics, prompts: prompts + more, seed: seed)
                generation.perPrompt = perPrompt
                let plan = try InstructionPlan(store: store, options: generation)
                _ = try TeacherRequestQueue.enqueueInstructions(plan, settings: settings, store: store)
            }
        }
        return lines.isEmpty ? "no generated subsets" : lines.joined(separator: ", ")
    }

    func dedup() throws -> String {
        let r = try StoreNoveltyFilter.run(store: store, options: noveltyOptions)
        let kept = r.counts.reduce(Int64(0)) { $0 + $1.kept }, dropped = r.counts.reduce(Int64(0)) { $0 + $1.dropped }
        return "\(r.instructions) instructions, \(kept) kept, \(dropped) dropped (\(r.judged) judged now)"
    }

    func answer() throws -> String {
        let settings = teacher.settings(maxTokens: config.responseMaxTokens)
        let queued = try TeacherRequestQueue.enqueueResponses(subset: nil, settings: settings, store: store)
        let run = try teacher.runOptions(settings: settings, stage: "responses", subset: nil, environment: options.environment)
        let r = try TeacherQueueRunner.run(store: store, options: run)
        try checkBudget(r)
        let statuses = try store.teacherRequestCounts(run.filter)
        return "\(queued.added) queued, \(r.answered) answered now, \(statuses["done"] ?? 0) in all"
            + ((statuses["failed"] ?? 0) > 0 ? ", \(statuses["failed"]!) failed" : "")
            + String(format: ", $%.4f spent in all", r.totalSpentUSD)
    }

    func embed() throws -> String {
        var o = StoreEmbeddingOptions()
        o.field = "instruction"
        o.sample = config.diversity.samplePerSubset
        o.perSubset = true
        o.seed = config.seed
        o.elementType = EmbeddingElementType(rawValue: config.diversity.dtype)!
        let encoder = try SentenceEncoder(directory: try BuildChecks.modelFolder(config))
        var meter: ProgressMeter?
        defer { meter?.finish() }
        let r = try StoreEmbedder.run(store: store, encoder: encoder, options: o) { done, total in
            if meter == nil { meter = ProgressMeter(label: "embed", unit: "texts", total: Double(total)) }
            meter?.update(Double(done))
        }
        return "\(r.selected) sampled, \(r.embedded) embedded now, \(r.alreadyEmbedded) already stored (\(r.model.name))"
    }

    func project() throws -> String {
        var o = StoreProjectionOptions()
        o.model = (try BuildChecks.modelFolder(config) as NSString).lastPathComponent
        o.field = "instruction"
        o.sample = config.diversity.samplePerSubset
        o.perSubset = true
        o.tsne.perplexity = config.diversity.perplexity
        o.tsne.iterations = config.diversity.iterations
        o.tsne.seed = config.seed
        var meter: ProgressMeter?
        defer { meter?.finish() }
        let r = try StoreProjector.run(store: store, options: o) { phase, done, total in
            guard phase == "optimise" else { return }
            if meter == nil { meter = ProgressMeter(label: "t-SNE", unit: "iterations", total: Double(total)) }
            meter?.update(Double(done))
        }
        return String(format: "%d points, KL divergence %.4f%@", r.projection.points, r.projection.klDivergence, r.reused ? " (already stored)" : "")
    }

    func audit() throws -> String {
        let r = try AuditSampler.draw(store: store, perSubset: config.auditPerSubset, seed: config.seed)
        return "\(r.pairs) pairs drawn for rating (\(config.auditPerSubset) per subset; `herd audit serve --store \(storePath)`)"
    }

    func stats() throws -> String {
        let s = try StatsCalculator.compute(store: store)
        try writeAtomically(s.json(), to: statsPath)
        return "Table 1 → \(statsPath)"
    }

    func report() throws -> String {
        let r = try ReportBuilder.write(store: store, storePath: storePath, to: reportPath, title: config.reportTitle, generator: "herd build")
        return "\(r.html)"
    }

    func export() throws -> String {
        let e = config.export
        var o = ExportOptions(outputDirectory: exportPath)
        o.shardRows = e.shardRows
        o.compression = Compression(rawValue: e.compression)!
        o.format = ShardFormat(rawValue: e.format)!
        o.valFraction = e.valFraction
        o.seed = e.seed
        o.subsets = e.subsets
        o.includeDuplicates = e.includeDuplicates
        o.showProgress = isatty(STDERR_FILENO) == 1
        let stats = try StatsCalculator.compute(store: store)
        let m = try Exporter.export(store: store, options: o, statsMarkdown: stats.markdownTable())
        return "\(m.totals.rows) rows in \(m.files.count) files → \(exportPath)"
    }
}

func writeAtomically(_ text: String, to path: String) throws {
    let tmp = path + ".tmp"
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
}
