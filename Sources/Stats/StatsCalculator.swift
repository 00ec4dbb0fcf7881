import Foundation
import Store

public enum StatsError: Error, CustomStringConvertible {
    case unknownSubset(id: Int64, subset: String)

    public var description: String {
        switch self {
        case let .unknownSubset(id, subset):
            return "instruction \(id) names subset \"\(subset)\", which the store's subsets table does not list"
        }
    }
}

/// Computes `CorpusStats` in one pass over the instructions table.
///
/// The id range is cut into chunks that worker threads (each with its own reader connection)
/// take in turn. A chunk is read in id order and every row goes to its subset's accumulators and,
/// for corpus subsets, to the total's, so each text is tokenised once. Within a run of rows of
/// one corpus subset, once the subset's and the total's windows hold the same 50 tokens, only the
/// subset's is updated and the total catches up when the run ends (`TotalStream`).
/// Every chunk starts its MATTR windows empty and remembers their first 49 tokens; joining the
/// chunks in id order (`MattrWindow.append`) gives exactly the MATTR of the whole streams: each
/// subset in corpus order, and the corpus subsets together in id order.
///
/// Rows are read with a query of its own on the instructions table (by id range, with the
/// subset), since `Store.forEachInstruction` reads one subset at a time and the total needs
/// all corpus subsets in id order.
public enum StatsCalculator {
    public static func compute(store: Store) throws -> CorpusStats {
        try compute(store: store, threads: nil, idsPerChunk: nil)
    }

    /// `threads`: worker threads (default: the active processors, at most 8).
    /// `idsPerChunk`: width of the id ranges handed out (default: about 16 chunks per thread).
    public static func compute(store: Store, threads: Int?, idsPerChunk: Int64? = nil) throws -> CorpusStats {
        let infos = try store.subsets()
        let isCorpus = infos.map { $0.role != "seed" }
        let idRange = try store.instructionIDRange()
        let minID = idRange?.lowerBound, maxID = idRange?.upperBound

        var chunks: [(lo: Int64, hi: Int64)] = []
        var threadCount = max(1, threads ?? min(ProcessInfo.processInfo.activeProcessorCount, 8))
        if let minID, let maxID {
            let span = maxID - minID + 1
            let width = max(1, idsPerChunk ?? max(2048, (span + Int64(threadCount * 16) - 1) / Int64(threadCount * 16)))
            var lo = minID
            while lo <= maxID {
                let hi = lo > maxID - width ? maxID + 1 : lo + width
                chunks.append((lo, hi))
                lo = hi
            }
        }
        threadCount = max(1, min(threadCount, chunks.count))

        let job = Job(chunkCount: chunks.count)
        let work: (Int) -> Void = { _ in
            do {
                let worker = try Worker(store: store, subsets: infos, isCorpus: isCorpus)
                while let k = job.nextChunk() {
                    let r = try worker.run(lo: chunks[k].lo, hi: chunks[k].hi)
                    job.finish(chunk: k, r)
                }
            } catch {
                job.fail(error)
            }
        }
        // Dedicated threads: libdispatch's concurrentPerform may run every iteration on one thread.
        let done = DispatchSemaphore(value: 0)
        for t in 1..<threadCount {
            let thread = Thread {
                work(t)
                done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        work(0)
        for _ in 1..<threadCount { done.wait() }
        if let error = job.error { throw error }

        // Join the chunks in id order.
        let results = job.results.map { $0! }
        var subsets: [(name: String, role: String, stats: SubsetStats)] = []
        var totalCounts = Counts()
        var corpusFirstIDs: [[Int64]] = []
        var corpusDuplicateOf: [Int64] = []
        for (si, info) in infos.enumerated() {
            var counts = Counts()
            let instr = MattrWindow(), resp = MattrWindow()
            var instrStream = instr, respStream = resp
            var firstIDs: [Int64] = []
            var duplicateOf: [Int64] = []
            for r in results {
                guard let p = r.partials[si] else { continue }
                counts.add(p.counts)
                instrStream.append(p.instr)
                respStream.append(p.resp)
                firstIDs += p.firstIDs
                duplicateOf += p.duplicateOf
            }
            // Distinct canonical ids: the first occurrences (distinct ids, ascending in chunk
            // order), plus the distinct originals of the duplicates that are not among them.
            let originals = Self.sortedUnique(duplicateOf)
            let unique = firstIDs.count + originals.filter { !Self.contains(firstIDs, $0) }.count
            let stats = counts.stats(unique: Int64(unique), instr: instrStream, resp: respStream)
            instr.deallocate(); resp.deallocate()
            subsets.append((info.name, info.role, stats))
            if isCorpus[si] {
                totalCounts.add(counts)
                corpusFirstIDs.append(firstIDs)
                corpusDuplicateOf += originals
            }
        }
        let instr = MattrWindow(), resp = MattrWindow()
        var instrStream = instr, respStream = resp
        for r in results {
            instrStream.append(r.totalInstr)
            respStream.append(r.totalResp)
        }
        let originals = Self.sortedUnique(corpusDuplicateOf)
        let unique = corpusFirstIDs.reduce(0) { $0 + $1.count }
            + originals.filter { c in !corpusFirstIDs.contains { Self.contains($0, c) } }.count
        let total = totalCounts.stats(unique: Int64(unique), instr: instrStream, resp: respStream)
        instr.deallocate(); resp.deallocate()
        return CorpusStats(subsets: subsets, total: total)
    }

    static func sortedUnique(_ values: [Int64]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(values.count)
        for v in values.sorted() where out.last != v { out.append(v) }
        return out
    }

    /// Binary search in an ascending array.
    static func contains(_ sorted: [Int64], _ v: Int64) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == v
    }

    /// Words in a text as the `*_words` columns count them: maximal runs of characters that are
    /// not Unicode `White_Space` (U+0009–U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A,
    /// U+2028, U+2029, U+202F, U+205F, U+3000). Punctuation and digits are word characters:
    /// `"e.g. 3rd-party,"` is 2 words; U+001C–U+001F and U+200B do not separate words.
    public static func wordCount(_ text: String) -> Int64 {
        var counter = WordCounter()
        var t = text
        return t.withUTF8 { counter.count($0) }
    }
}

/// `StatsCalculator.wordCount` over UTF-8 bytes, with one scanner kept for many texts (one
/// counter per thread), for callers that read rows as bytes.
public struct WordCounter {
    private var scanner = TextScanner()

