import FastJSON
import FlyingFox
import FlyingSocks
import Foundation
import LocalTeacher
import Teacher

/// `herd serve`: the built-in model as an OpenAI-compatible chat-completions endpoint on
/// 127.0.0.1, so other tools can use it (and Herd's HTTP client can be tested against a real
/// model).
///
///     POST /v1/chat/completions   {"messages": [...], "temperature", "top_p", "max_tokens"} → chat.completion
///     GET  /v1/models             the one model
///     GET  /health                "ok"
///
/// Requests that arrive together are generated in one batch (up to the teacher's batch size);
/// at temperature 0 decoding is greedy and deterministic, and a request's answer does not depend
/// on what shares its batch. Streaming is not offered.
public final class ChatServer: Sendable {
    private let server: HTTPServer
    private let batcher: Batcher

    public init(teacher: LocalTeacher, port: UInt16) throws {
        batcher = Batcher(teacher: teacher)
        server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: 600, logger: .disabled,
                            handler: ChatHandler(batcher: batcher, model: teacher.modelName))
    }

    public func run() async throws { try await server.run() }

    public func waitForPort() async throws -> UInt16 {
        try await server.waitUntilListening()
        guard case let .ip4(_, port)? = await server.listeningAddress else { throw TeacherError("the server is not listening") }
        return port
    }

    public func stop() async { await server.stop(timeout: 1) }
}

/// Collects requests from concurrent handlers and answers them in batches on one worker thread.
final class Batcher: @unchecked Sendable {
    private let teacher: LocalTeacher
    private let condition = NSCondition()
    private var queue: [(LocalChatRequest, CheckedContinuation<ChatReply, Error>)] = []

    init(teacher: LocalTeacher) {
        self.teacher = teacher
        let thread = Thread { [unowned self] in self.work() }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func answer(_ request: LocalChatRequest) async throws -> ChatReply {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            queue.append((request, continuation))
            condition.signal()
            condition.unlock()
        }
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            // Everything waiting with the first one's sampling settings, up to a batch.
            let first = queue[0].0.options
            var batch: [(LocalChatRequest, CheckedContinuation<ChatReply, Error>)] = []
            var rest: [(LocalChatRequest, CheckedContinuation<ChatReply, Error>)] = []
            for item in queue {
                if batch.count < max(1, teacher.options.batchSize), item.0.options.temperature == first.temperature,
                   item.0.options.topP == first.topP { batch.append(item) } else { rest.append(item) }
            }
            queue = rest
            condition.unlock()
            do {
                let replies = try teacher.answer(batch.map(\.0))
                for (item, reply) in zip(batch, replies) { item.1.resume(returning: reply) }
            } catch {
                for item in batch { item.1.resume(throwing: error) }
            }
        }
    }
}

struct ChatHandler: HTTPHandler {
    let batcher: Batcher
    let model: String

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        switch (request.method.rawValue, request.path) {
        case ("POST", "/v1/chat/completions"):
            let body = Array(try await request.bodyData)
            let parsed: LocalChatRequest
            do {
                parsed = try batcher.teacherRequest(body: body)
            } catch {
                return error400("\(error)")
            }
            if let value = try? JSONParser.parse(body), value["stream"] == .bool(true) {
                return error400("streaming is not supported; send \"stream\": false")
            }
            do {
                let reply = try await batcher.answer(parsed)
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"], body: Data(reply.raw.utf8))
            } catch {
                return json(.object([("error", .object([("message", .string("\(error)")), ("type", .string("server_error"))]))]), status: 500)
            }
        case ("GET", "/v1/models"):
            return json(.object([("object", .string("list")), ("data", .array([.object([
                ("id", .string(model)), ("object", .string("model")), ("created", .number("0")), ("owned_by", .string("herd")),
            ])]))]))
        case ("GET", "/health"):
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("ok".utf8))
        default:
            return json(.object([("error", .object([("message", .string("no route \(request.method.rawValue) \(request.path)")),
                                                     ("type", .string("invalid_request_error"))]))]), status: 404)
        }
    }

    private func error400(_ message: String) -> HTTPResponse {
        json(.object([("error", .object([("message", .string(message)), ("type", .string("invalid_request_error"))]))]), status: 400)
    }

    private func json(_ value: FastJSON.JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(statusCode: HTTPStatusCode(status, phrase: status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 404 ? "Not Found" : "Internal Server Error"),
                     headers: [.contentType: "application/json"], body: Data(JSONWriter.string(value).utf8))
    }
}

extension Batcher {
    /// Parses a body with the teacher's rules (no model state is touched).
    func teacherRequest(body: [UInt8]) throws -> LocalChatRequest { try teacher.request(body: body) }
}
