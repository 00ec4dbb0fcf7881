import Checksums
import FastJSON
import Foundation
import Progress
import Sampling
import Store

/// Sharded, deterministic, atomic JSONL export of a store.
///
/// What it does, in order:
/// 1. Picks the rows: those `Store.exportableIDs` gives for the chosen subsets (corpus order), less
///    the rows without a response (counted in `totals.skippedWithoutResponse`), found by sequential
///    passes over id ranges on two threads (`Store.exportCandidates`, see `plannedIDs`).
/// 2. Shuffles them with `DeterministicShuffle` (SplitMix64-driven Fisher–Yates) seeded with `seed`;
///    the first `Int((valFraction * n).rounded())` form `validation`, the rest `train`.
/// 3. Cuts each split into shards of `shardRows` rows in shuffled order and writes them on two
///    threads, each with its own reader connection: per shard one `exportRows` call on its ids sorted
///    ascending (inside one read transaction), then the lines in shuffled order. Each thread holds one
///    shard's rows at a time.
/// 4. Every shard goes to `.<name>.tmp` first. Only when all are complete are they renamed into
///    place, then `manifest.json` (temp-then-rename), then `README.md`; files listed by an earlier
///    export's manifest that the new one does not have are removed last. A failed export removes
///    its temporary files and leaves an earlier export in the folder untouched.
///
/// The output is byte-identical for the same store and options.
public enum Exporter {
    /// The keys of every line, in order.
    public static let columns = ["instruction", "response", "instruction_source", "response_source", "id"]
    public static let manifestName = "manifest.json"
    public static let cardName = "README.md"
    public static let splits = ["train", "validation"]
    /// Threads writing shards.
    public static let workerCount = 2
    /// Uncompressed bytes gathered before they go to the compressor.
    static let chunkBytes = 1 << 20

    /// `train-00000-of-00003.jsonl.gz` (or `.parquet`, compressed inside): 0-based index and count, five digits each.
    public static func shardName(split: String, index: Int, count: Int, compression: Compression, format: ShardFormat = .jsonl) -> String {
        "\(split)-\(fiveDigits(index))-of-\(fiveDigits(count))" + shardSuffix(format: format, compression: compression)
    }

    /// What follows the shard's number: `.jsonl` and the compression's suffix, or `.parquet`.
    public static func shardSuffix(format: ShardFormat, compression: Compression) -> String {
        format == .parquet ? ".parquet" : ".jsonl" + compression.fileSuffix
    }


    private static func fiveDigits(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 5 ? s : String(repeating: "0", count: 5 - s.count) + s
    }

    /// The temporary name a file is written under before it is renamed to `name`.
    public static func temporaryName(_ name: String) -> String { ".\(name).tmp" }

    public static func export(store: Store, options: ExportOptions, statsMarkdown: String) throws -> ExportManifest {
        guard options.shardRows >= 1 else {
            throw ExportError.invalidOption("shardRows must be at least 1 (got \(options.shardRows))")
        }
        guard options.valFraction.isFinite, options.valFraction >= 0, options.valFraction < 1 else {
            throw ExportError.invalidOption("the validation fraction must be at least 0 and below 1 (got \(options.valFraction))")
        }
        let directory = options.outputDirectory
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ExportError.outputIsNotDirectory(directory)
        }

        // 1. Rows.
        let subsets = try selectSubsets(store: store, asked: options.subsets)
        var (ids, candidates, skipped) = try plannedIDs(store: store, subsets: subsets,
                                                      includeDuplicates: options.includeDuplicates)
        let subsetList = subsets.joined(separator: ", ")
        if candidates == 0 {
            throw ExportError.nothingToExport("subset\(subsets.count == 1 ? "" : "s") \(subsetList) \(subsets.count == 1 ? "has" : "have") no rows"
                + (options.includeDuplicates ? "" : " that are not duplicates"))
        }
        if ids.isEmpty {
            throw ExportError.nothingToExport("none of the \(candidates) rows of \(subsetList) has a response")
        }

        // 2. Shuffle and split.
        DeterministicShuffle.shuffle(&ids, seed: options.seed)
        let n = ids.count
        let validationRows = Int((options.valFraction * Double(n)).rounded())
        let ranges = ["train": validationRows..<n, "validation": 0..<validationRows]

