import XCTest
@testable import Teacher

/// SplitMix64: a tiny seeded generator, so that simulated lateness is the same on every run.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Slack for floating-point rounding of simulated times (sums of many 0.1 s steps). Every real
/// limiter fault shows up at the scale of whole intervals (0.1 s or more), far above this.
private let eps = 1e-6

/// A sender that always has something to send: it waits `delay(now:)` on a simulated clock,
/// wakes up late by a random amount in [0, maxLateness), and sends. Returns the send times before `end`.
private func simulate(_ limiter: inout RateLimiter, from start: Double = 0, until end: Double, tokens: Int = 1,
                      maxLateness: Double, seed: UInt64 = 0x5EED) -> [Double] {
    var random = SplitMix64(seed: seed)
    var now = start
    var sends: [Double] = []
    while true {
        var wait = limiter.delay(now: now)
        // `now + wait` may round a hair short of the limiter's time; step again (never stalls).
        while wait > 0 {
            now = max(now + wait, now.nextUp)
            wait = limiter.delay(now: now)
        }
        now += maxLateness * random.unit()
        guard now < end else { return sends }
        XCTAssertEqual(limiter.delay(now: now), 0)
        limiter.take(tokens: tokens, now: now)
        sends.append(now)
    }
}

/// The largest number of sends in a window [t, t + 60) starting at a send at t < `startsBefore`.
private func busiestMinute(_ sends: [Double], startsBefore: Double) -> Int {
    var most = 0
    var j = 0
    for (i, t) in sends.enumerated() where t < startsBefore {
        j = max(j, i)
        while j < sends.count && sends[j] < t + 60 - eps { j += 1 }
        most = max(most, j - i)
    }
    return most
}

final class RateLimiterTests: XCTestCase {
    func testRequestsPerMinuteRateAndWindowsWithLateness() {
        var limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        XCTAssertEqual(limiter.requestsPerMinute, 600)
        XCTAssertNil(limiter.tokensPerMinute)
        let sends = simulate(&limiter, until: 180, maxLateness: 0.002)
        let inTwoMinutes = sends.filter { $0 < 120 - eps }.count
        let perMinute = Double(inTwoMinutes) / 2
        XCTAssertLessThanOrEqual(perMinute, 600, "above the limit: \(inTwoMinutes) sends in 120 s")
        XCTAssertGreaterThanOrEqual(perMinute, 594, "more than 1% below the limit: \(inTwoMinutes) sends in 120 s")
        XCTAssertLessThanOrEqual(busiestMinute(sends, startsBefore: 120), 600)
        XCTAssertEqual(zip(sends, sends.dropFirst()).filter { $1 < $0 }.count, 0, "time went backwards")
    }

    func testRequestsPerMinuteSpacingWithoutLateness() {
        var limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        let sends = simulate(&limiter, until: 180, maxLateness: 0)
        XCTAssertEqual(sends.filter { $0 < 120 - eps }.count, 1200)
        XCTAssertEqual(busiestMinute(sends, startsBefore: 120), 600)
        let gaps = zip(sends, sends.dropFirst()).map { $1 - $0 }
        XCTAssertEqual(gaps.filter { $0 < 0.1 - 1e-9 }.count, 0, "sends closer than 0.1 s: first gaps \(gaps.prefix(3))")
        XCTAssertEqual(sends.prefix(4).map { ($0 * 1e6).rounded() / 1e6 }, [0, 0.1, 0.2, 0.3])
    }

    /// Many windows, many seeds and a coarser lateness (up to one whole interval).
    func testNoMinuteAboveTheLimitForOtherSeeds() {
        for seed: UInt64 in [1, 2, 3] {
            var limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
            let sends = simulate(&limiter, until: 180, maxLateness: 0.1, seed: seed)
            XCTAssertLessThanOrEqual(busiestMinute(sends, startsBefore: 120), 600, "seed \(seed)")
            XCTAssertLessThanOrEqual(sends.filter { $0 < 120 - eps }.count, 1200, "seed \(seed)")
        }
    }

    func testSendsAfterAnIdleSpellAreStillSpaced() {
        var limiter = RateLimiter(requestsPerMinute: 60, tokensPerMinute: nil)
        limiter.take(tokens: 1, now: 0)
        XCTAssertEqual(limiter.delay(now: 0), 1)
        XCTAssertEqual(limiter.delay(now: 0.25), 0.75)
        // Nothing to send for a long time, then a burst of work: the first goes at once, the next 1 s later.
        limiter.take(tokens: 1, now: 100)
        XCTAssertEqual(limiter.delay(now: 100), 1)
        limiter.take(tokens: 1, now: 101)
        XCTAssertEqual(limiter.delay(now: 101), 1)
    }