    public init() {}

    public mutating func count(_ utf8: UnsafeBufferPointer<UInt8>) -> Int64 {
        var sink = NullSink()
        return scanner.scan(utf8, into: &sink)
    }
}

struct NullSink: TokenSink {
    @inline(__always) mutating func add(_ hash: UInt64) {}
}

/// Additive counts of one stream.
struct Counts {
    var count: Int64 = 0
    var withResponse: Int64 = 0
    var instructionWords: Int64 = 0
    var responseWords: Int64 = 0

    mutating func add(_ o: Counts) {
        count += o.count; withResponse += o.withResponse
        instructionWords += o.instructionWords; responseWords += o.responseWords
    }

    func stats(unique: Int64, instr: MattrWindow, resp: MattrWindow) -> SubsetStats {
        SubsetStats(count: count, uniqueInstructions: unique, withResponse: withResponse,
                    instructionWords: instructionWords, responseWords: responseWords,
                    avgInstructionWords: count == 0 ? 0 : Double(instructionWords) / Double(count),
                    avgResponseWords: withResponse == 0 ? 0 : Double(responseWords) / Double(withResponse),
                    mattrInstruction: instr.mattr * 100, mattrResponse: resp.mattr * 100)
    }
}

/// One subset's accumulators within one chunk.
struct Partial {
    var counts = Counts()
    var instr = MattrWindow()
    var resp = MattrWindow()
    /// Ids of the rows that are first occurrences, ascending.
    var firstIDs: [Int64] = []
    /// The first occurrence of each duplicate row.
    var duplicateOf: [Int64] = []

    func deallocate() { instr.deallocate(); resp.deallocate() }
}

/// What one chunk produced; owns its windows.
final class ChunkResult {
    var partials: [Partial?]
    var totalInstr = MattrWindow()
    var totalResp = MattrWindow()

    init(subsetCount: Int) { partials = Array(repeating: nil, count: subsetCount) }

    deinit {
        for p in partials { p?.deallocate() }
        totalInstr.deallocate(); totalResp.deallocate()
    }
}

/// The chunk queue and results, shared by the workers.
final class Job: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let chunkCount: Int
    private(set) var results: [ChunkResult?]
    private(set) var error: Error?

    init(chunkCount: Int) {
        self.chunkCount = chunkCount
        results = Array(repeating: nil, count: chunkCount)
    }

    func nextChunk() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard error == nil, next < chunkCount else { return nil }
        next += 1
        return next - 1
    }

    func finish(chunk: Int, _ r: ChunkResult) {
        lock.lock(); defer { lock.unlock() }
        results[chunk] = r
    }

    func fail(_ e: Error) {
        lock.lock(); defer { lock.unlock() }
        if error == nil { error = e }
    }
}

/// The total's stream of one kind (instructions or responses) within a chunk. While a run of
/// rows of one corpus subset goes on, once both streams have taken 50 of its tokens the total's
/// window equals the subset's: the total then stops taking tokens (`mark` is set) and catches
/// up when the run ends.
struct TotalStream {
    var window: MattrWindow
    var runTokens: Int64 = 0
    var mark: ShadowMark?

