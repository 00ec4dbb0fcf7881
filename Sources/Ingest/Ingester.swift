import ByteStreams
import Checksums
import FastJSON
import Fetch
import Foundation
import Progress
import Store

public struct IngestOptions {
    public var format: Format = .auto
    /// Overrides every record's subset.
    public var subset: String?
    /// Skip, count and list malformed records instead of stopping.
    public var skipBad = false
    /// For a single URL or file: the sha256 its bytes must have.
    public var expectedSHA256: String?
    /// Where URLs are downloaded to.
    public var downloadDirectory: String
    public var showProgress = isatty(STDERR_FILENO) == 1

    public init(downloadDirectory: String) { self.downloadDirectory = downloadDirectory }
}

/// What ingesting one file did.
public struct SourceReport: Sendable {
    public var uri: String
    public var sha256: String
    public var bytes: Int64
    public var format: String
    /// True when content with this sha256 was already in the store (nothing was written).
    public var alreadyIngested: Bool
    public var records: Int64
    public var duplicates: Int64
    public var skipped: Int64
    public var filtered: Int64
    /// Records per subset added by this file.
    public var subsets: [String: Int64]
    /// The first skipped records, as `FILE:LINE: message`.
    public var badRecords: [String]
}

/// Reads seed files in their published formats into the store: one transaction per file, so a
/// failed or killed ingest leaves the store as it was and a rerun picks up where it stopped.
public final class Ingester {
    private let store: Store
    private let options: IngestOptions
    private let duplicates: ExactDuplicateIndex
    public static let badRecordsListed = 20

    public init(store: Store, options: IngestOptions) throws {
        self.store = store
        self.options = options
        duplicates = try ExactDuplicateIndex(store: store)
    }

    /// Ingests every input (paths, folders, http(s) URLs) in order; stops at the first failing file
    /// (files before it stay ingested).
    public func ingest(_ inputs: [String]) throws -> [SourceReport] {
        var reports: [SourceReport] = []
        for input in inputs {
            if input.hasPrefix("http://") || input.hasPrefix("https://") {
                let local = try download(input)
                reports.append(try ingestFile(path: local, uri: Downloader.redact(input), expectedSHA256: options.expectedSHA256))
                continue
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
                throw InputError(path: input, message: "no such file or folder")
            }
            if isDir.boolValue {
                for file in try dataFiles(inFolder: input) {
                    reports.append(try ingestFile(path: file, uri: file, expectedSHA256: nil))
                }
            } else {
                reports.append(try ingestFile(path: input, uri: input, expectedSHA256: options.expectedSHA256))
            }
        }
        return reports
    }

