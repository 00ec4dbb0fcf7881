import Checksums
import FastJSON
import Foundation
import Llama
import Teacher

/// How the built-in teacher runs.
public struct LocalTeacherOptions: Sendable {
    /// The GGUF file (default: SmolLM2-135M-Instruct from `make models`).
    public var modelPath = BuiltInTeacher.path
    /// Requests generated together: one forward pass per step for all of them.
    public var batchSize = 32

    public init() {}
}

/// A chat-completions request as the built-in model reads it.
public struct LocalChatRequest: Sendable {
    public var model: String
    public var promptTokens: [Int32]
    public var options: GenerationOptions
    /// The generator's seed: the first 8 bytes of the body's sha256, so the same request gets the
    /// same answer whatever else shares its batch.
    public var seed: UInt64
}

/// The built-in teacher: SmolLM2-135M-Instruct (or any Llama GGUF) run in-process by the Llama
/// engine, behind the same interface as the HTTP client, so generation goes through the same
/// request queue (keys, durability, statistics; cost 0). Requests are answered in batches.
public final class LocalTeacher: ChatCompletionTeacher {
    public let options: LocalTeacherOptions
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let modelName: String
    let stopTokens: Set<Int32>
    public private(set) var stats = HTTPTeacherStats()
    public var runStats: HTTPTeacherStats { stats }

    public init(options: LocalTeacherOptions = LocalTeacherOptions()) throws {
        self.options = options
        guard FileManager.default.fileExists(atPath: options.modelPath) else {
            throw TeacherError("\(options.modelPath): the built-in teacher's model is missing; `make models` fetches it")
        }
        let file = try GGUFFile(path: options.modelPath)
        model = try LlamaModel(gguf: file)
        let tokenizer = try BPETokenizer(try TokenizerVocabulary(gguf: file))
        self.tokenizer = tokenizer
        modelName = LocalTeacher.modelName(path: options.modelPath)
        stopTokens = Set(["<|im_end|>", "<|endoftext|>"].compactMap { tokenizer.id(of: $0) } + [tokenizer.eosID].compactMap { $0 })
    }

    /// The name replies and the ledger give the model: the built-in teacher's own name for its
    /// file, else the file's name without `.gguf`.
    public static func modelName(path: String) -> String {
        path == BuiltInTeacher.path ? BuiltInTeacher.name : ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    /// Reads a chat-completions body: `messages` (system, user and assistant turns; a final
    /// assistant message is the start of the answer, which the model continues), `temperature`
    /// (default 1), `top_p` (default 1), `max_tokens` (default: up to the context).
    public func request(body: [UInt8]) throws -> LocalChatRequest {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch { throw TeacherError("the request body is not JSON: \(error)") }
        guard case let .array(messages)? = value["messages"], !messages.isEmpty else {
            throw TeacherError("the request has no messages")
        }
        var turns: [(role: String, content: String)] = []
        for m in messages {
            guard let role = m["role"]?.stringValue, ["system", "user", "assistant"].contains(role) else {
                throw TeacherError("a message's role must be system, user or assistant")
            }
            guard let content = m["content"]?.stringValue else { throw TeacherError("a message's content must be a string") }
            turns.append((role, content))
        }
        let prompt = ChatTemplate.tokens(turns: turns, tokenizer: tokenizer)
        let room = model.config.contextLength - prompt.count
        guard room > 0 else { throw TeacherError("the prompt has \(prompt.count) tokens; the model's context holds \(model.config.contextLength)") }
        func number(_ key: String) throws -> Double? {
            guard let v = value[key], v != .null else { return nil }
            guard case let .number(text) = v, let d = Double(text) else { throw TeacherError("\(key) must be a number") }
            return d
        }
        let maxTokens = try number("max_tokens").map { Int($0) } ?? room
        guard maxTokens >= 1 else { throw TeacherError("max_tokens must be at least 1") }
        let temperature = try number("temperature") ?? 1
        let topP = try number("top_p") ?? 1
        guard temperature >= 0, topP > 0, topP <= 1 else { throw TeacherError("temperature must be ≥ 0 and top_p in (0, 1]") }
        let digest = SHA256.digest(body)
        let seed = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return LocalChatRequest(model: value["model"]?.stringValue ?? modelName, promptTokens: prompt,
                                options: GenerationOptions(maxTokens: min(maxTokens, room), temperature: Float(temperature),
                                                           topP: Float(topP), stopTokens: stopTokens),
                                seed: seed)
    }

    /// Generates for requests that share their sampling settings, in one batch.
    public func answer(_ requests: [LocalChatRequest]) throws -> [ChatReply] {
        guard let first = requests.first else { return [] }
        let results = try LlamaGenerator(model: model).generate(prompts: requests.map(\.promptTokens), seeds: requests.map(\.seed),
                                                                options: first.options, maxTokens: requests.map(\.options.maxTokens))
        return zip(requests, results).map { request, result in
            var tokens = result.tokens
            let finish = result.finishReason
            if finish == "stop" { tokens.removeLast() } // the stop token is not part of the text
            let content = tokenizer.decode(tokens)
            let completion = Int64(tokens.count + (finish == "stop" ? 1 : 0))
            let raw = JSONWriter.string(.object([
                ("id", .string("chatcmpl-local-\(String(request.seed, radix: 16))")), ("object", .string("chat.completion")),
                ("created", .number("0")), ("model", .string(request.model)),
                ("choices", .array([.object([("index", .number("0")),
                                             ("message", .object([("role", .string("assistant")), ("content", .string(content))])),
                                             ("finish_reason", .string(finish))])])),
                ("usage", .object([("prompt_tokens", .number(String(result.promptTokens))), ("completion_tokens", .number(String(completion))),
                                   ("total_tokens", .number(String(Int64(result.promptTokens) + completion)))])),
            ]))
            return ChatReply(raw: raw, content: content, finishReason: finish, promptTokens: Int64(result.promptTokens),
                             completionTokens: completion)
        }
    }

    public func run(source: TeacherJobSource, deliver: ([(TeacherJob, TeacherOutcome)]) throws -> Void) throws {
        while true {
            var jobs: [TeacherJob] = []
            while jobs.count < max(1, options.batchSize), let job = try source.nextJob() { jobs.append(job) }
            if jobs.isEmpty { return }
            stats.attempts += jobs.count
            var outcomes: [(TeacherJob, TeacherOutcome)] = []
            // Requests with the same sampling settings are generated together.
            var groups: [String: [(TeacherJob, LocalChatRequest)]] = [:]
            var order: [String] = []
            for job in jobs {
                do {
                    let r = try request(body: job.body)
                    let key = "\(r.options.temperature) \(r.options.topP)"
                    if groups[key] == nil { order.append(key) }
                    groups[key, default: []].append((job, r))
                } catch {
                    outcomes.append((job, .failed("\(error)", raw: nil, attempts: 1)))
                }
            }
            for key in order {
                let group = groups[key]!
                let replies = try answer(group.map(\.1))
                for ((job, _), reply) in zip(group, replies) { outcomes.append((job, .answered(reply, attempts: 1))) }
            }
            try deliver(outcomes)
        }
    }
}
