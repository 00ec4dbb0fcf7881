import CCurlShim
import Fetch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One request for a teacher: an id the caller knows it by, the chat-completions body, and the
/// tokens it is expected to use (prompt estimate plus `max_tokens`), charged to the TPM limit.
public struct TeacherJob: Sendable {
    public var id: Int64
    public var body: [UInt8]
    public var tokens: Int

    public init(id: Int64, body: [UInt8], tokens: Int) {
        self.id = id; self.body = body; self.tokens = tokens
    }
}

/// How a job ended.
public enum TeacherOutcome: Sendable, Equatable {
    case answered(ChatReply, attempts: Int)
    case failed(String, raw: String?, attempts: Int)
}

/// Where an HTTP teacher takes its jobs from. `nextJob` returning nil means "nothing now": the
/// teacher asks again after it delivered outcomes, and ends when it gets nil with nothing in flight.
public protocol TeacherJobSource: AnyObject {
    func nextJob() throws -> TeacherJob?
}

/// A teacher that answers chat-completions jobs: the HTTP client, or the built-in model.
public protocol ChatCompletionTeacher: AnyObject {
    /// Runs until `source` has no more jobs and every job it gave has an outcome; `deliver` gets
    /// outcomes as they come and may throw to stop.
    func run(source: TeacherJobSource, deliver: ([(TeacherJob, TeacherOutcome)]) throws -> Void) throws
    /// Attempts made and of those retries.
    var runStats: HTTPTeacherStats { get }
}

public struct TeacherError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Settings of an OpenAI-compatible chat-completions endpoint and of how hard to drive it.
public struct HTTPTeacherOptions: Sendable {
    /// The full URL requests are POSTed to (`<base>/v1/chat/completions`).
    public var url: String
    /// Sent as `Authorization: Bearer …`; held in memory only.
    public var apiKey: String?
    public var concurrency = 32
    /// Seconds one attempt may take, connection included.
    public var requestTimeout = 600.0
    public var connectTimeout = 30.0
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var retry = RetryPolicy()

    public init(url: String, apiKey: String?) {
        self.url = url; self.apiKey = apiKey
    }
}

/// What a run of the teacher did.
public struct HTTPTeacherStats: Sendable {
    public var attempts = 0
    public var retries = 0

    public init() {}
}

private let teacherCurlInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// Sends chat-completions requests through libcurl's multi interface: many in flight on one
/// thread, connections kept alive and reused, HTTP/2 over TLS where the server offers it.
/// Requests go out under the client-side rate limits; 429, 408, 5xx, timeouts, resets and broken
/// replies are retried with backoff (honouring `Retry-After`); other 4xx fail that request; 401,
/// 403 and 404 stop the run, since no request would succeed.
public final class HTTPTeacher: ChatCompletionTeacher {
    public let options: HTTPTeacherOptions
    public private(set) var stats = HTTPTeacherStats()
    public var runStats: HTTPTeacherStats { stats }

    public init(options: HTTPTeacherOptions) {
        self.options = options
    }