    func testTokensPerMinuteSpacing() {
        var limiter = RateLimiter(requestsPerMinute: nil, tokensPerMinute: 60_000)
        XCTAssertNil(limiter.requestsPerMinute)
        XCTAssertEqual(limiter.tokensPerMinute, 60_000)
        let sends = simulate(&limiter, until: 10.5, tokens: 1_000, maxLateness: 0)
        XCTAssertEqual(sends, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

        var big = RateLimiter(requestsPerMinute: nil, tokensPerMinute: 60_000)
        big.take(tokens: 6_000, now: 10)
        XCTAssertEqual(big.delay(now: 10), 6)
        XCTAssertEqual(big.delay(now: 15.5), 0.5)
        XCTAssertEqual(big.delay(now: 16), 0)
    }

    func testBothLimitsTheStricterWins() {
        // 60 requests/min allows one per second; 6000 tokens/min with 200-token requests one per 2 s.
        var limiter = RateLimiter(requestsPerMinute: 60, tokensPerMinute: 6_000)
        XCTAssertEqual(simulate(&limiter, until: 9, tokens: 200, maxLateness: 0), [0, 2, 4, 6, 8])
        // With 50-token requests the request limit is the stricter one.
        var other = RateLimiter(requestsPerMinute: 60, tokensPerMinute: 6_000)
        XCTAssertEqual(simulate(&other, until: 4.5, tokens: 50, maxLateness: 0), [0, 1, 2, 3, 4])
    }

    func testRefundBringsTheNextSendEarlier() {
        var limiter = RateLimiter(requestsPerMinute: nil, tokensPerMinute: 60_000)
        limiter.take(tokens: 6_000, now: 0)
        let before = limiter.delay(now: 2)
        XCTAssertGreaterThan(before, 1)
        // 250 unused tokens: 250 * 60 / 60 000 = 0.25 s earlier.
        limiter.refund(tokens: 250, now: 2)
        XCTAssertEqual(limiter.delay(now: 2), before - 0.25)
        limiter.refund(tokens: 1_000, now: 2)
        XCTAssertEqual(limiter.delay(now: 2), before - 1.25)
        // Nothing to give back (the estimate was too low): no change, no extra charge.
        limiter.refund(tokens: 0, now: 2)
        limiter.refund(tokens: -500, now: 2)
        XCTAssertEqual(limiter.delay(now: 2), before - 1.25)
        // A refund larger than what is outstanding stops at `now`: it never banks credit.
        limiter.refund(tokens: 1_000_000, now: 2.5)
        XCTAssertEqual(limiter.delay(now: 2.5), 0)
        XCTAssertEqual(limiter.delay(now: 2.25), 0.25)
        limiter.take(tokens: 1_000, now: 2.5)
        XCTAssertEqual(limiter.delay(now: 2.5), 1)
        XCTAssertEqual(limiter.delay(now: 3), 0.5)
        limiter.refund(tokens: 500, now: 3)
        XCTAssertEqual(limiter.delay(now: 3), 0)
    }

    func testRefundWithoutATokenLimitDoesNothing() {
        var limiter = RateLimiter(requestsPerMinute: 60, tokensPerMinute: nil)
        limiter.take(tokens: 1_000, now: 5)
        limiter.take(tokens: 1_000, now: 5)
        let before = limiter.delay(now: 5)
        XCTAssertGreaterThan(before, 0)
        limiter.refund(tokens: 1_000, now: 5)
        XCTAssertEqual(limiter.delay(now: 5), before)
    }

    func testPauseHoldsEverythingUntilThen() {
        var limiter = RateLimiter(requestsPerMinute: 600, tokensPerMinute: nil)
        limiter.take(tokens: 1, now: 0)
        limiter.pause(until: 5)
        XCTAssertEqual(limiter.delay(now: 1), 4)
        XCTAssertEqual(limiter.delay(now: 4.5), 0.5)
        XCTAssertEqual(limiter.delay(now: 5), 0)
        // An earlier pause does not shorten a later one.
        limiter.pause(until: 3)
        XCTAssertEqual(limiter.delay(now: 4), 1)
        // After the pause the spacing holds again: no burst of the sends that waited.
        let sends = simulate(&limiter, from: 1, until: 5.35, maxLateness: 0)
        XCTAssertEqual(sends.map { ($0 * 1e6).rounded() / 1e6 }, [5, 5.1, 5.2, 5.3])

        var unlimited = RateLimiter(requestsPerMinute: nil, tokensPerMinute: nil)
        unlimited.pause(until: 2)
        XCTAssertEqual(unlimited.delay(now: 0), 2)
        XCTAssertEqual(unlimited.delay(now: 2), 0)
        XCTAssertEqual(unlimited.delay(now: 3), 0)
    }

    func testNoLimits() {
        for (rpm, tpm) in [(nil, nil), (0, 0), (-5, -1)] as [(Double?, Double?)] {
            var limiter = RateLimiter(requestsPerMinute: rpm, tokensPerMinute: tpm)
            XCTAssertNil(limiter.requestsPerMinute)
            XCTAssertNil(limiter.tokensPerMinute)
            for _ in 0..<1_000 {
                XCTAssertEqual(limiter.delay(now: 7), 0)
                limiter.take(tokens: 1_000_000, now: 7)
            }
            XCTAssertEqual(limiter.delay(now: 7), 0)
            limiter.refund(tokens: 5, now: 7)
            XCTAssertEqual(limiter.delay(now: 7), 0)
        }
        // One limit set, the other off.
        var limiter = RateLimiter(requestsPerMinute: 0, tokensPerMinute: 120)
        XCTAssertNil(limiter.requestsPerMinute)
        XCTAssertEqual(limiter.tokensPerMinute, 120)
        limiter.take(tokens: 1, now: 0)
        XCTAssertEqual(limiter.delay(now: 0), 0.5)
    }
}

final class RetryPolicyTests: XCTestCase {
    func testDefaults() {
        let policy = RetryPolicy()
        XCTAssertEqual(policy.maxAttempts, 8)
        XCTAssertEqual(policy.baseDelay, 1)
        XCTAssertEqual(policy.maxDelay, 60)
        XCTAssertEqual(policy.maxRetryAfter, 600)
        let clamped = RetryPolicy(maxAttempts: 0, baseDelay: -1, maxDelay: -2, maxRetryAfter: -3)
        XCTAssertEqual(clamped.maxAttempts, 1)
        XCTAssertEqual(clamped.baseDelay, 0)
        XCTAssertEqual(clamped.maxDelay, 0)
        XCTAssertEqual(clamped.maxRetryAfter, 0)
        XCTAssertEqual(clamped.delay(afterAttempt: 3, retryAfter: 30, jitter: 0.5), 0)
    }

