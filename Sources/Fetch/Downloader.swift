import CCurlShim
import Checksums
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct DownloadResult: Equatable {
    /// The destination path the file now lives at.
    public var path: String
    /// Size of the finished file.
    public var bytes: Int64
    /// Lowercase hex SHA-256 of the whole finished file.
    public var sha256: String
    /// Bytes already on disk (in `destination.part`, or the whole `destination`) when this call started; 0 if fresh.
    public var resumedFrom: Int64
    /// HTTP requests this call made (0 when `destination` already existed and was accepted).
    public var attempts: Int

    public init(path: String, bytes: Int64, sha256: String, resumedFrom: Int64, attempts: Int) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
        self.resumedFrom = resumedFrom
        self.attempts = attempts
    }
}

public struct FetchError: Error, CustomStringConvertible {
    /// The URL, already redacted (no credentials, no secret query parameters).
    public var url: String
    public var message: String
    public var description: String { "\(Downloader.redact(url)): \(message)" }

    public init(url: String, message: String) {
        self.url = Downloader.redact(url)
        self.message = message
    }
}

/// curl_global_init must run once, before any other libcurl call and not concurrently with one;
/// a global's initializer runs exactly once, lazily and thread-safely (swift_once).
private let curlGlobalInitCode: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// Resumable HTTP(S) downloads through libcurl's easy interface. Every `download` call uses its own
/// curl handle, so one Downloader may serve several threads (as long as they use different destinations).
public final class Downloader {
    public let maxAttempts: Int
    public let retryDelay: Double
    public let connectTimeout: Int
    public let lowSpeedTimeout: Int

    /// - Parameters:
    ///   - maxAttempts: HTTP requests per `download` call before a transient failure becomes final.
    ///   - retryDelay: seconds before the first retry, doubled before each further one (capped at 5 minutes;
    ///     a `Retry-After: <seconds>` header of a 429/503 can lengthen it to at most a minute).
    ///   - connectTimeout: seconds for the TCP/TLS connect.
    ///   - lowSpeedTimeout: seconds below 1 byte/s after which a stalled transfer is abandoned (and retried).
    public init(maxAttempts: Int = 5, retryDelay: Double = 0.5, connectTimeout: Int = 30, lowSpeedTimeout: Int = 60) {
        self.maxAttempts = max(1, maxAttempts)
        self.retryDelay = max(0, retryDelay)
        self.connectTimeout = max(0, connectTimeout)
        self.lowSpeedTimeout = max(0, lowSpeedTimeout)
    }

    /// Downloads `url` to `destination`. Bytes go to "\(destination).part" first; if that file exists (an earlier
    /// run was interrupted, or an earlier attempt of this call dropped), continue it with an HTTP Range request
    /// `bytes=N-`; a 206 appends, a 200 (server ignores ranges) restarts from 0, a 416 when N equals the full size
    /// means complete. Transient failures (connection dropped, partial transfer, timeouts, 5xx, 429) are retried up
    /// to maxAttempts with the delay; 4xx other than 408/429 fail at once with "HTTP 404" etc. When complete, compute the
    /// sha256 of the whole file (streamed), check `expectedSHA256` if given ("sha256 mismatch: expected X, got Y";
    /// then delete the .part file so a retry starts clean), and atomically rename .part → destination.
    /// If destination already exists and expectedSHA256 is nil or matches, return at once (no request).
    ///
    /// `progress` is called on the calling thread, from inside libcurl's write callback, with the bytes in the
    /// .part file so far and the full size when the server announced it.
    public func download(url: String, to destination: String, expectedSHA256: String? = nil,
                         progress: ((_ received: Int64, _ total: Int64?) -> Void)? = nil) throws -> DownloadResult {
        let expected = expectedSHA256?.lowercased()
        let partPath = destination + ".part"

        // An existing destination is accepted without a request when nothing contradicts it.
        if let size = regularFileSize(destination) {
            let sha = try hashFile(destination, url: url)
            if expected == nil || sha == expected {
                return DownloadResult(path: destination, bytes: size, sha256: sha, resumedFrom: size, attempts: 0)
            }
        }

        let directory = (destination as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw FetchError(url: url, message: "cannot create directory \(directory): \(error)")
            }
        }