    /// Scans `text` into the subset's window, and into the total's unless it is shadowing.
    @inline(__always)
    mutating func scan(_ text: UnsafeBufferPointer<UInt8>, subset: inout MattrWindow,
                       scanner: inout TextScanner) -> Int64 {
        if mark != nil {
            var sink = WindowSink(window: subset)
            let words = scanner.scan(text, into: &sink)
            subset = sink.window
            return words
        }
        var sink = PairSink(a: subset, b: window)
        let before = window.total
        let words = scanner.scan(text, into: &sink)
        subset = sink.a
        window = sink.b
        runTokens += window.total - before
        return words
    }

    /// After a row: start shadowing once the run has given both streams 50 tokens.
    @inline(__always)
    mutating func rowDone(subset: MattrWindow) {
        if mark == nil && runTokens >= Int64(MattrWindow.size) {
            mark = ShadowMark(own: window.position, leader: subset.position)
        }
    }

    /// The run of `subset` ends.
    mutating func endRun(subset: MattrWindow) {
        if let m = mark { window.catchUp(with: subset, since: m) }
        mark = nil
        runTokens = 0
    }
}

/// One thread's reader: its own connection, statement and scanner.
final class Worker {
    private let store: Store
    private let db: Database
    private let subsetIndex: [String: Int]
    private let isCorpus: [Bool]
    private var scanner = TextScanner()

    init(store: Store, subsets: [SubsetInfo], isCorpus: [Bool]) throws {
        self.store = store
        db = try store.readerConnection()
        var index: [String: Int] = [:]
        for (i, s) in subsets.enumerated() { index[s.name] = i }
        subsetIndex = index
        self.isCorpus = isCorpus
    }

    func run(lo: Int64, hi: Int64) throws -> ChunkResult {
        let result = ChunkResult(subsetCount: isCorpus.count)

        var lastName: [UInt8] = []
        var si = -1                 // subset of `cur`
        var cur = Partial()         // taken out of result.partials while in use
        var corpus = false
        var runSubset = -1          // corpus subset of the current run
        var totalInstr = TotalStream(window: result.totalInstr)
        var totalResp = TotalStream(window: result.totalResp)
        var scanner = self.scanner
        defer {
            if si >= 0 { result.partials[si] = cur } else { cur.deallocate() }
            if runSubset >= 0, let p = result.partials[runSubset] {
                totalInstr.endRun(subset: p.instr)
                totalResp.endRun(subset: p.resp)
            }
            result.totalInstr = totalInstr.window
            result.totalResp = totalResp.window
            self.scanner = scanner
        }

        try store.forEachInstruction(ids: lo..<hi, connection: db) { v in
            let id = v.id
            let name = v.subset
            if si < 0 || !Self.equal(name, lastName) {
                let n = String(decoding: name, as: UTF8.self)
                guard let next = subsetIndex[n] else { throw StatsError.unknownSubset(id: id, subset: n) }
                if si >= 0 { result.partials[si] = cur } else { cur.deallocate() }
                if isCorpus[next] && next != runSubset {
                    if runSubset >= 0, let p = result.partials[runSubset] {
                        totalInstr.endRun(subset: p.instr)
                        totalResp.endRun(subset: p.resp)
                    }
                    runSubset = next
                }
                si = next
                if let p = result.partials[si] {
                    cur = p
                    result.partials[si] = nil
                } else {
                    cur = Partial()
                }
                corpus = isCorpus[si]
                lastName = Array(name)
            }
            let instruction = v.instruction
            let input = v.input
            let hasOutput = v.hasOutput
            let output = v.output

            cur.counts.count += 1
            if !v.isDuplicate { cur.firstIDs.append(id) } else { cur.duplicateOf.append(v.canonicalID) }
            if corpus {
                cur.counts.instructionWords += totalInstr.scan(instruction, subset: &cur.instr, scanner: &scanner)
                cur.counts.instructionWords += totalInstr.scan(input, subset: &cur.instr, scanner: &scanner)
                totalInstr.rowDone(subset: cur.instr)
                if hasOutput {
                    cur.counts.withResponse += 1
                    cur.counts.responseWords += totalResp.scan(output, subset: &cur.resp, scanner: &scanner)
                    totalResp.rowDone(subset: cur.resp)
                }
            } else {
                var sink = WindowSink(window: cur.instr)
                cur.counts.instructionWords += scanner.scan(instruction, into: &sink)
                cur.counts.instructionWords += scanner.scan(input, into: &sink)
                cur.instr = sink.window
                if hasOutput {
                    cur.counts.withResponse += 1
                    var rs = WindowSink(window: cur.resp)
                    cur.counts.responseWords += scanner.scan(output, into: &rs)
                    cur.resp = rs.window
                }
            }
        }
        return result
    }

    @inline(__always)
    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return b.withUnsafeBufferPointer { memcmp(a.baseAddress!, $0.baseAddress!, a.count) == 0 }
    }
}
