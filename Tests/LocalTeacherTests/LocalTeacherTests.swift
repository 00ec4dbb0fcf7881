import FastJSON
import Foundation
import Llama
import LocalTeacher
import ServeApp
import Teacher
import XCTest

/// The built-in teacher answers chat-completions bodies as llama.cpp would (the greedy section of
/// LlamaTests/smollm2_reference.json), in-process and over HTTP through Herd's own libcurl client.
final class LocalTeacherTests: XCTestCase {
    static let reference: JSONValue? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LlamaTests/smollm2_reference.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONParser.parse(Array($0)) }
    }()
    static var shared: LocalTeacher?

    func teacher() throws -> LocalTeacher {
        if let t = Self.shared { return t }
        guard FileManager.default.fileExists(atPath: BuiltInTeacher.path) else { throw XCTSkip("run make models") }
        let t = try LocalTeacher()
        Self.shared = t
        return t
    }

    /// The fixture's greedy prompts as chat-completions bodies (turns read back from the ChatML),
    /// with llama.cpp's continuation as text.
    func greedyCases() throws -> [(body: String, ids: [Int32], text: String, stopped: Bool)] {
        guard case let .array(cases)? = Self.reference?["greedy"] else { throw XCTSkip("no reference") }
        return cases.map { c in
            let prompt = c["prompt"]!.stringValue!
            var messages: [JSONValue] = []
            for part in prompt.components(separatedBy: "<|im_start|>").dropFirst() {
                let turn = part.components(separatedBy: "<|im_end|>")[0]
                guard let newline = turn.firstIndex(of: "\n") else { continue }
                let role = String(turn[..<newline]), content = String(turn[turn.index(after: newline)...])
                if role == "assistant" && content.isEmpty { continue }
                messages.append(.object([("role", .string(role)), ("content", .string(content))]))
            }
            let body = JSONWriter.string(.object([("model", .string("SmolLM2-135M-Instruct")), ("messages", .array(messages)),
                                                   ("temperature", .number("0")), ("top_p", .number("1")), ("max_tokens", .number("64"))]))
            guard case let .array(ids)? = c["ids"], case let .array(continuation)? = c["continuation"] else { return ("", [], "", false) }
            let stopped = [0, 2].contains(continuation.last?.int64Value ?? -1)
            return (body, ids.compactMap { $0.int64Value.map(Int32.init) }, c["text"]?.stringValue ?? "", stopped)
        }
    }

    func testPromptTokensAreTheTemplatesAndRepliesLlamaCpps() throws {
        let t = try teacher()
        let cases = try greedyCases()
        let requests = try cases.map { try t.request(body: Array($0.body.utf8)) }
        for (c, r) in zip(cases, requests) {
            XCTAssertEqual(r.promptTokens, c.ids, "the prompt renders and tokenizes as llama.cpp's")
        }
        // Batched together, each is what llama.cpp gave it alone.
        let replies = try t.answer(requests)
        for (c, reply) in zip(cases, replies) {
            XCTAssertEqual(reply.content, c.text.replacingOccurrences(of: "<|im_end|>", with: ""))
            XCTAssertEqual(reply.finishReason, c.stopped ? "stop" : "length")
        }
        XCTAssertThrowsError(try t.request(body: Array(#"{"messages":[]}"#.utf8))) { XCTAssertEqual("\($0)", "the request has no messages") }
        XCTAssertThrowsError(try t.request(body: Array(#"{"messages":[{"role":"tool","content":"x"}]}"#.utf8)))
    }

    func testServedOverHTTPToHerdsClient() async throws {
        let t = try teacher()
        let server = try ChatServer(teacher: t, port: 0)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let port = try await server.waitForPort()
        let cases = try greedyCases()
        final class Jobs: TeacherJobSource {
            var jobs: [TeacherJob]
            init(_ jobs: [TeacherJob]) { self.jobs = jobs.reversed() }
            func nextJob() throws -> TeacherJob? { jobs.popLast() }
        }
        var outcomes: [Int64: TeacherOutcome] = [:]
        let client = HTTPTeacher(options: HTTPTeacherOptions(url: "http://127.0.0.1:\(port)/v1/chat/completions", apiKey: nil))
        try client.run(source: Jobs(cases.enumerated().map { TeacherJob(id: Int64($0.offset), body: Array($0.element.body.utf8), tokens: 100) })) {
            for (job, outcome) in $0 { outcomes[job.id] = outcome }
        }
        for (k, c) in cases.enumerated() {
            guard case let .answered(reply, attempts)? = outcomes[Int64(k)] else { return XCTFail("no answer for \(k): \(String(describing: outcomes[Int64(k)]))") }
            XCTAssertEqual(attempts, 1)
            XCTAssertEqual(reply.content, c.text.replacingOccurrences(of: "<|im_end|>", with: ""))
            XCTAssertEqual(reply.promptTokens, Int64(c.ids.count))
        }
        await server.stop()
    }
}