    func testBackoffWithJitter() {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: 1, maxDelay: 60)
        XCTAssertEqual((1...5).map { policy.delay(afterAttempt: $0, retryAfter: nil, jitter: 0) }, [0.5, 1, 2, 4, 8])
        XCTAssertEqual((1...5).map { policy.delay(afterAttempt: $0, retryAfter: nil, jitter: 1) }, [1, 2, 4, 8, 16])
        XCTAssertEqual((1...5).map { policy.delay(afterAttempt: $0, retryAfter: nil, jitter: 0.5) }, [0.75, 1.5, 3, 6, 12])
        // Jitter outside [0, 1] is clamped.
        XCTAssertEqual(policy.delay(afterAttempt: 2, retryAfter: nil, jitter: -3), 1)
        XCTAssertEqual(policy.delay(afterAttempt: 2, retryAfter: nil, jitter: 7), 2)
        // Attempt 0 or below counts as the first.
        XCTAssertEqual(policy.delay(afterAttempt: 0, retryAfter: nil, jitter: 1), 1)
        XCTAssertEqual(policy.delay(afterAttempt: -4, retryAfter: nil, jitter: 0), 0.5)

        let slow = RetryPolicy(baseDelay: 2.5, maxDelay: 60)
        XCTAssertEqual((1...3).map { slow.delay(afterAttempt: $0, retryAfter: nil, jitter: 1) }, [2.5, 5, 10])
    }