    /// Runs until `source` has no more jobs and every job it gave has an outcome. `deliver` gets
    /// the outcomes as they come (several at once when they finish together) and may throw to stop.
    public func run(source: TeacherJobSource, deliver: ([(TeacherJob, TeacherOutcome)]) throws -> Void) throws {
        guard teacherCurlInit == CURLE_OK else { throw TeacherError("curl_global_init failed") }
        guard let multi = curl_multi_init() else { throw TeacherError("curl_multi_init failed") }
        let concurrency = max(1, options.concurrency)
        _ = herd_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, concurrency)
        _ = herd_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, concurrency)
        _ = herd_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)

        var headers: UnsafeMutablePointer<curl_slist>? = nil
        for h in ["Content-Type: application/json", "Accept: application/json", "Expect:"] {
            headers = curl_slist_append(headers, h)
        }
        if let key = options.apiKey, !key.isEmpty { headers = curl_slist_append(headers, "Authorization: Bearer \(key)") }

        var idle: [Transfer] = []
        var active: [UnsafeMutableRawPointer: Transfer] = [:]
        defer {
            for t in active.values { curl_multi_remove_handle(multi, t.handle) }
            for t in Array(active.values) + idle { t.close() }
            curl_multi_cleanup(multi)
            curl_slist_free_all(headers)
        }

        var limiter = RateLimiter(requestsPerMinute: options.requestsPerMinute, tokensPerMinute: options.tokensPerMinute)
        var retries: [(due: Double, job: TeacherJob, attempt: Int)] = []
        var held: (job: TeacherJob, attempt: Int)? = nil
        var sourceDry = false
        var random = SystemRandomNumberGenerator()

        while true {
            var now = monotonicSeconds()
            // Start what the concurrency and the rate limits allow: due retries first, then new jobs.
            while active.count < concurrency {
                if held == nil {
                    if let i = retries.indices.min(by: { retries[$0].due < retries[$1].due }), retries[i].due <= now {
                        let r = retries.remove(at: i)
                        held = (r.job, r.attempt)
                    } else if !sourceDry {
                        if let job = try source.nextJob() { held = (job, 1) } else { sourceDry = true }
                    }
                }
                guard let h = held else { break }
                if limiter.delay(now: now) > 0 { break }
                limiter.take(tokens: h.job.tokens, now: now)
                held = nil
                let transfer = try idle.popLast() ?? Transfer(options: options, headers: headers)
                try transfer.prepare(job: h.job, attempt: h.attempt)
                let rc = curl_multi_add_handle(multi, transfer.handle)
                guard rc == CURLM_OK else { throw TeacherError("curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))") }
                active[transfer.handle] = transfer
                stats.attempts += 1
            }
            if active.isEmpty && retries.isEmpty && held == nil && sourceDry { break }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)

            var finished: [(TeacherJob, TeacherOutcome)] = []
            var left: Int32 = 0
            now = monotonicSeconds()
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = active.removeValue(forKey: easy) else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, easy)
                let verdict = transfer.verdict(code: code)
                let job = transfer.job!
                let attempt = transfer.attempt
                transfer.finish()
                idle.append(transfer)
                switch verdict {
                case .answered(let reply):
                    if let used = reply.promptTokens.flatMap({ p in reply.completionTokens.map { Int(p + $0) } }) {
                        limiter.refund(tokens: job.tokens - used, now: now)
                    }
                    finished.append((job, .answered(reply, attempts: attempt)))
                case .fail(let message, let raw):
                    finished.append((job, .failed(message, raw: raw, attempts: attempt)))
                case .retry(let message, let retryAfter):
                    if attempt >= options.retry.maxAttempts {
                        finished.append((job, .failed("\(message) (gave up after \(attempt) attempts)", raw: nil, attempts: attempt)))
                    } else {
                        let wait = options.retry.delay(afterAttempt: attempt, retryAfter: retryAfter,
                                                      jitter: Double.random(in: 0..<1, using: &random))
                        if retryAfter != nil { limiter.pause(until: now + wait) }
                        retries.append((now + wait, job, attempt + 1))
                        stats.retries += 1
                    }
                case .fatal(let message):
                    throw TeacherError("\(Downloader.redact(options.url)): \(message)")
                }
            }
            if !finished.isEmpty {
                try deliver(finished)
                sourceDry = false
                continue
            }

            // Sleep until a transfer moves, a retry falls due or the rate limit lets the held job go.
            var wake = now + 1
            if let due = retries.map(\.due).min() { wake = min(wake, due) }
            if held != nil, active.count < concurrency { wake = min(wake, now + limiter.delay(now: now)) }
            let wait = max(0, wake - now)
            if active.isEmpty {
                // Nothing for curl to watch: sleep precisely (a rate limit's spacing is the point).
                if wait > 0 { preciseSleep(wait) }
            } else {
                curl_multi_poll(multi, nil, 0, Int32(wait * 1000), nil)
            }
        }
    }
}

/// One reusable easy handle and the attempt it is carrying.
private final class Transfer {
    let handle: UnsafeMutableRawPointer
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    var job: TeacherJob?
    var attempt = 0
    var body: [UInt8] = []
    var retryAfter: Double?
    var tooLarge = false
    let url: String

    /// Replies larger than this are cut off and retried (a runaway server must not eat the memory).
    static let maxReplyBytes = 64 << 20

