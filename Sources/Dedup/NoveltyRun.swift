import ByteStreams
import FastJSON
import Foundation
import Store

/// How `herd dedup` filters.
public struct NoveltyRunOptions: Sendable {
    /// Drop an instruction whose ROUGE-L F1 with a kept one is above this (Self-Instruct, Alpaca: 0.7).
    public var threshold = 0.7
    /// Lion's variant: keep only when every F1 is below the threshold (drop at F1 >= threshold).
    public var strictBelow = false
    /// rouge_score's `use_stemmer=True`.
    public var stem = false
    /// One pool for the whole store, or each subset against itself.
    public var perSubset = false
    /// Best matches are exact from this score up (see `NoveltyIndex`).
    public var reportFloor = NoveltyIndex.defaultReportFloor
    /// Verdicts written per transaction: a kill loses at most one batch of work.
    public var batchSize = 20_000
    public var threads = 2

    public init() {}

    var settings: NoveltySettings {
        NoveltySettings(threshold: threshold, strictBelow: strictBelow, stem: stem, scope: perSubset ? "subset" : "all",
                        reportFloor: reportFloor)
    }
}

/// What a `herd dedup` run did and what the store now holds.
public struct NoveltyRunReport: Sendable {
    /// Instructions in the visiting order.
    public var instructions = 0
    /// Verdicts found in the store and reused.
    public var resumed = 0
    /// Verdicts made by this run.
    public var judged = 0
    /// Whether earlier verdicts were discarded (other settings, or instructions that now come
    /// before judged ones, such as seed tasks ingested later).
    public var restarted = false
    public var counts: [NoveltySubsetCount] = []
    /// Best-match scores in 10 bins of [0, 1].
    public var histogram: [Int64] = []
}

/// The novelty filter over the store: read → tokenize → filter in order → write verdicts in batches.
/// Resumable (verdicts already in the store are reused) and idempotent.
public enum StoreNoveltyFilter {
    public static func run(store: Store, options: NoveltyRunOptions,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> NoveltyRunReport {
        var report = NoveltyRunReport()
        let settings = options.settings
        if try store.noveltySettings() != settings {
            report.restarted = try store.noveltySettings() != nil
            try store.resetNovelty(settings: settings)
        }

        // Read: ids, subsets and tokens in visiting order.
        let interner = TokenInterner(stem: options.stem)
        var sequences = TokenSequences()
        var ids: [Int64] = []
        var subsetOf: [Int32] = []
        var subsetIndex: [[UInt8]: Int32] = [:]
        try store.forEachInstructionInNoveltyOrder { id, subset, instruction in
            ids.append(id)
            if let s = subsetIndex[Array(subset)] { subsetOf.append(s) } else {
                let s = Int32(subsetIndex.count)
                subsetIndex[Array(subset)] = s
                subsetOf.append(s)
            }
            interner.append(utf8: instruction, to: &sequences)
        }
        report.instructions = ids.count

        // Resume: the stored verdicts must be a prefix of this visiting order.
        var stored = try store.noveltyVisits()
        if stored.count > ids.count || zip(stored, ids).contains(where: { $0.id != $1 }) {
            report.restarted = true
            try store.resetNovelty(settings: settings)
            stored = []
        }
        report.resumed = stored.count

        // One index per pool; keptIDs maps a pool's kept ordinal to the instruction id.
        let pools = options.perSubset ? max(subsetIndex.count, 1) : 1
        let indexes = (0..<pools).map { _ in
            NoveltyIndex(threshold: options.threshold, strictBelow: options.strictBelow, reportFloor: options.reportFloor,
                         threads: options.threads)
        }
        // The token order (rarest first) from the whole corpus keeps the postings short; any order gives the same verdicts.
        for index in indexes { index.useTokenOrder(of: sequences) }
        var keptIDs = [[Int64]](repeating: [], count: pools)
        func pool(_ i: Int) -> Int { options.perSubset ? Int(subsetOf[i]) : 0 }
        for (i, v) in stored.enumerated() where v.kept {
            sequences.withTokens(i) { indexes[pool(i)].addKept($0) }
            keptIDs[pool(i)].append(ids[i])
        }

        // Filter the rest in batches, each batch's verdicts in one transaction.
        var start = stored.count
        while start < ids.count {
            let end = min(start + options.batchSize, ids.count)
            var rows: [NoveltyVerdictRow] = []
            rows.reserveCapacity(end - start)
            // Items of one pool keep their order; pools are independent.
            var byPool = [[Int]](repeating: [], count: pools)
            for i in start..<end { byPool[pool(i)].append(i) }
            var verdictOf = [NoveltyVerdict?](repeating: nil, count: end - start)
            for p in 0..<pools where !byPool[p].isEmpty {
                let verdicts = pools == 1
                    ? indexes[p].offer(sequences, range: start..<end)
                    : indexes[p].offer(batch: byPool[p].map { i in sequences.withTokens(i) { Array($0) } })
                for (k, i) in byPool[p].enumerated() {
                    let v = verdicts[k]
                    verdictOf[i - start] = v
                    if v.kept { keptIDs[p].append(ids[i]) }
                }
            }
            for i in start..<end {
                let v = verdictOf[i - start]!
                rows.append(NoveltyVerdictRow(instructionID: ids[i], visit: Int64(i + 1), kept: v.kept,
                                              bestID: v.bestKept.map { keptIDs[pool(i)][$0] }, score: v.score))
            }
            try store.addNoveltyVerdicts(rows)
            report.judged += end - start
            start = end
            progress?(start, ids.count)
        }
        report.counts = try store.noveltyCounts()
        report.histogram = try store.noveltyScoreHistogram(bins: 10)
        return report
    }
}

/// The novelty filter over a plain file, outside any store: one text per line (or one JSONL field),
/// in file order, one verdict line per input line.
public enum FileNoveltyFilter {
    public struct Summary: Sendable {
        public var lines = 0
        public var kept = 0
    }

