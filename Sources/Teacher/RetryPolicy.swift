import Foundation

/// When to try a request again: exponential backoff with jitter, never sooner than the server's
/// `Retry-After`, and at most `maxAttempts` tries in all.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    /// Seconds before the first retry; doubled for each further one.
    public var baseDelay: Double
    /// The longest backoff (before jitter).
    public var maxDelay: Double
    /// The longest `Retry-After` honoured (a longer one is cut to this).
    public var maxRetryAfter: Double

    public init(maxAttempts: Int = 8, baseDelay: Double = 1, maxDelay: Double = 60, maxRetryAfter: Double = 600) {
        self.maxAttempts = max(1, maxAttempts); self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay); self.maxRetryAfter = max(0, maxRetryAfter)
    }

    /// Seconds to wait after failed attempt number `attempt` (1-based). `jitter` in [0, 1) spreads
    /// retries of requests that failed together ("equal jitter": half fixed, half random).
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, jitter: Double) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        let backoff = min(maxDelay, baseDelay * pow(2, exponent))
        let spread = backoff * (0.5 + 0.5 * min(max(jitter, 0), 1))
        guard let retryAfter else { return spread }
        return max(spread, min(max(retryAfter, 0), maxRetryAfter))
    }

    /// A `Retry-After` value in seconds: delta-seconds (decimals accepted) or an HTTP-date, read
    /// against `now` (Unix seconds). Nil when unreadable.
    public static func parseRetryAfter(_ value: String, now: Double) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince1970 - now)
    }
}
