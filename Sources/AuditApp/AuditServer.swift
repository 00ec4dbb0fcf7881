import FastJSON
import FlyingFox
import FlyingSocks
import Foundation
import Store

/// The rating app: one page and a small JSON API, served on 127.0.0.1 only.
///
///     GET    /                    the page
///     GET    /api/state           progress: {rater, total, rated, counts{A..D}, next_unrated}
///     GET    /api/pairs/N         the pair at position N with this reviewer's rating (or null)
///     PUT    /api/ratings/N       {"grade": "A"…"D", "note": "…"}: rate it (committed before the reply)
///     DELETE /api/ratings/N       remove the rating (the page's undo of a first rating)
///
/// Requests must name a loopback host (a page on another site cannot reach the app through DNS
/// rebinding), and writes must be JSON (a cross-site form cannot send them).
public final class AuditServer: Sendable {
    private let server: HTTPServer
    private let book: RatingBook

    /// Opens the app on `store` for reviewer `rater`; port 0 picks a free port.
    public init(store: Store, rater: String, port: UInt16) throws {
        book = try RatingBook(store: store, rater: rater)
        server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: 60, logger: .disabled,
                            handler: AuditHandler(book: book))
    }

    /// Serves until the task is cancelled or the socket fails.
    public func run() async throws {
        do {
            try await server.run()
        } catch let error as SocketError {
            throw AuditAppError("cannot serve on 127.0.0.1: \(error)")
        }
    }

    /// The port once the server listens.
    public func waitForPort() async throws -> UInt16 {
        try await server.waitUntilListening()
        guard case let .ip4(_, port)? = await server.listeningAddress else { throw AuditAppError("the server is not listening") }
        return port
    }

    public func stop() async { await server.stop(timeout: 1) }
}

public struct AuditAppError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

struct AuditHandler: HTTPHandler {
    let book: RatingBook

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await respond(request)
        } catch let error as AppError {
            return json(.object([("error", .string(error.description))]), status: error.status)
        } catch {
            return json(.object([("error", .string(String(describing: error)))]), status: 500)
        }
    }

    private func respond(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard Self.isLoopback(host: request.headers[.host]) else {
            throw AppError(status: 403, "the rating app answers requests to 127.0.0.1 or localhost only")
        }
        let method = request.method.rawValue
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (method, parts.count, parts.first) {
        case ("GET", 0, _):
            return HTTPResponse(statusCode: .ok, headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPHeader("Content-Security-Policy"): AuditPage.contentSecurityPolicy,
                HTTPHeader("X-Content-Type-Options"): "nosniff",
            ], body: Data(AuditPage.html.utf8))
        case ("GET", 2, "api") where parts[1] == "state":
            return json(book.state())
        case ("GET", 3, "api") where parts[1] == "pairs":
            return json(try book.pair(try position(parts[2])))
        case ("PUT", 3, "api") where parts[1] == "ratings":
            let at = try position(parts[2])
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
                throw AppError(status: 415, "send the rating as application/json")
            }
            let body = try await request.bodyData
            guard body.count <= 1 << 20 else { throw AppError(status: 413, "the rating is over 1 MiB") }
            guard let value = try? JSONParser.parse(Array(body)), let grade = value["grade"]?.stringValue else {
                throw AppError(status: 400, "expected a JSON object with a grade (A, B, C or D) and a note")
            }
            return json(try book.rate(at, grade: grade, note: value["note"]?.stringValue ?? ""))
        case ("DELETE", 3, "api") where parts[1] == "ratings":
            return json(try book.unrate(try position(parts[2])))
        case (_, 0, _), (_, 2, "api"), (_, 3, "api"):
            throw AppError(status: 405, "\(method) is not allowed on \(request.path)")
        default:
            throw AppError(status: 404, "no such page: \(request.path)")
        }
    }

    private func position(_ text: String) throws -> Int {
        guard let n = Int(text), n >= 0 else { throw AppError(status: 404, "position \"\(text)\" is not a number") }
        return n
    }

    private func json(_ value: FastJSON.JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(statusCode: HTTPStatusCode(status, phrase: Self.phrase(status)),
                     headers: [.contentType: "application/json", .cacheControl: "no-store"],
                     body: Data(JSONWriter.string(value).utf8))
    }

    private static func phrase(_ status: Int) -> String {
        [200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
         413: "Content Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error"][status] ?? "Error"
    }

    /// 127.0.0.1, localhost or [::1], with any port.
    static func isLoopback(host: String?) -> Bool {
        guard var host = host?.lowercased() else { return false }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<close] == "::1"
        }
        if let colon = host.firstIndex(of: ":") { host = String(host[..<colon]) }
        return host == "127.0.0.1" || host == "localhost"
    }
}