        // 3. Shards.
        var plans: [ShardPlan] = []
        for split in splits {
            let range = ranges[split]!
            let count = range.count / options.shardRows + (range.count % options.shardRows == 0 ? 0 : 1)
            for index in 0..<count {
                let lower = range.lowerBound + index * options.shardRows
                let upper = lower + min(options.shardRows, range.upperBound - lower)
                plans.append(ShardPlan(split: split, name: shardName(split: split, index: index, count: count,
                                                                     compression: options.compression, format: options.format),
                                       range: lower..<upper))
            }
        }
        let newNames = Set(plans.map(\.name))

        try createDirectory(directory)
        // rename(2) onto a regular file does not fail in practice; onto a folder it does. Refuse early
        // rather than half-replace an earlier export.
        for name in plans.map(\.name) + [manifestName, cardName] {
            var st = stat()
            if lstat(path(directory, name), &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
                throw ExportError.io(path: path(directory, name), message: "is in the way: not a regular file")
            }
        }
        removeStaleTemporaries(in: directory)
        let oldNames = previousExportFiles(in: directory)

        let progress = ProgressMeter(label: "export", unit: "rows", total: Double(n),
                                     enabled: options.showProgress && isatty(STDERR_FILENO) == 1)
        var results: [ShardResult]
        do {
            results = try writeShards(plans, ids: ids, store: store, directory: directory,
                                      compression: options.compression, format: options.format,
                                      rowGroupRows: options.parquetRowGroupRows, progress: progress)
        } catch {
            progress.finish()
            for plan in plans { unlink(path(directory, temporaryName(plan.name))) }
            throw error
        }
        progress.finish()

        // 4. Into place: shards, manifest, card; then the earlier export's leftovers.
        for plan in plans {
            let from = path(directory, temporaryName(plan.name)), to = path(directory, plan.name)
            if rename(from, to) != 0 {
                let message = String(cString: strerror(errno))
                for p in plans { unlink(path(directory, temporaryName(p.name))) }
                throw ExportError.io(path: to, message: "cannot rename \(temporaryName(plan.name)) into place: \(message)")
            }
        }
        syncDirectory(directory)

