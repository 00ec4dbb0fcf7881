/// Client-side request and token rate limits. Requests: sends are spaced 60/rpm apart on a
/// schedule (a send that wakes late by less than one interval keeps the schedule, so lateness does
/// not slow the long-run rate; after an idle spell the schedule restarts from now, so there is no
/// burst), and the times of the last ⌊rpm⌋ sends are kept so that no 60-second window ever holds
/// more than the limit. Tokens: each send pushes the earliest next send on by its tokens' share of
/// a minute. Times are seconds on any monotonic clock; the limiter never reads a clock itself.
public struct RateLimiter: Sendable {
    public let requestsPerMinute: Double?
    public let tokensPerMinute: Double?
    private var nextRequestAt = -Double.infinity
    private var nextTokensAt = -Double.infinity
    private var pausedUntil = -Double.infinity
    /// The last `windowLimit` send times, a ring whose oldest entry is at `oldest`.
    private var recent: [Double] = []
    private var oldest = 0
    private let windowLimit: Int
    /// The window is kept this much longer than a minute: requests reach the server a little
    /// later than they leave, by amounts that differ, and the server's minute is the one that counts.
    static let windowMargin = 0.05

    public init(requestsPerMinute: Double?, tokensPerMinute: Double?) {
        self.requestsPerMinute = requestsPerMinute.flatMap { $0 > 0 ? $0 : nil }
        self.tokensPerMinute = tokensPerMinute.flatMap { $0 > 0 ? $0 : nil }
        windowLimit = self.requestsPerMinute.map { max(1, Int(min($0, 1e7).rounded(.down))) } ?? 0
    }

    /// Seconds to wait at `now` before a request may go (0: it may go now).
    public func delay(now: Double) -> Double {
        let windowOpensAt = recent.count == windowLimit && windowLimit > 0 ? recent[oldest] + 60 + Self.windowMargin : -Double.infinity
        return max(0, max(nextRequestAt, nextTokensAt, pausedUntil, windowOpensAt) - now)
    }

    /// Records a request of `tokens` sent at `now` (call only when `delay(now:)` is 0).
    public mutating func take(tokens: Int, now: Double) {
        if let rpm = requestsPerMinute {
            let interval = 60 / rpm
            nextRequestAt = (now - nextRequestAt < interval ? nextRequestAt : now) + interval
            if recent.count < windowLimit { recent.append(now) } else {
                recent[oldest] = now
                oldest = (oldest + 1) % windowLimit
            }
        }
        if let tpm = tokensPerMinute {
            nextTokensAt = max(nextTokensAt, now) + Double(tokens) * 60 / tpm
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