    init(options: HTTPTeacherOptions, headers: UnsafeMutablePointer<curl_slist>?) throws {
        guard let h = curl_easy_init() else { throw TeacherError("curl_easy_init failed") }
        handle = h
        url = options.url
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ code: CURLcode) { ok = ok && code == CURLE_OK }
        set(herd_curl_setopt_string(h, CURLOPT_URL, options.url))
        set(herd_curl_restrict_to_http(h))
        set(herd_curl_setopt_long(h, CURLOPT_POST, 1))
        set(herd_curl_setopt_pointer(h, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers)))
        set(herd_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        set(herd_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(options.requestTimeout * 1000)))
        set(herd_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000)))
        set(herd_curl_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)))
        set(herd_curl_setopt_long(h, CURLOPT_PIPEWAIT, 1))
        set(herd_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1))
        set(herd_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, ""))
        set(herd_curl_setopt_string(h, CURLOPT_USERAGENT, "herd/0.1"))
        set(herd_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer))
        set(herd_curl_setopt_write_function(h, teacherWriteCallback))
        set(herd_curl_setopt_pointer(h, CURLOPT_WRITEDATA, opaque))
        set(herd_curl_setopt_header_function(h, teacherHeaderCallback))
        set(herd_curl_setopt_pointer(h, CURLOPT_HEADERDATA, opaque))
        if !ok {
            curl_easy_cleanup(h)
            errorBuffer.deallocate()
            throw TeacherError("\(Downloader.redact(options.url)): libcurl refused an option")
        }
    }

    func prepare(job: TeacherJob, attempt: Int) throws {
        self.job = job
        self.attempt = attempt
        body.removeAll(keepingCapacity: true)
        retryAfter = nil
        tooLarge = false
        errorBuffer[0] = 0
        var ok = herd_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(job.body.count)) == CURLE_OK
        // COPYPOSTFIELDS: libcurl keeps its own copy, so the job may go away before the transfer ends.
        ok = ok && job.body.withUnsafeBytes {
            herd_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
        } == CURLE_OK
        if !ok { throw TeacherError("\(Downloader.redact(url)): libcurl refused the request body") }
    }

    func verdict(code: CURLcode) -> AttemptVerdict {
        if tooLarge { return .retry("reply larger than \(Transfer.maxReplyBytes) bytes", retryAfter: nil) }
        var status = 0
        _ = herd_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        if code != CURLE_OK {
            var message = String(cString: curl_easy_strerror(code))
            let detail = String(cString: errorBuffer)
            if !detail.isEmpty && detail != message { message += " (\(Downloader.redact(detail)))" }
            if Self.isTransient(code) { return .retry(message, retryAfter: nil) }
            return .fatal(message)
        }
        return ChatReplyParser.verdict(status: status, body: body, retryAfter: retryAfter)
    }

    func finish() {
        job = nil
        if body.capacity > 1 << 20 { body = [] } // don't keep a huge buffer around
    }

    func close() {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    func append(_ data: UnsafeRawBufferPointer) -> Bool {
        if body.count + data.count > Transfer.maxReplyBytes { tooLarge = true; return false }
        body.append(contentsOf: data)
        return true
    }

    func header(_ line: String) {
        if line.hasPrefix("HTTP/") { retryAfter = nil; return } // a new response (after 100 Continue, say)
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespacesAndNewlines)
        if name == "retry-after-ms", let ms = Double(value), ms.isFinite {
            retryAfter = max(0, ms / 1000)
        } else if name == "retry-after", retryAfter == nil {
            retryAfter = RetryPolicy.parseRetryAfter(value, now: Date().timeIntervalSince1970)
        }
    }

    static let transientCodes = Set<UInt32>([
        CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_HTTP2, CURLE_PARTIAL_FILE,
        CURLE_OPERATION_TIMEDOUT, CURLE_SSL_CONNECT_ERROR, CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
        CURLE_RECV_ERROR, CURLE_HTTP2_STREAM, CURLE_AGAIN, CURLE_WRITE_ERROR, CURLE_BAD_CONTENT_ENCODING,
    ].map(\.rawValue))

    static func isTransient(_ code: CURLcode) -> Bool { transientCodes.contains(code.rawValue) }
}

private let teacherWriteCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    let total = size * count
    guard let userdata, let data, total > 0 else { return total }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.append(UnsafeRawBufferPointer(start: data, count: total)) ? total : 0
}

private let teacherHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    let total = size * count
    guard let userdata, let data, total > 0 else { return total }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.header(String(decoding: UnsafeRawBufferPointer(start: data, count: total), as: UTF8.self))
    return total
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func preciseSleep(_ seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
