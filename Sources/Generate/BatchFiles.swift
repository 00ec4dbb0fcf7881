import ByteStreams
import Checksums
import FastJSON
import Foundation
import Fetch
import Ingest
import Store

/// The teacher and sampling settings of chat-completions requests.
public struct TeacherSettings: Sendable {
    /// Base URL of an OpenAI-compatible API (requests go to `<endpoint>/v1/chat/completions`).
    public var endpoint = "https://api.openai.com"
    /// The endpoint name requests to the built-in model are keyed under.
    public static let localEndpoint = "local"
    /// LaMini-LM's teacher.
    public var model = "gpt-3.5-turbo"
    public var temperature = 1.0
    public var topP = 1.0
    public var maxTokens = 2048
    /// Text the assistant's turn starts with, which the teacher continues (only teachers that
    /// continue a final assistant message, as the built-in one does, get one): "<example>" holds
    /// a small model to LaMini-LM's answer format.
    public var assistantPrefill: String?

    public init() {}

    /// The endpoint as the store records it: credentials and secret query parameters removed
    /// (some gateways take the key in the URL).
    public var storedEndpoint: String { Downloader.redact(endpoint) }
}

/// Chat-completions request bodies and their queue keys.
public enum ChatRequest {
    /// The body, compact JSON with a fixed key order: `model`, `messages`, `temperature`, `top_p`, `max_tokens`.
    public static func body(settings: TeacherSettings, system: String?, user: String, prefill: String? = nil) -> String {
        var messages: [JSONValue] = []
        if let system { messages.append(.object([("role", .string("system")), ("content", .string(system))])) }
        messages.append(.object([("role", .string("user")), ("content", .string(user))]))
        if let prefill { messages.append(.object([("role", .string("assistant")), ("content", .string(prefill))])) }
        return JSONWriter.string(.object([
            ("model", .string(settings.model)), ("messages", .array(messages)),
            ("temperature", .number(String(settings.temperature))), ("top_p", .number(String(settings.topP))),
            ("max_tokens", .number(String(settings.maxTokens))),
        ]))
    }

    /// Where requests to `endpoint` go: `<endpoint>/v1/chat/completions`, unless the endpoint
    /// already names the API version (`…/v1`) or the whole path.
    public static func url(endpoint: String) -> String {
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/chat/completions") { return base }
        if base.hasSuffix("/v1") { return base + "/chat/completions" }
        return base + "/v1/chat/completions"
    }

    /// The start of the assistant's turn a body asks the teacher to continue (a final assistant
    /// message), or "": replies are read with it in front, as the teacher's whole answer.
    public static func assistantPrefill(body: String) -> String {
        guard let value = try? JSONParser.parse(body), case let .array(messages)? = value["messages"],
              let last = messages.last, last["role"]?.stringValue == "assistant" else { return "" }
        return last["content"]?.stringValue ?? ""
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
    /// Response replies stored as responses.
    public var responses = 0
    public var generation = GenerationCounts()
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
    /// request by `custom_id` gets its reply or failure (and its cost at `prices` × `priceFactor`:
    /// the Batch API is half price), the instructions a generation reply holds join the request's
    /// subset, and a response reply becomes the instruction's response. Lines of requests already
    /// answered change nothing.
    public static func importResults(_ paths: [String], store: Store, alpacaFilters: Bool,
                                     prices: PriceTable = PriceTable(), priceFactor: Double = 0.5) throws -> BatchImportReport {
        var report = BatchImportReport()
        let data = try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let sha = SHA256.hex(data.reduce(Data(), +))
        if try store.source(sha256: sha) != nil { report.alreadyImported = true; return report }
        var intake = GenerationIntake(duplicates: try ExactDuplicateIndex(store: store), alpacaFilters: alpacaFilters)
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
                        try store.failTeacherRequest(id: request.id, error: message, raw: raw, attempts: 1)
                        report.failed += 1
                        continue
                    }
                    let finish = body?["choices"]?[0]?["finish_reason"]?.stringValue
                    let usage = (body?["usage"]?["prompt_tokens"]?.int64Value, body?["usage"]?["completion_tokens"]?.int64Value)
                    try store.completeTeacherRequest(
                        id: request.id,
                        reply: TeacherReply(raw: raw, content: content, finishReason: finish, promptTokens: usage.0, completionTokens: usage.1),
                        attempts: 1,
                        costUSD: prices.cost(model: request.model, promptTokens: usage.0, completionTokens: usage.1, factor: priceFactor))
                    report.answered += 1
                    // Judge replies become ratings when `herd audit judge` takes them.
                    if request.stage == "judge" { continue }
                    if request.stage == "responses", let instruction = request.instructionID {
                        try store.addResponse(instructionID: instruction, model: request.model, requestID: request.id,
                                              response: content, finishReason: finish)
                        report.responses += 1
                        continue
                    }
                    let answer = ChatRequest.assistantPrefill(body: request.body) + content
                    let taken = try intake.take(content: answer, finishReason: finish, requestKey: key) { text, meta, hash, first in
                        record += 1
                        return try writer.add(NewInstruction(subset: request.subset, member: nil, line: Int64(line.number), record: record,
                                                             byteOffset: line.offset, task: nil, instruction: text, input: "",
                                                             output: nil, meta: meta, normHash: hash), duplicateOf: first)
                    }
                    try store.markRepliesTaken(id: request.id, results: taken)
                }
            }
            report.generation = intake.counts
            _ = try writer.commit(filtered: Int64(intake.counts.filteredTotal), format: "openai-batch-output")
        } catch {
            writer.rollback()
            throw error
        }
        return report
    }
}
