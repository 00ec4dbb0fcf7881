import ByteStreams
import Checksums
import Export
import FastJSON
import Foundation

/// An export folder (`herd export`) as training data: its manifest, every shard's sha256
/// checked against it, the train and validation shards in manifest order.
public struct ShardDataset: Sendable {
    public let directory: String
    public let manifest: ExportManifest
    /// sha256 of manifest.json, recorded with a run so a resumed run sees the same data.
    public let manifestSHA256: String
    public let trainFiles: [String]
    public let validationFiles: [String]

    public init(directory: String) throws {
        self.directory = directory
        let path = directory + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainError("\(path): no manifest; --data names a folder written by herd export")
        }
        do { manifest = try ExportManifest.decode(data) } catch {
            throw TrainError("\(path): not an export manifest (\(error))")
        }
        guard manifest.format == "jsonl" else {
            throw TrainError("\(path): the shards are \(manifest.format); herd train reads JSONL shards (herd export --format jsonl)")
        }
        for column in ["instruction", "response"] where !manifest.columns.contains(column) {
            throw TrainError("\(path): the shards have no \(column) column")
        }
        manifestSHA256 = SHA256.hex([UInt8](data))
        for f in manifest.files {
            let file = directory + "/" + f.name
            let actual: String
            do { actual = try SHA256.hexOfFile(atPath: file) } catch { throw TrainError("\(file): cannot read (\(error))") }
            guard actual == f.sha256 else {
                throw TrainError("\(file): sha256 \(actual) differs from the manifest's \(f.sha256); the export is damaged or was changed")
            }
        }
        trainFiles = manifest.files.filter { $0.split == "train" }.map { directory + "/" + $0.name }
        validationFiles = manifest.files.filter { $0.split == "validation" }.map { directory + "/" + $0.name }
    }
}

/// An instruction and its response, as the shards hold them.
public struct InstructionPair: Equatable, Sendable {
    public var instruction: String
    public var response: String
}

/// Where a reader stands: the next line to read is line `line` (0-based) of file `file` in pass
/// `epoch` over the files.
public struct DataCursor: Codable, Equatable, Sendable {
    public var epoch = 0
    public var file = 0
    public var line = 0
}

/// Streams pairs from JSONL shards (gzip, zstd or plain) in order, from a cursor, going round
/// again after the last file when `repeating`.
final class PairReader {
    let files: [String]
    let repeating: Bool
    private(set) var cursor: DataCursor
    private var lines: LineReader?
    private var input: InputFile?

    init(files: [String], from cursor: DataCursor = DataCursor(), repeating: Bool) {
        self.files = files; self.cursor = cursor; self.repeating = repeating
    }

    func next() throws -> InstructionPair? {
        var wraps = 0
        while true {
            if lines == nil {
                if cursor.file >= files.count {
                    // Round again, unless a whole pass gave nothing (the files are empty).
                    guard repeating, !files.isEmpty, wraps == 0 else { return nil }
                    wraps = 1
                    cursor = DataCursor(epoch: cursor.epoch + 1, file: 0, line: 0)
                }
                try open(skipping: cursor.line)
            }
            let path = files[cursor.file]
            if let line = try lines!.next() {
                cursor.line += 1
                let value: JSONValue
                do { value = try JSONParser.parse(line.bytes) } catch {
                    throw TrainError("\(path):\(line.number): not a JSON object (\(error))")
                }
                guard case let .string(instruction)? = value["instruction"], case let .string(response)? = value["response"] else {
                    throw TrainError("\(path):\(line.number): expected string fields instruction and response")
                }
                return InstructionPair(instruction: instruction, response: response)
            }
            lines = nil; input = nil
            cursor.file += 1; cursor.line = 0
        }
    }

    private func open(skipping count: Int) throws {
        let path = files[cursor.file]
        let file = try InputFile(path: path)
        guard let member = try file.nextMember() else { throw TrainError("\(path): empty") }
        input = file
        lines = LineReader(source: member.source)
        for _ in 0..<count {
            guard try lines!.next() != nil else { throw TrainError("\(path): shorter than the \(count) lines a checkpoint read") }
        }
    }
}

/// The prompt LaMini-LM's students were trained and are queried with (Alpaca's, without input);
/// the response follows "### Response:" directly and ends with the end-of-sequence token.
public enum AlpacaTemplate {
    public static func prompt(instruction: String) -> String {
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n\(instruction)\n\n### Response:"
    }
}

/// One packed sequence of `contextLength` rows (see `TrainBatch`; documentStart within the sequence).
public struct PackedSequence: Codable, Equatable, Sendable {
    public var tokens: [Int32] = []
    public var positions: [Int32] = []
    public var documentStart: [Int32] = []
    public var targets: [Int32] = []
}

/// Packs tokenised examples into sequences of exactly `contextLength` rows: whole examples one
/// after another, each its own attention document with positions from 0; an example that does
/// not fit closes the sequence (the rest padded, with no targets) and opens the next. An
/// example longer than the context is cut to it. Row i of an example is its token i with
/// target token i + 1 when that token belongs to the response.
public struct SequencePacker: Codable, Equatable, Sendable {
    public let contextLength: Int
    public let paddingToken: Int32
    /// The sequence being filled.
    public private(set) var open = PackedSequence()
    /// Examples that had no response token left within the context (skipped).
    public private(set) var skipped = 0

    public init(contextLength: Int, paddingToken: Int32) {
        self.contextLength = contextLength; self.paddingToken = paddingToken
    }

    /// Adds an example; returns the sequence it closed, if any.
    public mutating func add(prompt: [Int32], response: [Int32]) -> PackedSequence? {
        let tokens = Array((prompt + response).prefix(contextLength + 1))
        let rows = tokens.count - 1
        guard rows >= prompt.count, !response.isEmpty else { skipped += 1; return nil }
        var closed: PackedSequence?
        if open.tokens.count + rows > contextLength { closed = finish() }
        let start = Int32(open.tokens.count)
        for i in 0..<rows {
            open.tokens.append(tokens[i])
            open.positions.append(Int32(i))
            open.documentStart.append(start)
            open.targets.append(i + 1 >= prompt.count ? tokens[i + 1] : -1)
        }
        return closed
    }

    /// Pads and returns the open sequence (nil when empty).
    public mutating func finish() -> PackedSequence? {
        guard !open.tokens.isEmpty else { return nil }
        var s = open
        let start = Int32(s.tokens.count)
        for i in 0..<(contextLength - s.tokens.count) {
            s.tokens.append(paddingToken); s.positions.append(Int32(i)); s.documentStart.append(start); s.targets.append(-1)
        }
        open = PackedSequence()
        return s
    }
}

extension TrainBatch {
    /// Sequences side by side as one micro-batch.
    public init(sequences: [PackedSequence]) {
        var b = TrainBatch(tokens: [], positions: [], documentStart: [], targets: [])
        for s in sequences {
            let base = Int32(b.tokens.count)
            b.tokens += s.tokens; b.positions += s.positions; b.targets += s.targets
            b.documentStart += s.documentStart.map { $0 + base }
        }
        self = b
    }
}