        let resumedFrom = regularFileSize(partPath) ?? 0
        let attempts = try transfer(url: url, partPath: partPath, progress: progress)

        guard let bytes = regularFileSize(partPath) else {
            throw FetchError(url: url, message: "\(partPath) vanished before it could be hashed")
        }
        let sha = try hashFile(partPath, url: url)
        if let expected, sha != expected {
            unlink(partPath)
            throw FetchError(url: url, message: "sha256 mismatch: expected \(expected), got \(sha)")
        }
        if rename(partPath, destination) != 0 {
            throw FetchError(url: url, message: "cannot rename \(partPath) to \(destination): \(errnoText())")
        }
        return DownloadResult(path: destination, bytes: bytes, sha256: sha, resumedFrom: resumedFrom, attempts: attempts)
    }

    // MARK: - The request loop

    /// What one request amounted to.
    private enum Outcome {
        case complete
        case retry(String)
        case fail(String)
    }

    /// Runs requests until the .part file holds the whole body; returns how many requests it took.
    private func transfer(url: String, partPath: String,
                          progress: ((_ received: Int64, _ total: Int64?) -> Void)?) throws -> Int {
        guard curlGlobalInitCode == CURLE_OK else {
            throw FetchError(url: url, message: "curl_global_init failed: \(curlText(curlGlobalInitCode))")
        }
        guard let handle = curl_easy_init() else {
            throw FetchError(url: url, message: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }

        let context = TransferContext(handle: handle, partPath: partPath, progress: progress)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        return try withExtendedLifetime(context) {
            try configure(handle, url: url, context: context, errorBuffer: errorBuffer)

            var attempt = 0
            var lastError = ""
            var nextDelay = retryDelay
            while attempt < maxAttempts {
                if attempt > 0 {
                    var delay = nextDelay
                    if let retryAfter = context.retryAfter { delay = max(delay, min(retryAfter, 60)) }
                    if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                    nextDelay = min(nextDelay * 2, 300)
                }
                attempt += 1

                let offset = regularFileSize(partPath) ?? 0
                context.begin(offset: offset)
                try check(url, herd_curl_setopt_string(handle, CURLOPT_RANGE, offset > 0 ? "\(offset)-" : nil))
                errorBuffer[0] = 0
                let code = curl_easy_perform(handle)
                context.end()

                var status = 0
                _ = herd_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)

                switch outcome(code: code, status: status, offset: offset, context: context,
                               errorDetail: String(cString: errorBuffer), url: url) {
                case .complete:
                    return attempt
                case .retry(let message):
                    lastError = message
                case .fail(let message):
                    throw FetchError(url: url, message: message)
                }
            }
            let plural = attempt == 1 ? "attempt" : "attempts"
            throw FetchError(url: url, message: "\(lastError) (gave up after \(attempt) \(plural))")
        }
    }

    private func configure(_ handle: UnsafeMutableRawPointer, url: String, context: TransferContext,
                           errorBuffer: UnsafeMutablePointer<CChar>) throws {
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        try check(url, herd_curl_setopt_string(handle, CURLOPT_URL, url))
        try check(url, herd_curl_restrict_to_http(handle))
        try check(url, herd_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1))
        try check(url, herd_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 10))
        try check(url, herd_curl_setopt_long(handle, CURLOPT_FAILONERROR, 0))
        try check(url, herd_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(url, herd_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout))
        if lowSpeedTimeout > 0 {
            try check(url, herd_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
            try check(url, herd_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, lowSpeedTimeout))
        }
        try check(url, herd_curl_setopt_string(handle, CURLOPT_USERAGENT, "herd/0.1"))
        try check(url, herd_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(url, herd_curl_setopt_write_function(handle, fetchWriteCallback))
        try check(url, herd_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, opaque))
        try check(url, herd_curl_setopt_header_function(handle, fetchHeaderCallback))
        try check(url, herd_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, opaque))
    }

    private func check(_ url: String, _ code: CURLcode) throws {
        if code != CURLE_OK { throw FetchError(url: url, message: "curl_easy_setopt failed: \(curlText(code))") }
    }

    private func outcome(code: CURLcode, status: Int, offset: Int64, context: TransferContext,
                         errorDetail: String, url: String) -> Outcome {
        // Our own aborts from the write callback come first: they explain the CURLE_WRITE_ERROR.
        if let ioError = context.ioError { return .fail(ioError) }
        if let rangeError = context.rangeError {
            unlink(context.partPath)
            return .retry(rangeError)
        }
        // A definitive HTTP refusal stands even if the error page's transfer also went wrong.
        if isPermanentHTTPFailure(status) { return .fail("HTTP \(status)") }

        if code != CURLE_OK {
            var message = curlText(code)
            let detail = errorDetail.replacingOccurrences(of: url, with: Downloader.redact(url))
            if !detail.isEmpty && detail != message { message += " (\(detail))" }
            return Self.isTransient(code) ? .retry(message) : .fail(message)
        }

        switch status {
        case 200, 206:
            if status == 200 && !context.opened {
                // An empty 200 body never reaches the write callback; the file is still "complete".
                guard context.openPart(truncatingTo: 0) else { return .fail(context.ioError ?? "cannot create file") }
                context.end()
            }
            let size = regularFileSize(context.partPath) ?? 0
            let total = status == 206 ? context.rangeTotal : context.contentLength
            if let total, total != size {
                return .retry("incomplete transfer: have \(size) of \(total) bytes")
            }
            return .complete
        case 416:
            if offset == 0 { return .fail("HTTP 416") }
            if context.rangeTotal == offset { return .complete }
            // The .part file is longer than the resource, or the server won't say how long that is: start over.
            unlink(context.partPath)
            let total = context.rangeTotal.map(String.init) ?? "unknown"
            return .retry("HTTP 416 for a range from \(offset) (size \(total)); restarting")
        case 408, 429, 500...599:
            return .retry("HTTP \(status)")
        default:
            return .fail("HTTP \(status)")
        }
    }

    private func isPermanentHTTPFailure(_ status: Int) -> Bool {
        (400...499).contains(status) && status != 408 && status != 429 && status != 416
    }

    private static let transientCurlCodes = Set<UInt32>([
        CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
        CURLE_HTTP2, CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT, CURLE_SSL_CONNECT_ERROR,
        CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_HTTP2_STREAM, CURLE_AGAIN,
    ].map(\.rawValue))

    private static func isTransient(_ code: CURLcode) -> Bool {
        transientCurlCodes.contains(code.rawValue)
    }

    private func hashFile(_ path: String, url: String) throws -> String {
        do {
            return try SHA256.hexOfFile(atPath: path)
        } catch {
            throw FetchError(url: url, message: "cannot hash \(path): \(error)")
        }
    }
}