    /// Data files under a folder, recursively, in name order (P3 ships one folder per task).
    func dataFiles(inFolder folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw InputError(path: folder, message: "cannot list the folder")
        }
        var files: [String] = []
        while let rel = walker.nextObject() as? String {
            let full = (folder as NSString).appendingPathComponent(rel)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
               FormatDetector.isDataFile(name: rel) {
                files.append(full)
            }
        }
        return files.sorted()
    }

    private func download(_ url: String) throws -> String {
        try FileManager.default.createDirectory(atPath: options.downloadDirectory, withIntermediateDirectories: true)
        // Keyed by the URL (without credentials), named after its last path component.
        let clean = Downloader.redact(url)
        var name = URL(string: clean)?.lastPathComponent ?? "download"
        if name.isEmpty || name == "/" { name = "download" }
        let dest = (options.downloadDirectory as NSString).appendingPathComponent(String(SHA256.hex(clean).prefix(16)) + "-" + name)
        let meter = ProgressMeter(label: "download \(name)", unit: "MB", total: nil, enabled: options.showProgress)
        defer { meter.finish() }
        _ = try Downloader().download(url: url, to: dest, expectedSHA256: options.expectedSHA256) { received, _ in
            meter.update(Double(received) / 1e6)
        }
        return dest
    }

    /// Ingests one file (plain, compressed or an archive) in one transaction.
    public func ingestFile(path: String, uri: String, expectedSHA256: String?) throws -> SourceReport {
        let sha = try SHA256.hexOfFile(atPath: path)
        if let expected = expectedSHA256, expected.lowercased() != sha {
            throw InputError(path: uri, message: "sha256 mismatch: expected \(expected.lowercased()), got \(sha)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        if let existing = try store.source(sha256: sha) {
            return SourceReport(uri: uri, sha256: sha, bytes: existing.bytes, format: existing.format, alreadyIngested: true,
                                records: existing.records, duplicates: existing.duplicates, skipped: existing.skipped,
                                filtered: existing.filtered, subsets: [:], badRecords: [])
        }
        let file = try InputFile(path: path)
        let writer = try SourceWriter(store: store, uri: uri, sha256: sha, bytes: size,
                                      format: options.format == .auto ? "auto" : options.format.rawValue)
        var formats: [String] = []
        var filtered: Int64 = 0
        var perSubset: [String: Int64] = [:]
        var badListed: [String] = []
        let meter = ProgressMeter(label: (uri as NSString).lastPathComponent, unit: "MB",
                                  total: file.container == .plain ? Double(size) / 1e6 : nil, enabled: options.showProgress)
        defer { meter.finish() }
        // Reading, parsing and normalising run on a second thread; this one deduplicates and writes.
        let queue = BoundedQueue<[PreparedEvent]>(capacity: 8)
        let producer = Thread { [self] in
            do {
                try self.produce(file: file, uri: uri, path: path, queue: queue, meter: meter)
                queue.put([.end])
            } catch {
                queue.put([.failed(error)])
            }
        }
        producer.stackSize = 8 << 20
        producer.start()
        do {
            consuming: while true {
                for event in queue.take() {
                    switch event {
                    case let .record(r, key):
                        let firstID = try duplicates.firstOccurrence(hash: r.normHash, key: key)
                        let id = try writer.add(r, duplicateOf: firstID)
                        if firstID == nil { duplicates.remember(hash: r.normHash, id: id) }
                        perSubset[r.subset, default: 0] += 1
                    case let .bad(error):
                        guard options.skipBad else { throw error }
                        try writer.addBadRecord(member: error.member, line: error.line.map(Int64.init),
                                                byteOffset: error.byteOffset, message: error.message)
                        if badListed.count < Self.badRecordsListed { badListed.append(error.description) }
                    case .filtered:
                        filtered += 1
                    case let .format(f):
                        if !formats.contains(f) { formats.append(f) }
                    case let .failed(error):
                        throw error
                    case .end:
                        break consuming
                    }
                }
            }
            if formats.isEmpty { throw InputError(path: uri, message: "no data files in the archive (expected .jsonl, .json, .tsv or .tfrecord members)") }
            let info = try writer.commit(filtered: filtered, format: formats.joined(separator: "+"))
            return SourceReport(uri: uri, sha256: sha, bytes: size, format: info.format, alreadyIngested: false,
                                records: info.records, duplicates: info.duplicates, skipped: info.skipped, filtered: info.filtered,
                                subsets: perSubset, badRecords: badListed)
        } catch {
            queue.close() // the producer stops at its next put
            writer.rollback()
            // Forget the hashes this file added: none of its rows exist any more.
            try duplicates.reload()
            throw error
        }
    }

    /// What the reading thread hands to the writing thread.
    enum PreparedEvent {
        case record(NewInstruction, key: String)
        case bad(InputError)
        case filtered
        case format(String)
        case failed(Error)
        case end
    }

    /// Reads every member of `file`, parses, assigns subsets and computes the duplicate keys.
    private func produce(file: InputFile, uri: String, path: String, queue: BoundedQueue<[PreparedEvent]>,
                         meter: ProgressMeter) throws {
        var consumed: Int64 = 0
        var batch: [PreparedEvent] = []
        batch.reserveCapacity(1024)
        func flush() throws {
            if !queue.put(batch) { throw CancellationError() }
            batch = []
            batch.reserveCapacity(1024)
        }
        while let member = try file.nextMember() {
            if member.member != nil, !FormatDetector.isDataFile(name: member.name) { continue }
            let counting = CountingSource(member.source) { n in consumed += Int64(n); meter.update(Double(consumed) / 1e6) }
            let peek = PeekableSource(counting)
            let context = StreamContext(path: uri, member: member.member,
                                        baseName: (member.name as NSString).lastPathComponent,
                                        folderName: folderName(of: member.member ?? path))
            let format = try resolveFormat(name: member.name, peek: peek, context: context)
            batch.append(.format(format.rawValue))
            let reader = makeReader(format: format, source: peek, context: context)
            while let event = try reader.next() {
                switch event {
                case let .record(r):
                    let subset = try subsetFor(r, format: format, context: context)
                    let key = InstructionKey.key(instruction: r.instruction, input: r.input)
                    let meta: String? = r.meta.isEmpty ? nil : JSONWriter.string(.object(r.meta))
                    batch.append(.record(NewInstruction(
                        subset: subset, member: member.member, line: r.line.map(Int64.init), record: Int64(r.record),
                        byteOffset: r.byteOffset, task: r.task, instruction: r.instruction, input: r.input,
                        output: r.output, meta: meta, normHash: InstructionKey.hash(ofKey: key)), key: key))
                case let .bad(error): batch.append(.bad(error))
                case .filtered: batch.append(.filtered)
                }
                if batch.count >= 1024 { try flush() }
            }
        }
        try flush()
    }

    private func folderName(of path: String) -> String? {
        let parent = (path as NSString).deletingLastPathComponent
        let name = (parent as NSString).lastPathComponent
        return name.isEmpty || name == "." || name == "/" ? nil : name
    }

    private func resolveFormat(name: String, peek: PeekableSource, context: StreamContext) throws -> Format {
        if options.format != .auto { return options.format }
        let head = try peek.peek(65_536)
        guard let f = FormatDetector.detect(name: name, head: head) else {
            throw context.error("cannot tell the format: expected a JSON array (Alpaca), JSON Lines with known keys, a .tsv (FLAN CoT) or a .tfrecord (P3); pass --format")
        }
        return f
    }

    private func makeReader(format: Format, source: ByteSource, context: StreamContext) -> RecordReader {
        switch format {
        case .alpaca: return JSONArrayReader(source: source, format: .alpaca, context: context)
        case .flanCot: return FlanCotReader(source: source, context: context)
        case .p3 where context.baseName.contains(".tfrecord"): return P3TFRecordReader(source: source, context: context)
        default: return JSONLinesReader(source: source, format: format, context: context)
        }
    }

    private func subsetFor(_ r: ParsedRecord, format: Format, context: StreamContext) throws -> String {
        if let s = options.subset { return s }
        if let s = r.subset { return s }
        if let s = format.defaultSubset { return s }
        throw context.error("\(format.rawValue) data does not say which subset it belongs to: pass --subset NAME (e.g. original_p3)")
    }
}