        var rowsPerSubset = Dictionary(uniqueKeysWithValues: subsets.map { ($0, Int64(0)) })
        var rowsPerSplit = Dictionary(uniqueKeysWithValues: splits.map { ($0, Int64(0)) })
        for r in results {
            for (subset, count) in r.rowsPerSubset { rowsPerSubset[subset, default: 0] += count }
            rowsPerSplit[r.file.split, default: 0] += r.file.rows
        }
        let files = results.map(\.file)
        let manifest = ExportManifest(
            format: options.format.rawValue, compression: options.compression.rawValue, seed: options.seed,
            valFraction: options.valFraction, shardRows: options.shardRows, columns: columns, files: files,
            totals: .init(rows: files.reduce(0) { $0 + $1.rows }, bytes: files.reduce(0) { $0 + $1.bytes },
                          uncompressedBytes: files.reduce(0) { $0 + $1.uncompressedBytes },
                          rowsPerSplit: rowsPerSplit, rowsPerSubset: rowsPerSubset, skippedWithoutResponse: skipped))
        try writeAtomically(try manifest.encoded(), name: manifestName, directory: directory)
        try writeAtomically(Array(DatasetCard.render(manifest: manifest, statsMarkdown: statsMarkdown).utf8),
                            name: cardName, directory: directory)
        for name in oldNames where !newNames.contains(name) {
            unlink(path(directory, name))
        }
        syncDirectory(directory)
        return manifest
    }

    // MARK: - Choosing rows

    private static func selectSubsets(store: Store, asked: [String]?) throws -> [String] {
        let all = try store.subsets()
        guard let asked else {
            let corpus = all.filter { $0.role == "corpus" }.map(\.name)
            if corpus.isEmpty {
                throw ExportError.nothingToExport(all.isEmpty
                    ? "the store has no instructions"
                    : "the store has no corpus subsets (seed subsets \(all.map(\.name).joined(separator: ", ")) are exported only when named)")
            }
            return corpus
        }
        let known = Set(all.map(\.name))
        var seen = Set<String>(), unknown: [String] = [], chosen: [String] = []
        for name in asked where seen.insert(name).inserted {
            if known.contains(name) { chosen.append(name) } else { unknown.append(name) }
        }
        if !unknown.isEmpty {
            throw ExportError.unknownSubsets(unknown: unknown,
                                             known: all.map { $0.role == "corpus" ? $0.name : "\($0.name) (\($0.role))" })
        }
        if chosen.isEmpty { throw ExportError.nothingToExport("no subsets were named") }
        return chosen
    }

    /// The rows to export, ascending: what `Store.exportableIDs(subsets:includeDuplicates:)` returns, less
    /// the rows without a response (`skipped`); `candidates` counts both. The id range is cut in
    /// `workerCount` parts scanned sequentially on their own reader connections.
    /// `testPlannedIDsMatchStore` checks the result against `exportableIDs`.
    static func plannedIDs(store: Store, subsets: [String], includeDuplicates: Bool) throws
        -> (ids: [Int64], candidates: Int, skipped: Int64) {
        guard let range = try store.instructionIDRange() else { return ([], 0, 0) }
        let (first, last) = (range.lowerBound, range.upperBound)
        let parts = workerCount
        let span = (last - first) / Int64(parts) + 1
        let wanted = Set(subsets)
        var results = [Result<(ids: [Int64], candidates: Int, withoutOutput: Int64), Error>?](repeating: nil, count: parts)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let lower = first + Int64(part) * span
            let upper = part == parts - 1 ? last : min(lower + span - 1, last)
            let r = Result {
                try store.exportCandidates(ids: lower...max(lower, upper), subsets: wanted, includeDuplicates: includeDuplicates,
                                           connection: try store.readerConnection())
            }
            lock.lock(); results[part] = r; lock.unlock()
        }
        var ids: [Int64] = []
        var candidates = 0
        var skipped: Int64 = 0
        for r in results {
            let part = try r!.get()
            ids += part.ids
            candidates += part.candidates
            skipped += part.withoutOutput
        }
        return (ids, candidates, skipped)
    }

    // MARK: - Writing shards

    struct ShardPlan {
        var split: String
        var name: String
        /// Positions in the shuffled id list.
        var range: Range<Int>
    }

    struct ShardResult {
        var file: ManifestFile
        var rowsPerSubset: [String: Int64]
    }

    private static func writeShards(_ plans: [ShardPlan], ids: [Int64], store: Store, directory: String,
                                    compression: Compression, format: ShardFormat, rowGroupRows: Int,
                                    progress: ProgressMeter) throws -> [ShardResult] {
        let lock = NSLock()
        var next = 0
        var results = [ShardResult?](repeating: nil, count: plans.count)
        var firstError: Error?
        var rowsDone = 0
        let report: (Int) -> Void = { delta in
            lock.lock()
            rowsDone += delta
            progress.update(Double(rowsDone))
            lock.unlock()
        }
        let workers = min(workerCount, plans.count)
        ids.withUnsafeBufferPointer { ids in
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                let connection: Database
                do {
                    connection = try store.readerConnection()
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                    return
                }
                while true {
                    lock.lock()
                    if firstError != nil || next >= plans.count { lock.unlock(); return }
                    let k = next
                    next += 1
                    lock.unlock()
                    do {
                        let plan = plans[k]
                        let shardIDs = UnsafeBufferPointer(rebasing: ids[plan.range])
                        let shardPath = path(directory, temporaryName(plan.name))
                        let result = format == .parquet
                            ? try writeParquetShard(plan, ids: shardIDs, store: store, connection: connection, path: shardPath,
                                                    compression: compression, rowGroupRows: rowGroupRows, report: report)
                            : try writeShard(plan, ids: shardIDs, store: store, connection: connection, path: shardPath,
                                             compression: compression, report: report)
                        lock.lock(); results[k] = result; lock.unlock()
                    } catch {
                        lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                        return
                    }
                }
            }
        }
        if let firstError { throw firstError }
        return results.map { $0! }
    }

    private static let keyInstruction = Array(#"{"instruction":"#.utf8)
    private static let keyResponse = Array(#","response":"#.utf8)
    private static let keyInstructionSource = Array(#","instruction_source":"#.utf8)
    private static let keyResponseSource = Array(#","response_source":"#.utf8)
    private static let keyID = Array(#","id":"herd-"#.utf8)
    private static let lineEnd = Array("\"}\n".utf8)

    /// One shard's rows read in one `exportRows` call (ids ascending), and for each shuffled
    /// position p the index of its row (`rows[rank[p]]`).
    private static func shardRows(_ plan: ShardPlan, ids: UnsafeBufferPointer<Int64>, store: Store,
                                  connection: Database) throws -> (rows: [ExportRow], sortedIDs: [Int64], rank: [Int32]) {
        let m = ids.count
        // rank[p]: where the p-th shuffled id falls in ascending order.
        var byID = (0..<m).map { (id: ids[$0], position: Int32($0)) }
        byID.sort { $0.id < $1.id }
        let sortedIDs = byID.map(\.id)
        var rank = [Int32](repeating: 0, count: m)
        for (k, e) in byID.enumerated() { rank[Int(e.position)] = Int32(k) }
        let rows = try store.exportRows(ids: sortedIDs, connection: connection)
        guard rows.count == m else { throw ExportError.storeChanged("\(m - rows.count) rows of \(plan.name) are gone") }
        return (rows, sortedIDs, rank)
    }

    /// The same rows and columns as a JSONL shard, as one Parquet file in shuffled order.
    private static func writeParquetShard(_ plan: ShardPlan, ids: UnsafeBufferPointer<Int64>, store: Store, connection: Database,
                                          path: String, compression: Compression, rowGroupRows: Int,
                                          report: (Int) -> Void) throws -> ShardResult {
        let (rows, sortedIDs, rank) = try shardRows(plan, ids: ids, store: store, connection: connection)
        let file = try ShardFileWriter(path: path, compression: .none)
        let table = try ParquetStringTableWriter(columns: columns, codec: compression, rowGroupRows: rowGroupRows) {
            try file.write($0)
        }
        var subsetCounts: [String: Int64] = [:]
        var reported = 0
        let idPrefix = Array("herd-".utf8)
        var idBytes: [UInt8] = []
        for p in 0..<rows.count {
            let row = rows[Int(rank[p])]
            guard row.id == sortedIDs[Int(rank[p])] else { throw ExportError.storeChanged("row \(sortedIDs[Int(rank[p])]) is gone") }
            guard let output = row.output else { throw ExportError.storeChanged("row \(row.id) lost its response") }
            table.add(column: 0, row.input.isEmpty ? row.instruction : row.instruction + ":" + row.input)
            table.add(column: 1, output)
            table.add(column: 2, row.subset)
            table.add(column: 3, row.responseSource)
            idBytes.removeAll(keepingCapacity: true)
            idBytes += idPrefix
            appendDecimal(row.id, to: &idBytes)
            idBytes.withUnsafeBufferPointer { table.add(column: 4, $0) }
            try table.endRow()
            subsetCounts[row.subset, default: 0] += 1
            if p + 1 - reported >= 4096 { report(p + 1 - reported); reported = p + 1 }
        }
        try table.finish()
        let sha256 = try file.finish()
        report(rows.count - reported)
        return ShardResult(file: ManifestFile(name: plan.name, split: plan.split, rows: Int64(rows.count), bytes: file.bytesWritten,
                                              sha256: sha256, uncompressedBytes: file.uncompressedBytes),
                           rowsPerSubset: subsetCounts)
    }

    /// Reads one shard's rows (one `exportRows` call, ids ascending) and writes them in shuffled order.
    private static func writeShard(_ plan: ShardPlan, ids: UnsafeBufferPointer<Int64>, store: Store, connection: Database,
                                   path: String, compression: Compression, report: (Int) -> Void) throws -> ShardResult {
        let (rows, sortedIDs, rank) = try shardRows(plan, ids: ids, store: store, connection: connection)
        let m = rows.count

        let writer = try ShardFileWriter(path: path, compression: compression)
        var subsetCounts: [String: (escaped: [UInt8], count: Int64)] = [:]
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkBytes + (64 << 10))
        var reported = 0
        for p in 0..<m {
            let row = rows[Int(rank[p])]
            guard row.id == sortedIDs[Int(rank[p])] else { throw ExportError.storeChanged("row \(sortedIDs[Int(rank[p])]) is gone") }
            guard let output = row.output else { throw ExportError.storeChanged("row \(row.id) lost its response") }
            buffer.append(contentsOf: keyInstruction)
            if row.input.isEmpty {
                JSONWriter.appendString(row.instruction, to: &buffer)
            } else {
                JSONWriter.appendString(row.instruction + ":" + row.input, to: &buffer)
            }
            buffer.append(contentsOf: keyResponse)
            JSONWriter.appendString(output, to: &buffer)
            buffer.append(contentsOf: keyInstructionSource)
            if let entry = subsetCounts[row.subset] {
                buffer.append(contentsOf: entry.escaped)
                subsetCounts[row.subset]!.count += 1
            } else {
                var escaped: [UInt8] = []
                JSONWriter.appendString(row.subset, to: &escaped)
                buffer.append(contentsOf: escaped)
                subsetCounts[row.subset] = (escaped, 1)
            }
            buffer.append(contentsOf: keyResponseSource)
            JSONWriter.appendString(row.responseSource, to: &buffer)
            buffer.append(contentsOf: keyID)
            appendDecimal(row.id, to: &buffer)
            buffer.append(contentsOf: lineEnd)
            if buffer.count >= chunkBytes {
                try writer.write(buffer)
                buffer.removeAll(keepingCapacity: true)
                report(p + 1 - reported)
                reported = p + 1
            }
        }
        try writer.write(buffer)
        let sha256 = try writer.finish()
        report(m - reported)
        return ShardResult(file: ManifestFile(name: plan.name, split: plan.split, rows: Int64(m), bytes: writer.bytesWritten,
                                              sha256: sha256, uncompressedBytes: writer.uncompressedBytes),
                           rowsPerSubset: subsetCounts.mapValues(\.count))
    }

    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes: room for 20 digits
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    // MARK: - Files

    private static func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    private static func createDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ExportError.io(path: directory, message: "cannot create the folder: \(error.localizedDescription)")
        }
    }

    /// Whether `name` is one of the file names an export writes (shards, manifest, card).
    static func isExportFileName(_ name: String) -> Bool {
        if name == manifestName || name == cardName { return true }
        // <split>-NNNNN-of-NNNNN.jsonl[.gz|.zst] or .parquet
        for split in splits where name.hasPrefix(split + "-") {
            var rest = Substring(name.dropFirst(split.count + 1))
            for suffix in Compression.allCases.map({ ".jsonl" + $0.fileSuffix }) + [".parquet"] where rest.hasSuffix(suffix) {
                rest = rest.dropLast(suffix.count)
                let parts = rest.split(separator: "-", omittingEmptySubsequences: false)
                return parts.count == 3 && parts[1] == "of" && parts[0].count == 5 && parts[2].count == 5
                    && parts[0].allSatisfy(\.isASCIIDigitLike) && parts[2].allSatisfy(\.isASCIIDigitLike)
            }
        }
        return false
    }

    /// Removes `.<name>.tmp` files an interrupted export left (names an export writes only).
    private static func removeStaleTemporaries(in directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries where entry.hasPrefix(".") && entry.hasSuffix(".tmp") {
            let name = String(entry.dropFirst().dropLast(4))
            if isExportFileName(name) { unlink(path(directory, entry)) }
        }
    }

    /// The files listed by the manifest of an export already in the folder (names of export files only).
    private static func previousExportFiles(in directory: String) -> [String] {
        struct Listing: Decodable { struct File: Decodable { var name: String }; var files: [File] }
        guard let data = FileManager.default.contents(atPath: path(directory, manifestName)),
              let listing = try? JSONDecoder().decode(Listing.self, from: data) else { return [] }
        return listing.files.map(\.name).filter { isExportFileName($0) && $0 != manifestName && $0 != cardName }
    }

    /// Writes `.<name>.tmp`, syncs it and renames it to `name`.
    private static func writeAtomically(_ bytes: [UInt8], name: String, directory: String) throws {
        let temporary = path(directory, temporaryName(name))
        do {
            let writer = try ShardFileWriter(path: temporary, compression: .none)
            try writer.write(bytes)
            _ = try writer.finish()
        } catch {
            unlink(temporary)
            throw error
        }
        if rename(temporary, path(directory, name)) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw ExportError.io(path: path(directory, name), message: "cannot rename \(temporaryName(name)) into place: \(message)")
        }
    }

    /// fsync on the folder, so the renames survive a crash (best effort).
    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

private extension Character {
    var isASCIIDigitLike: Bool { isASCII && isNumber }
}
