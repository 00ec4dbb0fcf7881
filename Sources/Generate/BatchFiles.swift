import ByteStreams
import Checksums
import FastJSON
import Foundation
import Ingest
import Store

/// The teacher and sampling settings of chat-completions requests.
public struct TeacherSettings: Sendable {
    /// Base URL of an OpenAI-compatible API (requests go to `<endpoint>/v1/chat/completions`).
    public var endpoint = "https://api.openai.com"
    /// LaMini-LM's teacher.
    public var model = "gpt-3.5-turbo"
    public var temperature = 1.0
    public var topP = 1.0
    public var maxTokens = 2048

    public init() {}
}

/// Chat-completions request bodies and their queue keys.
public enum ChatRequest {
    /// The body, compact JSON with a fixed key order: `model`, `messages`, `temperature`, `top_p`, `max_tokens`.
    public static func body(settings: TeacherSettings, system: String?, user: String) -> String {
        var messages: [JSONValue] = []
        if let system { messages.append(.object([("role", .string("system")), ("content", .string(system))])) }
        messages.append(.object([("role", .string("user")), ("content", .string(user))]))
        return JSONWriter.string(.object([
            ("model", .string(settings.model)), ("messages", .array(messages)),
            ("temperature", .number(String(settings.temperature))), ("top_p", .number(String(settings.topP))),
            ("max_tokens", .number(String(settings.maxTokens))),
        ]))
    }

    /// The queue key: sha256 of the endpoint, a newline and the body. The same request is the same key.
    public static func key(endpoint: String, body: String) -> String {
        SHA256.hex(endpoint + "\n" + body)
    }
}

/// What an import did.
public struct BatchImportReport: Sendable {
    public var lines = 0
    public var answered = 0
    public var failed = 0
    /// Lines whose request was already answered (an import repeated): nothing changed.
    public var alreadyDone = 0
    public var instructions = 0
    public var duplicates = 0
    public var emptyExamples = 0
    public var truncatedExamples = 0
    public var filtered: [AlpacaFilterReason: Int] = [:]
    /// The output file was imported before (same sha256): nothing to do.
    public var alreadyImported = false
}

/// OpenAI Batch API files: pending requests out as input lines, results in by `custom_id`
/// (the same files `vllm run-batch` reads and writes).
public enum BatchFiles {
    /// Writes `requests` as Batch API input lines `{"custom_id","method","url","body"}` to `path`.
    public static func writeInput(_ requests: [TeacherRequestInfo], to path: String) throws {
        var out: [UInt8] = []
        for r in requests {
            let body = try JSONParser.parse(Array(r.body.utf8))
            JSONWriter.append(.object([("custom_id", .string(r.key)), ("method", .string("POST")),
                                       ("url", .string("/v1/chat/completions")), ("body", body)]), to: &out)
            out.append(0x0A)
        }
        let tmp = path + ".tmp"
        try Data(out).write(to: URL(fileURLWithPath: tmp))
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
    }

    /// Loads Batch API output (and error) files into the store in one transaction: each line's
    /// request by `custom_id` gets its reply or failure, and the instructions a generation reply
    /// holds join the request's subset. Lines of requests already answered change nothing.
    public static func importResults(_ paths: [String], store: Store, alpacaFilters: Bool) throws -> BatchImportReport {
        var report = BatchImportReport()
        let data = try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let sha = SHA256.hex(data.reduce(Data(), +))
        if try store.source(sha256: sha) != nil { report.alreadyImported = true; return report }
        let duplicates = try ExactDuplicateIndex(store: store)
        let writer = try SourceWriter(store: store, uri: paths.joined(separator: " "), sha256: sha,
                                      bytes: Int64(data.reduce(0) { $0 + $1.count }), format: "openai-batch-output")
        do {
            var record: Int64 = 0
            for (path, bytes) in zip(paths, data) {
                let lines = LineReader(source: MemoryByteSource(Array(bytes)))
                while let line = try lines.next() {
                    if line.bytes.isEmpty { continue }
                    report.lines += 1
                    func fail(_ message: String) -> InputError { InputError(path: path, line: line.number, message: message) }
                    let value: JSONValue
                    do { value = try JSONParser.parse(line.bytes) } catch { throw fail("invalid JSON: \(error)") }
                    guard case let .string(key)? = value["custom_id"] else { throw fail("expected a string \"custom_id\"") }
                    guard let request = try store.teacherRequest(key: key) else {
                        throw fail("custom_id \(key) is not a request of this store")
                    }
                    if request.status == "done" { report.alreadyDone += 1; continue }
                    let raw = String(decoding: line.bytes, as: UTF8.self)
                    // A result: response.status_code 200 with a chat completion; anything else is a failure.
                    let body = value["response"]?["body"]
                    guard value["response"]?["status_code"]?.int64Value == 200,
                          case let .string(content)? = body?["choices"]?[0]?["message"]?["content"] else {
                        let message: String
                        if case let .string(m)? = value["error"]?["message"] { message = m } else if
                            case let .string(m)? = body?["error"]?["message"] { message = m } else {
                            message = "no successful chat completion in this line"
                        }
                        try store.failTeacherRequest(key: key, error: message, raw: raw)
                        report.failed += 1
                        continue
                    }
                    var finish: String? = nil
                    if case let .string(f)? = body?["choices"]?[0]?["finish_reason"] { finish = f }
                    try store.completeTeacherRequest(key: key, reply: TeacherReply(
                        raw: raw, content: content, finishReason: finish,
                        promptTokens: body?["usage"]?["prompt_tokens"]?.int64Value,
                        completionTokens: body?["usage"]?["completion_tokens"]?.int64Value))
                    report.answered += 1
                    guard request.stage == "instructions" else { continue }
                    let parsed = ReplyParser.parse(content, finishReason: finish)
                    report.emptyExamples += parsed.empty
                    report.truncatedExamples += parsed.truncated
                    for (n, text) in parsed.instructions.enumerated() {
                        if alpacaFilters, let reason = AlpacaFilters.reason(text) { report.filtered[reason, default: 0] += 1; continue }
                        record += 1
                        let nkey = InstructionKey.key(instruction: text, input: "")
                        let hash = InstructionKey.hash(ofKey: nkey)
                        let first = try duplicates.firstOccurrence(hash: hash, key: nkey)
                        let meta = JSONWriter.string(.object([("request", .string(key)), ("example", .number(String(n + 1)))]))
                        let id = try writer.add(NewInstruction(subset: request.subset, member: nil, line: Int64(line.number), record: record,
                                                               byteOffset: line.offset, task: nil, instruction: text, input: "",
                                                               output: nil, meta: meta, normHash: hash), duplicateOf: first)
                        if first == nil { duplicates.remember(hash: hash, id: id) } else { report.duplicates += 1 }
                        report.instructions += 1
                    }
                }
            }
            _ = try writer.commit(filtered: Int64(report.filtered.values.reduce(0, +)), format: "openai-batch-output")
        } catch {
            writer.rollback()
            throw error
        }
        return report
    }
}