    /// Writes `{"line": n, "kept": true|false, "best_line": m|null, "score": s}` per input line to `output`:
    /// `best_line` is the most similar kept line before it and `score` that F1 (0.0 when none).
    public static func run(input: String, output: String, field: String?, options: NoveltyRunOptions) throws -> Summary {
        let interner = TokenInterner(stem: options.stem)
        var sequences = TokenSequences()
        let file = try InputFile(path: input)
        try withExtendedLifetime(file) {
            guard let member = try file.nextMember() else { return }
            let shown = member.member.map { "\(input):\($0)" } ?? input
            let lines = LineReader(source: member.source)
            while let line = try lines.next() {
                guard let field else { interner.append(utf8: line.bytes, to: &sequences); continue }
                let value: JSONValue
                do {
                    value = try JSONParser.parse(line.bytes)
                } catch {
                    throw InputError(path: shown, line: line.number, message: "invalid JSON: \(error)")
                }
                guard case let .string(text)? = value[field] else {
                    throw InputError(path: shown, line: line.number, message: "expected a string field \"\(field)\"")
                }
                interner.append(text, to: &sequences)
            }
        }
        let index = NoveltyIndex(threshold: options.threshold, strictBelow: options.strictBelow,
                                 reportFloor: options.reportFloor, threads: options.threads)
        index.useTokenOrder(of: sequences)
        var keptLines: [Int] = []
        var summary = Summary()
        let tmp = output + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: nil)
        guard let out = FileHandle(forWritingAtPath: tmp) else {
            throw InputError(path: output, message: "cannot write here")
        }
        var buffer: [UInt8] = []
        var start = 0
        while start < sequences.count {
            let end = min(start + options.batchSize, sequences.count)
            let verdicts = index.offer(sequences, range: start..<end)
            for (k, v) in verdicts.enumerated() {
                let line = start + k + 1
                let best = v.bestKept.map { String(keptLines[$0]) } ?? "null"
                buffer += Array("{\"line\":\(line),\"kept\":\(v.kept),\"best_line\":\(best),\"score\":\(v.bestKept == nil ? 0.0 : v.score)}\n".utf8)
                if v.kept { keptLines.append(line); summary.kept += 1 }
            }
            out.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
            start = end
        }
        try out.close()
        summary.lines = sequences.count
        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
        try FileManager.default.moveItem(atPath: tmp, toPath: output)
        return summary
    }
}
