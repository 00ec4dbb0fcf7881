import ByteStreams
import FastJSON
import Foundation
import TFRecord

/// One record as a format reader understood it, before subset assignment and deduplication.
public struct ParsedRecord {
    public var instruction: String
    public var input: String
    public var output: String?
    public var task: String?
    /// Format-specific fields, kept as a JSON object.
    public var meta: [(key: String, value: JSONValue)] = []
    /// The row's own subset (LaMini-instruction rows carry `instruction_source`).
    public var subset: String?
    public var line: Int?
    public var record: Int
    public var byteOffset: Int64
}

/// What a reader found next.
public enum ReadEvent {
    case record(ParsedRecord)
    /// A malformed record the reader could step over (skipped and counted under --skip-bad).
    case bad(InputError)
    /// A well-formed record that a format rule leaves out.
    case filtered
}

public protocol RecordReader: AnyObject {
    /// The next event; nil at the end. Throws for problems the reader cannot step over.
    func next() throws -> ReadEvent?
}

/// Why a JSON value is not a valid record of its format.
struct RecordProblem: Error { var message: String }

/// Where the reader is, for messages.
struct StreamContext {
    var path: String
    var member: String?
    /// Member name (or file name) without folders and compression suffix.
    var baseName: String
    /// The folder that holds the stream (P3: the task name).
    var folderName: String?

    func error(line: Int? = nil, offset: Int64? = nil, _ message: String) -> InputError {
        InputError(path: path, member: member, line: line, byteOffset: offset, message: message)
    }

    /// File stem: `t0_train_50k__ag_news_classify.jsonl` → `t0_train_50k__ag_news_classify`.
    var stem: String {
        var s = InputFile.strippingCompressionSuffix(baseName)
        if let dot = s.lastIndex(of: ".") { s = String(s[..<dot]) }
        return s
    }
}

// MARK: - Field access

extension JSONValue {
    var objectMembers: [(key: String, value: JSONValue)]? {
        if case let .object(m) = self { return m }
        return nil
    }
}

func requiredString(_ v: JSONValue, _ key: String, nonEmpty: Bool = false) throws -> String {
    guard let field = v[key] else { throw RecordProblem(message: "expected a string field \"\(key)\", found none") }
    guard let s = field.stringValue else { throw RecordProblem(message: "expected \"\(key)\" to be a string, found \(kindName(field))") }
    if nonEmpty, s.allSatisfy(\.isWhitespace) { throw RecordProblem(message: "expected a non-empty \"\(key)\"") }
    return s
}

func optionalString(_ v: JSONValue, _ key: String) throws -> String? {
    guard let field = v[key], field != .null else { return nil }
    guard let s = field.stringValue else { throw RecordProblem(message: "expected \"\(key)\" to be a string, found \(kindName(field))") }
    return s
}

func kindName(_ v: JSONValue) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
}

// MARK: - Interpreting one JSON record per format