// MARK: - Callbacks

/// Per-call state the C callbacks reach through their userdata pointer.
final class TransferContext {
    let handle: UnsafeMutableRawPointer
    let partPath: String
    let progress: ((_ received: Int64, _ total: Int64?) -> Void)?

    /// The Range offset of the current request (the .part size when it started).
    var offset: Int64 = 0
    /// Bytes in the .part file while writing.
    var fileSize: Int64 = 0
    var fd: Int32 = -1
    var opened = false

    // Headers of the response being received (reset at every status line, so redirects don't leak in).
    var decided = false
    var writing = false
    var contentLength: Int64?
    var rangeStart: Int64?
    var rangeTotal: Int64?
    var retryAfter: Double?

    var ioError: String?
    var rangeError: String?

    init(handle: UnsafeMutableRawPointer, partPath: String, progress: ((_ received: Int64, _ total: Int64?) -> Void)?) {
        self.handle = handle
        self.partPath = partPath
        self.progress = progress
    }

    func begin(offset: Int64) {
        self.offset = offset
        fileSize = offset
        opened = false
        ioError = nil
        rangeError = nil
        resetResponse()
    }

    func resetResponse() {
        decided = false
        writing = false
        contentLength = nil
        rangeStart = nil
        rangeTotal = nil
        retryAfter = nil
    }

    func end() {
        if fd >= 0 {
            if fsync(fd) != 0 && ioError == nil { ioError = "cannot sync \(partPath): \(errnoText())" }
            close(fd)
            fd = -1
        }
    }