/// A blocking queue of bounded length between one producer and one consumer.
final class BoundedQueue<T> {
    private var items: [T] = []
    private let capacity: Int
    private let condition = NSCondition()
    private var closed = false

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false when the consumer closed the queue.
    @discardableResult
    func put(_ item: T) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    func take() -> T {
        condition.lock(); defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock(); closed = true; items.removeAll(); condition.broadcast(); condition.unlock()
    }
}

/// Counts the bytes that pass through.
final class CountingSource: ByteSource {
    private let inner: ByteSource
    private let onRead: (Int) -> Void
    init(_ inner: ByteSource, onRead: @escaping (Int) -> Void) { self.inner = inner; self.onRead = onRead }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        onRead(n)
        return n
    }
}

/// Lets format detection look at the first bytes without consuming them.
final class PeekableSource: ByteSource {
    private let inner: ByteSource
    private var head: [UInt8] = []
    private var headPosition = 0
    init(_ inner: ByteSource) { self.inner = inner }

    func peek(_ count: Int) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while head.count < count {
            let n = try chunk.withUnsafeMutableBytes { try inner.read(into: $0) }
            if n == 0 { break }
            head.append(contentsOf: chunk[0..<n])
        }
        return Array(head.prefix(count))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if headPosition < head.count {
            let n = min(buffer.count, head.count - headPosition)
            head.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + headPosition, byteCount: n) }
            headPosition += n
            return n
        }
        return try inner.read(into: buffer)
    }
}