enum JSONRecordFormat {
    /// Turns one JSON value into a record; nil means "filtered by a format rule".
    static func interpret(_ v: JSONValue, format: Format, context: StreamContext) throws -> ParsedRecord? {
        guard v.objectMembers != nil else { throw RecordProblem(message: "expected a JSON object, found \(kindName(v))") }
        var r = ParsedRecord(instruction: "", input: "", output: nil, task: nil, record: 0, byteOffset: 0)
        switch format {
        case .alpaca, .instructionJSONL:
            r.instruction = try requiredString(v, "instruction", nonEmpty: true)
            r.input = try optionalString(v, "input") ?? ""
            r.output = try optionalString(v, "output")
        case .selfInstruct:
            r.instruction = try requiredString(v, "instruction", nonEmpty: true)
            guard case let .array(instances)? = v["instances"] else {
                throw RecordProblem(message: "expected \"instances\" to be an array of {input, output}")
            }
            guard let first = instances.first else { throw RecordProblem(message: "expected at least one instance in \"instances\"") }
            guard first.objectMembers != nil else { throw RecordProblem(message: "expected each instance to be an object") }
            // Alpaca's generator uses a seed task's first instance; the rest are kept in meta.
            r.input = try optionalString(first, "input") ?? ""
            r.output = try optionalString(first, "output")
            r.task = try optionalString(v, "name") ?? optionalString(v, "motivation_app")
            if let id = v["id"] { r.meta.append(("id", id)) }
            if let c = v["is_classification"] { r.meta.append(("is_classification", c)) }
            if let app = v["motivation_app"] { r.meta.append(("motivation_app", app)) }
            if instances.count > 1 { r.meta.append(("more_instances", .array(Array(instances.dropFirst())))) }
        case .promptCompletion:
            var prompt = try requiredString(v, "prompt", nonEmpty: true)
            var completion = try requiredString(v, "completion")
            // The fine-tuning converters append "\n" to the prompt and "<|endoftext|>" to the completion.
            if prompt.hasSuffix("\n") { prompt.removeLast() }
            if completion.hasSuffix("<|endoftext|>") { completion.removeLast("<|endoftext|>".count) }
            r.instruction = prompt
            r.output = completion
            r.task = taskFromStem(context.stem)
        case .p3:
            if let correct = v["is_correct"] {
                if correct == .bool(false) || correct.int64Value == 0 { return nil }
            }
            r.instruction = try requiredString(v, "inputs_pretokenized", nonEmpty: true)
            r.output = try requiredString(v, "targets_pretokenized")
            r.task = try optionalString(v, "task") ?? context.folderName ?? context.stem
            if let choices = v["answer_choices"] { r.meta.append(("answer_choices", choices)) }
        case .flan:
            r.instruction = try requiredString(v, "inputs", nonEmpty: true)
            r.output = try requiredString(v, "targets")
            r.task = try optionalString(v, "task_name") ?? optionalString(v, "task") ?? context.stem
            for key in ["task_source", "template_type"] { if let x = v[key] { r.meta.append((key, x)) } }
        case .lamini:
            r.instruction = try requiredString(v, "instruction", nonEmpty: true)
            r.output = try requiredString(v, "response")
            r.subset = try requiredString(v, "instruction_source", nonEmpty: true)
        case .flanCot, .auto:
            throw RecordProblem(message: "\(format.rawValue) records are not JSON")
        }
        return r
    }

    /// The event for one parsed JSON record, located at `line`/`offset`; a format problem becomes a
    /// bad record whose message starts with `prefix`.
    static func event(_ value: JSONValue, format: Format, context: StreamContext, line: Int, record: Int,
                      offset: Int64, prefix: String = "") -> ReadEvent {
        do {
            guard var r = try interpret(value, format: format, context: context) else { return .filtered }
            r.line = line
            r.record = record
            r.byteOffset = offset
            return .record(r)
        } catch let p as RecordProblem {
            return .bad(context.error(line: line, prefix + p.message))
        } catch {
            return .bad(context.error(line: line, prefix + "\(error)"))
        }
    }

    /// `t0_train_50k__ag_news_classify` → `ag_news_classify`: the exporters join the collection and task with "__".
    static func taskFromStem(_ stem: String) -> String {
        if let r = stem.range(of: "__", options: .backwards) { return String(stem[r.upperBound...]) }
        return stem
    }
}

// MARK: - Readers

/// JSON Lines: one record per non-blank line.
final class JSONLinesReader: RecordReader {
    private let lines: LineReader
    private let format: Format
    private let context: StreamContext
    private var count = 0

    init(source: ByteSource, format: Format, context: StreamContext) {
        lines = LineReader(source: source)
        self.format = format
        self.context = context
    }

    func next() throws -> ReadEvent? {
        while let line = try lines.next() {
            var bytes = line.bytes
            if line.number == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = UnsafeBufferPointer(rebasing: bytes[3...]) } // BOM
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            count += 1
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch let e as JSONError {
                return .bad(context.error(line: line.number, "invalid JSON at column \(e.column): \(e.message)"))
            }
            return JSONRecordFormat.event(value, format: format, context: context, line: line.number, record: count,
                                          offset: line.offset)
        }
        return nil
    }
}

/// One top-level JSON array of records (alpaca_data.json), streamed element by element.
final class JSONArrayReader: RecordReader {
    private let reader: JSONArrayStreamReader
    private let format: Format
    private let context: StreamContext
    private var count = 0

    init(source: ByteSource, format: Format, context: StreamContext) {
        reader = JSONArrayStreamReader(read: { try source.read(into: $0) })
        self.format = format
        self.context = context
    }

    func next() throws -> ReadEvent? {
        let element: (bytes: [UInt8], line: Int, offset: Int)?
        do {
            element = try reader.next()
        } catch let e as JSONError {
            // The array's framing is broken: nothing after this point can be trusted.
            throw context.error(line: e.line, "\(e.message) (byte offset \(e.offset))")
        }
        guard let element else { return nil }
        count += 1
        let value: JSONValue
        do {
            value = try JSONParser.parse(element.bytes)
        } catch let e as JSONError {
            return .bad(context.error(line: element.line + e.line - 1, "invalid JSON in array element \(count): \(e.message)"))
        }
        return JSONRecordFormat.event(value, format: format, context: context, line: element.line, record: count,
                                      offset: Int64(element.offset), prefix: "array element \(count): ")
    }
}