    /// Opens the .part file for writing at `length`, cutting off anything after it.
    func openPart(truncatingTo length: Int64) -> Bool {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (length == 0 ? O_TRUNC : 0)
        fd = open(partPath, flags, 0o644)
        guard fd >= 0 else {
            ioError = "cannot open \(partPath): \(errnoText())"
            return false
        }
        if length > 0 && (ftruncate(fd, off_t(length)) != 0 || lseek(fd, off_t(length), SEEK_SET) < 0) {
            ioError = "cannot position \(partPath) at \(length): \(errnoText())"
            return false
        }
        opened = true
        fileSize = length
        return true
    }

    /// Decides, at the first body byte of a response, whether the body belongs in the file.
    func decide() -> Bool {
        decided = true
        var status = 0
        _ = herd_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        switch status {
        case 206:
            guard rangeStart == offset else {
                let got = rangeStart.map(String.init) ?? "none"
                rangeError = "206 response starts at \(got), expected \(offset); restarting"
                return false
            }
            writing = true
            return openPart(truncatingTo: offset)
        case 200:
            // Fresh, or the server ignored our Range: the body is the whole resource, from byte 0.
            writing = true
            return openPart(truncatingTo: 0)
        default:
            // Error pages, and anything else, are read and dropped.
            writing = false
            return true
        }
    }

    /// The full size of the resource as far as the current response tells.
    var expectedTotal: Int64? {
        if rangeStart != nil { return rangeTotal ?? contentLength.map { $0 + offset } }
        return contentLength
    }

    /// Handles one chunk of body; false aborts the transfer.
    func append(_ data: UnsafeRawPointer, count: Int) -> Bool {
        if !decided { guard decide() else { return false } }
        guard writing else { return true }
        var done = 0
        while done < count {
            let n = write(fd, data + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                ioError = "cannot write \(partPath): \(errnoText())"
                return false
            }
            done += n
        }
        fileSize += Int64(count)
        progress?(fileSize, expectedTotal)
        return true
    }

    func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            resetResponse()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "content-length":
            contentLength = Int64(value)
        case "content-range":
            parseContentRange(value)
        case "retry-after":
            retryAfter = Double(value)
        default:
            break
        }
    }

    /// "bytes 100-2999999/3000000" or "bytes */3000000" (the 416 form).
    private func parseContentRange(_ value: String) {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bytes" else { return }
        let spec = parts[1].split(separator: "/", maxSplits: 1)
        if spec.count == 2 { rangeTotal = Int64(spec[1].trimmingCharacters(in: .whitespaces)) }
        if let dash = spec.first?.firstIndex(of: "-") {
            rangeStart = Int64(spec[0][..<dash].trimmingCharacters(in: .whitespaces))
        }
    }
}

private let fetchWriteCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let total = size * count
    guard total > 0, let data else { return total }
    // Returning anything but `total` makes libcurl abort the transfer with CURLE_WRITE_ERROR.
    return context.append(UnsafeRawPointer(data), count: total) ? total : 0
}

private let fetchHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    let total = size * count
    guard let userdata, let data, total > 0 else { return total }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: total)
    context.header(String(decoding: bytes, as: UTF8.self))
    return total
}

// MARK: - Helpers

private func curlText(_ code: CURLcode) -> String {
    String(cString: curl_easy_strerror(code))
}

private func errnoText() -> String {
    String(cString: strerror(errno))
}

/// Size of a regular file, or nil when there is none at `path`.
private func regularFileSize(_ path: String) -> Int64? {
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int64(info.st_size)
}

extension Downloader {
    /// Whether a server answers at `url` at all: one HEAD request, any HTTP status counts (a 404
    /// or 401 still proves the server is there). Throws with curl's reason (connection refused,
    /// host not found, timeout) when nothing answers.
    public static func probe(url: String, timeoutSeconds: Int = 10) throws {
        guard curlGlobalInitCode == CURLE_OK else {
            throw FetchError(url: url, message: "curl_global_init failed: \(curlText(curlGlobalInitCode))")
        }
        guard let handle = curl_easy_init() else { throw FetchError(url: url, message: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        errorBuffer[0] = 0
        _ = herd_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = herd_curl_restrict_to_http(handle)
        _ = herd_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        _ = herd_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = herd_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, timeoutSeconds)
        _ = herd_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeoutSeconds)
        _ = herd_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw FetchError(url: url, message: detail.isEmpty ? curlText(code) : detail)
        }
    }
}