    func testBackoffIsCapped() {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: 1, maxDelay: 60)
        XCTAssertEqual(policy.delay(afterAttempt: 6, retryAfter: nil, jitter: 1), 32)
        XCTAssertEqual(policy.delay(afterAttempt: 7, retryAfter: nil, jitter: 1), 60)
        XCTAssertEqual(policy.delay(afterAttempt: 7, retryAfter: nil, jitter: 0), 30)
        XCTAssertEqual(policy.delay(afterAttempt: 100, retryAfter: nil, jitter: 1), 60)
        XCTAssertEqual(policy.delay(afterAttempt: Int.max, retryAfter: nil, jitter: 0), 30)
    }

    func testRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: 1, maxDelay: 60, maxRetryAfter: 600)
        // Larger than the backoff: the server's word wins.
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 10, jitter: 0), 10)
        XCTAssertEqual(policy.delay(afterAttempt: 3, retryAfter: 7.5, jitter: 1), 7.5)
        // Smaller: the backoff stays.
        XCTAssertEqual(policy.delay(afterAttempt: 3, retryAfter: 2.5, jitter: 1), 4)
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 0, jitter: 0), 0.5)
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: -20, jitter: 0), 0.5)
        // Capped at maxRetryAfter, above the backoff cap.
        XCTAssertEqual(policy.delay(afterAttempt: 1, retryAfter: 3_600, jitter: 0), 600)
        XCTAssertEqual(policy.delay(afterAttempt: 10, retryAfter: 120, jitter: 1), 120)
        let short = RetryPolicy(maxRetryAfter: 5)
        XCTAssertEqual(short.delay(afterAttempt: 1, retryAfter: 30, jitter: 0), 5)
        XCTAssertEqual(short.delay(afterAttempt: 5, retryAfter: 30, jitter: 1), 16)
    }

    func testParseRetryAfter() {
        XCTAssertEqual(RetryPolicy.parseRetryAfter("5", now: 0), 5)
        XCTAssertEqual(RetryPolicy.parseRetryAfter(" 2.5 ", now: 0), 2.5)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("\t120\t", now: 1e9), 120)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("-3", now: 0), 0)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("0", now: 0), 0)
        XCTAssertNil(RetryPolicy.parseRetryAfter("abc", now: 0))
        XCTAssertNil(RetryPolicy.parseRetryAfter("", now: 0))
        XCTAssertNil(RetryPolicy.parseRetryAfter("inf", now: 0))
        XCTAssertNil(RetryPolicy.parseRetryAfter("nan", now: 0))

        // Wed, 21 Oct 2015 07:28:00 GMT is 1 445 412 480 Unix seconds.
        let date = "Wed, 21 Oct 2015 07:28:00 GMT"
        XCTAssertEqual(RetryPolicy.parseRetryAfter(date, now: 1_445_412_470), 10)
        XCTAssertEqual(RetryPolicy.parseRetryAfter(date, now: 1_445_412_479.5), 0.5)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("  " + date + " ", now: 1_445_412_420), 60)
        // A date in the past means now.
        XCTAssertEqual(RetryPolicy.parseRetryAfter(date, now: 1_445_412_490), 0)
        XCTAssertNil(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 25:28:00 GMT", now: 0))
    }
}

final class ChatReplyParserTests: XCTestCase {
    private func verdict(_ status: Int, _ body: String, retryAfter: Double? = nil) -> AttemptVerdict {
        ChatReplyParser.verdict(status: status, body: Array(body.utf8), retryAfter: retryAfter)
    }

    static let completion = """
    {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",\
    "choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France.\\nIt is on the Seine."},\
    "finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":13,"total_tokens":34}}
    """

    func testAnswered() {
        XCTAssertEqual(verdict(200, Self.completion, retryAfter: 9), .answered(ChatReply(
            raw: Self.completion, content: "Paris is the capital of France.\nIt is on the Seine.", finishReason: "stop",
            promptTokens: 21, completionTokens: 13)))

        // No usage, finish_reason length, an empty answer: still an answer.
        let short = #"{"choices":[{"message":{"content":""},"finish_reason":"length"}]}"#
        XCTAssertEqual(verdict(200, short), .answered(ChatReply(
            raw: short, content: "", finishReason: "length", promptTokens: nil, completionTokens: nil)))

        // Only the first choice counts; a null finish_reason and non-integer usage read as nil.
        let two = #"{"choices":[{"message":{"content":"one"},"finish_reason":null},{"message":{"content":"two"}}],"usage":{"prompt_tokens":1.5,"completion_tokens":"7"}}"#
        XCTAssertEqual(verdict(200, two), .answered(ChatReply(
            raw: two, content: "one", finishReason: nil, promptTokens: nil, completionTokens: nil)))
    }

