/// Client-side request and token rate limits as a generic cell rate algorithm (GCRA): each limit
/// keeps the earliest time the next unit may go, and sending pushes that time on by the units'
/// share of a minute. Sends are spaced evenly, so no 60-second window ever holds more than the
/// requests-per-minute limit (a bucket that starts full would allow a burst above it), and the
/// long-run rate stays on the limit because lateness of one send is not carried into the next.
/// Times are seconds on any monotonic clock; the limiter never reads a clock itself.
public struct RateLimiter: Sendable {
    public let requestsPerMinute: Double?
    public let tokensPerMinute: Double?
    private var nextRequestAt = -Double.infinity
    private var nextTokensAt = -Double.infinity
    private var pausedUntil = -Double.infinity

    public init(requestsPerMinute: Double?, tokensPerMinute: Double?) {
        self.requestsPerMinute = requestsPerMinute.flatMap { $0 > 0 ? $0 : nil }
        self.tokensPerMinute = tokensPerMinute.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Seconds to wait at `now` before a request of `tokens` may go (0: it may go now).
    public func delay(now: Double) -> Double {
        max(0, max(nextRequestAt, nextTokensAt, pausedUntil) - now)
    }

    /// Records a request of `tokens` sent at `now` (call only when `delay(now:)` is 0).
    public mutating func take(tokens: Int, now: Double) {
        if let rpm = requestsPerMinute {
            // From the scheduled time, not from `now`: waking late must not slow the rate down.
            nextRequestAt = max(nextRequestAt, now - 60 / rpm) + 60 / rpm
        }
        if let tpm = tokensPerMinute {
            nextTokensAt = max(nextTokensAt, now - 1) + Double(tokens) * 60 / tpm
        }
    }

    /// Gives back tokens charged in advance and not used (the estimate was above the usage).
    public mutating func refund(tokens: Int, now: Double) {
        guard let tpm = tokensPerMinute, tokens > 0 else { return }
        nextTokensAt = max(now, nextTokensAt - Double(tokens) * 60 / tpm)
    }

    /// Sends nothing before `until` (a server said 429: everyone backs off, not only that request).
    public mutating func pause(until: Double) {
        pausedUntil = max(pausedUntil, until)
    }
}