/// FLAN chain-of-thought TSV: `question \t answer \t rationale`, no header, "\n" written as two characters.
final class FlanCotReader: RecordReader {
    private let lines: LineReader
    private let context: StreamContext
    private var count = 0

    init(source: ByteSource, context: StreamContext) {
        lines = LineReader(source: source)
        self.context = context
    }

    func next() throws -> ReadEvent? {
        while let line = try lines.next() {
            if line.bytes.isEmpty { continue }
            count += 1
            guard let text = String(validating: line.bytes, as: UTF8.self) else {
                let bad = firstInvalidUTF8(line.bytes) ?? 0
                return .bad(context.error(line: line.number, "invalid UTF-8 at byte offset \(line.offset + Int64(bad))"))
            }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                return .bad(context.error(line: line.number,
                                          "expected 3 tab-separated fields (question, answer, rationale), found \(fields.count)"))
            }
            let question = fields[0].replacingOccurrences(of: "\\n", with: "\n")
            if question.allSatisfy(\.isWhitespace) { return .bad(context.error(line: line.number, "expected a non-empty question")) }
            var r = ParsedRecord(instruction: question, input: "", output: String(fields[1]),
                                 task: cotTask(context.stem), line: line.number, record: count, byteOffset: line.offset)
            r.meta = [("rationale", .string(fields[2].replacingOccurrences(of: "\\n", with: "\n")))]
            return .record(r)
        }
        return nil
    }

    /// `cot_qasc_train` → `cot_qasc`.
    private func cotTask(_ stem: String) -> String {
        for suffix in ["_train", "_validation", "_test"] where stem.hasSuffix(suffix) { return String(stem.dropLast(suffix.count)) }
        return stem
    }
}

/// The offset of the first byte that breaks UTF-8, if any.
func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        let n: Int
        if b < 0x80 { i += 1; continue }
        if b >= 0xC2 && b <= 0xDF { n = 2 } else if b >= 0xE0 && b <= 0xEF { n = 3 } else if b >= 0xF0 && b <= 0xF4 { n = 4 } else { return i }
        if i + n > bytes.count { return i }
        if String(validating: UnsafeBufferPointer(rebasing: bytes[i..<(i + n)]), as: UTF8.self) == nil { return i }
        i += n
    }
    return nil
}

/// P3 as released: TFRecord files of tf.train.Example with `inputs_pretokenized` and `targets_pretokenized`.
final class P3TFRecordReader: RecordReader {
    private let records: TFRecordReader
    private let context: StreamContext
    private var count = 0

    init(source: ByteSource, context: StreamContext) {
        records = TFRecordReader(read: { try source.read(into: $0) })
        self.context = context
    }

    func next() throws -> ReadEvent? {
        let item: (data: [UInt8], offset: Int64)?
        do {
            item = try records.next()
        } catch let e as TFRecordError {
            // A broken frame or CRC: the record boundaries after it cannot be trusted.
            throw context.error(offset: e.offset, e.message)
        }
        guard let item else { return nil }
        count += 1
        let example: TFExample
        do {
            example = try TFExample(serialized: item.data)
        } catch let e as TFRecordError {
            return .bad(context.error(offset: item.offset, "record \(count): malformed tf.train.Example: \(e.message)"))
        }
        // *_score_eval tasks hold one example per answer choice: keep only the correct one.
        if let correct = example.int64s("is_correct"), correct.first == 0 { return .filtered }
        guard let input = example.string("inputs_pretokenized"), !input.allSatisfy(\.isWhitespace) else {
            return .bad(context.error(offset: item.offset, "record \(count): expected a UTF-8 bytes feature \"inputs_pretokenized\""))
        }
        guard let target = example.string("targets_pretokenized") else {
            return .bad(context.error(offset: item.offset, "record \(count): expected a UTF-8 bytes feature \"targets_pretokenized\""))
        }
        var r = ParsedRecord(instruction: input, input: "", output: target, task: context.folderName ?? context.stem,
                             line: nil, record: count, byteOffset: item.offset)
        if let choices = example.strings("answer_choices") { r.meta.append(("answer_choices", .array(choices.map { .string($0) }))) }
        if let split = context.baseName.components(separatedBy: ".tfrecord").first, !split.isEmpty {
            r.meta.append(("split", .string(split)))
        }
        return .record(r)
    }
}