    func testBrokenSuccessIsRetried() {
        let cut = String(Self.completion.prefix(120))
        guard case .retry(let message, let retryAfter) = verdict(200, cut, retryAfter: 4) else {
            return XCTFail("cut JSON: \(verdict(200, cut))")
        }
        // The cut falls right after the key "message" (120 bytes in).
        XCTAssertEqual(message, "malformed reply: line 1, column 121 (byte offset 120): unexpected end of input, expected ':' after object key")
        XCTAssertNil(retryAfter)
        XCTAssertEqual(verdict(200, ""), .retry(
            "malformed reply: line 1, column 1 (byte offset 0): unexpected end of input, expected a JSON value", retryAfter: nil))

        XCTAssertEqual(verdict(200, #"{"id":"x","usage":{"prompt_tokens":3}}"#), .retry("reply without choices", retryAfter: nil))
        XCTAssertEqual(verdict(200, #"{"choices":[]}"#), .retry("reply without choices", retryAfter: nil))
        XCTAssertEqual(verdict(200, #"{"choices":{"0":{}}}"#), .retry("reply without choices", retryAfter: nil))
        XCTAssertEqual(verdict(200, "[1,2]"), .retry("reply without choices", retryAfter: nil))
    }

    func testNoContentFails() {
        let filtered = #"{"choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":"content_filter"}]}"#
        XCTAssertEqual(verdict(200, filtered), .fail("reply without message content (finish_reason content_filter)", raw: filtered))
        let bare = #"{"choices":[{"message":{"refusal":"no"}}]}"#
        XCTAssertEqual(verdict(200, bare), .fail("reply without message content (finish_reason null)", raw: bare))
        let number = #"{"choices":[{"message":{"content":42},"finish_reason":"stop"}]}"#
        XCTAssertEqual(verdict(200, number), .fail("reply without message content (finish_reason stop)", raw: number))
    }

    static let rateLimited = """
    {"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500.","type":"requests","param":null,"code":"rate_limit_exceeded"}}
    """

    func testRetriedStatuses() {
        XCTAssertEqual(verdict(429, Self.rateLimited, retryAfter: 3), .retry(
            "HTTP 429: Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500.", retryAfter: 3))
        XCTAssertEqual(verdict(429, Self.rateLimited), .retry(
            "HTTP 429: Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500.", retryAfter: nil))
        XCTAssertEqual(verdict(500, #"{"error":{"message":"The server had an error"}}"#),
                       .retry("HTTP 500: The server had an error", retryAfter: nil))
        XCTAssertEqual(verdict(503, "Service Unavailable\r\n", retryAfter: 30), .retry("HTTP 503: Service Unavailable", retryAfter: 30))
        XCTAssertEqual(verdict(408, ""), .retry("HTTP 408", retryAfter: nil))
        XCTAssertEqual(verdict(502, "  \n<html><body>Bad Gateway</body></html>\n\n"),
                       .retry("HTTP 502: <html><body>Bad Gateway</body></html>", retryAfter: nil))
        for status in [409, 425, 504, 520, 599] {
            XCTAssertEqual(verdict(status, "x", retryAfter: 1), .retry("HTTP \(status): x", retryAfter: 1))
        }
    }

    func testFailedStatuses() {
        let body = """
        {"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}
        """
        XCTAssertEqual(verdict(400, body, retryAfter: 5), .fail("HTTP 400: This model's maximum context length is 8192 tokens.", raw: body))
        XCTAssertEqual(verdict(422, "unprocessable \n"), .fail("HTTP 422: unprocessable", raw: "unprocessable \n"))
        XCTAssertEqual(verdict(400, ""), .fail("HTTP 400", raw: ""))
        // An error body that is JSON but not OpenAI-shaped is quoted as text.
        XCTAssertEqual(verdict(400, #" {"error":"bad"} "#), .fail(#"HTTP 400: {"error":"bad"}"#, raw: #" {"error":"bad"} "#))
        // A long plain body is cut to its first 300 bytes.
        let long = String(repeating: "x", count: 280) + " " + String(repeating: "y", count: 200)
        XCTAssertEqual(verdict(413, long), .fail("HTTP 413: " + String(repeating: "x", count: 280) + " " + String(repeating: "y", count: 19), raw: long))
        // Statuses outside the lists, 3xx and 1xx included, fail the request.
        XCTAssertEqual(verdict(302, "moved"), .fail("HTTP 302: moved", raw: "moved"))
        XCTAssertEqual(verdict(201, Self.completion), .fail("HTTP 201: " + String(Self.completion.prefix(300)), raw: Self.completion))
    }

    func testFatalStatuses() {
        let key = #"{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","code":"invalid_api_key"}}"#
        XCTAssertEqual(verdict(401, key, retryAfter: 2), .fatal("HTTP 401: Incorrect API key provided: sk-abc***xyz."))
        XCTAssertEqual(verdict(403, "Forbidden\n"), .fatal("HTTP 403: Forbidden"))
        XCTAssertEqual(verdict(404, #"{"error":{"message":"The model `gpt-9` does not exist"}}"#),
                       .fatal("HTTP 404: The model `gpt-9` does not exist"))
        XCTAssertEqual(verdict(404, "   "), .fatal("HTTP 404"))
    }
}
